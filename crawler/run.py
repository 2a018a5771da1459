"""Run one crawl in this process; its owner (crawler.runs.ArchiveRun) gives the verdict."""

from __future__ import annotations

import gc
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings

from archive import __version__
from crawler.runs import ArchiveRun
from crawler.shares import divided, plan
from crawler.spiders.tag_archive import TagArchiveSpider
from crawler.stop import STOP_SIGNALS
from crawler.verdict import ExitCode, Verdict, errors, summary_line, verdict

__all__ = [
    "CrawlOptions",
    "CrawlResult",
    "ExitCode",
    "crawler_process",
    "run_crawl",
    "settings_for",
    "start",
]


@dataclass
class CrawlOptions:
    site: str
    tags: list[str] = field(default_factory=list)
    all_tags: bool = False
    db: str = "tag-archiver.db"
    delay: float | None = None  # None: the polite default from crawler.settings
    articles: bool = True
    full: bool = False
    refresh_articles: bool = False
    contact: str | None = None
    log_level: str = "INFO"
    extra_settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class CrawlResult:
    """A finished crawl as the CLI reports it: its counters and its owner's verdict."""

    stats: dict[str, Any]
    seconds: float
    ended: Verdict

    @classmethod
    def of(cls, crawler: Crawler, seconds: float) -> CrawlResult:
        try:
            stats, run = crawler.stats.get_stats(), crawler.get_extension(ArchiveRun)
        except (AttributeError, RuntimeError):  # never started: its spider could not be built
            stats, run = {}, None
        if run is None:
            return cls(stats, seconds, verdict(stats, failure="the crawl did not start"))
        run.finish()  # when the reactor stopped before the engine did
        return cls(stats, seconds, run.verdict())

    @property
    def failure(self) -> str | None:
        return self.ended.message

    @property
    def errors(self) -> int:
        """Pages that failed, plus exceptions in our own callbacks (bugs count too)."""
        return errors(self.stats)

    @property
    def exit_code(self) -> ExitCode:
        return self.ended.exit_code

    def summary(self) -> str:
        return summary_line(self.stats, self.seconds, self.ended)


def settings_for(options: CrawlOptions) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    overrides: dict[str, Any] = {
        "TAG_ARCHIVER_DB": options.db,
        "LOG_LEVEL": options.log_level,
        "TAG_ARCHIVER_FULL": options.full,
    }
    if options.contact:
        overrides["TAG_ARCHIVER_CONTACT"] = options.contact
        overrides["USER_AGENT"] = f"tag-archiver/{__version__} (+{options.contact})"
    if options.delay is not None:
        overrides["DOWNLOAD_DELAY"] = options.delay
        overrides["AUTOTHROTTLE_START_DELAY"] = max(options.delay, 0.1)
        if options.delay == 0:
            # Local use (the demo, a test site, a mirror): no throttling at all.
            overrides["AUTOTHROTTLE_ENABLED"] = False
            overrides["CONCURRENT_REQUESTS_PER_DOMAIN"] = 8
    overrides.update(options.extra_settings)
    settings.setdict(overrides, priority="cmdline")
    tags = None if options.all_tags else len(options.tags)
    crawlers = plan(settings, tags)
    shares: dict[str, Any] = {"TAG_ARCHIVER_CRAWLERS": crawlers}
    if crawlers > 1:
        # what the other crawler processes are started with (crawler.shares)
        shares["TAG_ARCHIVER_CRAWL_OPTIONS"] = asdict(options)
        shares.update(divided(settings, crawlers))
    settings.setdict(shares, priority="cmdline")
    return settings


def tag_spider_arguments(options: CrawlOptions, share: bool = False) -> dict[str, Any]:
    if share:  # its tags come from the run's first process (crawler.shares)
        return {"site": options.site, "share": True, **_walk_options(options)}
    return {"site": options.site, "tags": options.tags, "all_tags": options.all_tags,
            **_walk_options(options)}  # fmt: skip


def _walk_options(options: CrawlOptions) -> dict[str, Any]:
    return {
        "articles": options.articles,
        "full": options.full,
        "refresh_articles": options.refresh_articles,
    }


def run_crawl(options: CrawlOptions, share: bool = False) -> CrawlResult:
    """Blocks until the crawl ends. Twisted's reactor runs once per process: call this once
    (crawler.verify.run_crawl_and_verify chains a verification after it instead). `share`:
    this process is one of a run's other crawler processes (crawler.share)."""
    process = crawler_process(options)
    crawler = process.create_crawler(TagArchiveSpider)
    started = time.monotonic()
    process.crawl(crawler, **tag_spider_arguments(options, share))
    start(process)
    return CrawlResult.of(crawler, time.monotonic() - started)


def crawler_process(options: CrawlOptions) -> CrawlerProcess:
    """The process's CrawlerProcess. From here on a SIGINT/SIGTERM is the run's to handle
    (crawler.stop): the process no longer exits on the spot, the run ends what it began."""
    process = CrawlerProcess(settings_for(options))
    STOP_SIGNALS.hold()
    return process


def start(process: CrawlerProcess) -> None:
    """Run the reactor until the crawls end. SIGINT/SIGTERM stay with crawler.stop's handlers
    (the run's owner decides what a stop means): Scrapy's would stop the reactor under a
    spider still opening, whose helpers then hold the process at exit."""
    STOP_SIGNALS.install()
    collect_garbage_less_often()
    process.start(install_signal_handlers=False)


# Allocations (less deallocations) between two collections of the youngest generation;
# Python's default is 700. A crawl allocates a few hundred thousand objects a page (lxml's
# elements, Scrapy's Deferreds, the article records), nearly all freed by reference counting,
# so at 700 the collector ran a thousand times in 2,000 pages for about 6% of the process's
# CPU; at 10,000 it costs a tenth of that and the process's peak RSS about 3 MB more (cycles
# wait longer to be collected).
GC_THRESHOLD = 10_000


def collect_garbage_less_often() -> None:
    """Before the reactor starts: what the process has imported and built so far lives as
    long as the process, so it leaves the collector's generations (gc.freeze), and the
    collector runs every GC_THRESHOLD allocations instead of Python's 700."""
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
