"""Scrapy settings for tag-archiver. Every change from Scrapy's default says why.

Our own settings carry the TAG_ARCHIVER_ prefix. The CLI overrides a few per run (database,
delay, contact); `scrapy crawl tags` from the repository root uses these as they are.
"""

from archive import __version__
from archive.warc.files import DEFAULT_MAX_SIZE

BOT_NAME = "tag-archiver"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# --- ours ---------------------------------------------------------------------------------
TAG_ARCHIVER_DB = "tag-archiver.db"
# Who to tell when the crawler misbehaves; a live site's operator reads it in the User-Agent.
TAG_ARCHIVER_CONTACT = "https://github.com/tag-archiver/tag-archiver"
# Articles written per SQLite transaction, with the captures that name them. Bigger batches
# store faster (the search index is written a batch at a time: 500 cost a quarter less CPU
# than 50) but are held in memory until written (500 added ~50 MB to each crawler process's
# peak), and a crash loses more (what was lost is in the WARC files: `reextract` rebuilds
# it). Every batch is all-or-nothing.
TAG_ARCHIVER_BATCH_SIZE = 50
# Later pages of a tag asked for ahead of its answers when page 1 names the last page
# (crawler.later_pages): enough to keep the most a site gets with --delay 0 (8 requests at a
# time) busy, few enough that a tag of 10,000 pages does not fill the scheduler.
TAG_ARCHIVER_PAGES_AHEAD = 32
# Seconds between progress lines in the log.
TAG_ARCHIVER_PROGRESS_INTERVAL = 10.0
# WARC output. Empty directory: DB-NAME-warc/ beside the database.
TAG_ARCHIVER_WARC_DIR = ""
TAG_ARCHIVER_WARC_PREFIX = "tag-archiver"
TAG_ARCHIVER_WARC_MAX_SIZE = DEFAULT_MAX_SIZE  # the customary 1 GB per file
# fsync after every WARC record and every database commit: what was archived survives power
# loss, not only a crash of the crawler; much slower on spinning disks.
TAG_ARCHIVER_FSYNC = False
# Walk every page and refetch everything whole (--full); by default runs are incremental.
TAG_ARCHIVER_FULL = False
# Send If-None-Match / If-Modified-Since where the site gave validators before.
TAG_ARCHIVER_CONDITIONAL = True
# Set by the CLI, which takes the database lock itself before starting Scrapy.
TAG_ARCHIVER_LOCK_HELD = False
# Crawler processes a run spreads its tags over (crawler.shares); 0: one per core. Only for a
# crawl with no delay and no AutoThrottle (--delay 0: a local site, a mirror), where the
# crawl is bound by CPU; a polite crawl is bound by its delay and keeps one process. Taken
# from the CLI (`crawl --crawlers`); `scrapy crawl` runs one process.
TAG_ARCHIVER_CRAWLERS = 0
# Seconds a SIGINT/SIGTERM stop may take (in-flight pages finishing, rows committed, WARCs
# closed) before the run is stopped at once: systemd's own stop timeout is 90 s.
TAG_ARCHIVER_STOP_TIMEOUT = 30.0

# --- politeness for a live site ------------------------------------------------------------
ROBOTSTXT_OBEY = True  # default False
USER_AGENT = f"tag-archiver/{__version__} (+{TAG_ARCHIVER_CONTACT})"  # default names Scrapy
DOWNLOAD_DELAY = 1.0  # default 0: one blog, one small server; --delay 0 for local use
CONCURRENT_REQUESTS_PER_DOMAIN = 2  # default 8: a shared-hosting WordPress is slow
AUTOTHROTTLE_ENABLED = True  # default False: back off when the site slows down
AUTOTHROTTLE_START_DELAY = 1.0  # default 5.0: matches DOWNLOAD_DELAY
AUTOTHROTTLE_MAX_DELAY = 30.0  # default 60.0: a nightly run must finish the same night
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0  # default 1.0 (stated because politeness relies on it)

# --- robustness ----------------------------------------------------------------------------
DOWNLOAD_TIMEOUT = 30  # default 180: a stalled server should fail a page, not the night
RETRY_TIMES = 3  # default 2: WordPress on shared hosting throws the odd 502/503
# Scrapy retries at once; a site in trouble hammered at once is how archivists get blocked.
# A failure holds the site (crawler.retries.RetryBackoff) for a random wait of up to
# BASE * 2**(n-1) before its n-th retry (full jitter), never longer than MAX unless
# Retry-After asks for more. None: 1 s, or 0.05 s with DOWNLOAD_DELAY 0 (--delay 0, a local
# site, where a second per failure only slows tests and demos down).
TAG_ARCHIVER_BACKOFF_BASE = None
TAG_ARCHIVER_BACKOFF_MAX = 60.0
# Longest Retry-After (429/503) we wait for before retrying; longer asks fail the page.
TAG_ARCHIVER_RETRY_AFTER_MAX = 300.0
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024  # default 1 GiB: a tag page is ~100 KB; bombs stop here
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024  # default 32 MiB
REDIRECT_MAX_TIMES = 5  # default 20: WordPress canonical redirects take one hop
# 404/410 reach the spider: they mean "unknown tag", "past the last page" or "post deleted",
# not errors; a 304 to a conditional request is swapped for its archived page on the way
# (crawler.conditional), one to any other request reaches the spider as it is.
HTTPERROR_ALLOWED_CODES = [304, 404, 410]  # default []

# --- plumbing ------------------------------------------------------------------------------
# Default 100. Scrapy starts this many asyncio tasks for every response's output, however
# little it holds: with 100 that was 29% of the crawler's CPU. Our pipeline never waits
# (storing runs on the database writer's thread), so more than a few in parallel gain nothing.
CONCURRENT_ITEMS = 8
# Default 5 MB. Scrapy stops starting downloads while the responses being processed exceed
# this. Each holds its body and, once parsed, its tree and its extracted page: several times
# the ~80 KB Scrapy counts for a tag page, so bursts set the crawler's high-water mark; 1 MB
# is still a dozen pages, more than a process extracts at once. A polite crawl
# (DOWNLOAD_DELAY) never comes near either limit.
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 1_000_000
DOWNLOADER_MIDDLEWARES = {
    # Right after Scrapy's OffsiteMiddleware (50), which compares host names only; before
    # robots.txt is fetched (100) for an address we must never connect to.
    "crawler.middlewares.OffsitePorts": 51,
    # Right after Scrapy's RobotsTxtMiddleware (100), which fails open; see its docstring.
    "crawler.middlewares.RobotsFailClosed": 101,
    # Just above RetryMiddleware (550): sees failures before it retries, and holds a site's
    # requests (backoff, Retry-After) before the WARC capture (950) stamps when they left.
    "crawler.retries.RetryBackoff": 551,
    # Closest to the network, so it archives bytes before decompression, redirects and retries
    # change them (HttpCompression 590, Redirect 600, Retry 550); below HttpCache (900)
    # it would also see cache hits, which it skips.
    "crawler.capture.WarcCaptureMiddleware": 950,
    # Just inside the capture: conditional headers are on the request when it is archived.
    "crawler.conditional.ConditionalRequests": 940,
}
ITEM_PIPELINES = {
    # Last: storing is what the other pipelines (if any) prepare items for.
    "crawler.pipelines.StorePipeline": 800,
}
EXTENSIONS = {
    # The run's owner: lock, runs row, helper processes, signals, verdict (crawler.runs).
    "crawler.runs.ArchiveRun": 400,
    # Captures and articles go to SQLite through it; ArchiveRun starts and stops its thread.
    "crawler.database.DatabaseWriter": 450,
    # The run's other crawler processes (TAG_ARCHIVER_CRAWLERS), each walking some tags.
    "crawler.shares.CrawlShares": 455,
    # Every tag and article page the run asked for ends with a verdict, counted.
    "crawler.pages.PageLedger": 460,
    "crawler.extensions.CrawlProgress": 500,
    "scrapy.extensions.telnet.TelnetConsole": None,  # no open port on a cron host
}
# Scrapy's default, stated because the store's writes come back as asyncio futures.
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
LOG_LEVEL = "INFO"  # default DEBUG: a nightly journal wants a line per event, not per request
FEED_EXPORT_ENCODING = "utf-8"
