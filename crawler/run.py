"""Run one crawl in this process and turn its stats into a verdict and an exit code."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from archive import __version__
from crawler.spiders.tag_archive import TagArchiveSpider


class ExitCode(IntEnum):
    """Documented in the README; cron and systemd act on them."""

    OK = 0
    FAILED = 1  # nothing useful was archived, or the run could not store: see the message
    USAGE = 2  # bad command line (click's own code)
    PARTIAL = 3  # finished, but some pages could not be fetched or read
    # verify: the archive and the site's REST API disagree (the same code as PARTIAL: for
    # cron, "done, but look at what it found")
    DISCREPANCIES = 3
    LOCKED = 4  # another run holds the database: nothing was done
    INTERRUPTED = 5  # SIGINT/SIGTERM: in-flight work committed, WARCs closed, run marked so


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
    stats: dict[str, Any]
    seconds: float

    @property
    def failure(self) -> str | None:
        failure = self.stats.get("tag_archiver/failure")
        reason = self.stats.get("finish_reason")
        if reason == "shutdown":
            return "interrupted (SIGINT/SIGTERM); what was fetched is committed"
        if failure is None and reason not in ("finished", None):
            failure = f"the crawl stopped early ({reason})"
        return failure

    @property
    def errors(self) -> int:
        """Pages that failed, plus exceptions in our own callbacks (bugs count too)."""
        exceptions = sum(v for k, v in self.stats.items() if k.startswith("spider_exceptions/"))
        return self.stats.get("tag_archiver/errors", 0) + exceptions

    @property
    def exit_code(self) -> ExitCode:
        if self.stats.get("finish_reason") == "shutdown":
            return ExitCode.INTERRUPTED
        if self.stats.get("tag_archiver/locked"):
            return ExitCode.LOCKED
        if self.failure:
            return ExitCode.FAILED
        if self.errors:
            return ExitCode.PARTIAL
        return ExitCode.OK

    def summary(self) -> str:
        s = self.stats
        line = (
            f"{s.get('tag_archiver/pages/tag_archive', 0)} tag pages and "
            f"{s.get('tag_archiver/pages/single', 0)} article pages in {self.seconds:.1f} s; "
            f"{s.get('tag_archiver/articles/stored', 0)} articles stored "
            f"({s.get('tag_archiver/articles/new', 0)} new, "
            f"{s.get('tag_archiver/articles/changed', 0)} changed, "
            f"{s.get('tag_archiver/articles/unchanged', 0)} unchanged); "
            f"{self.errors} errors"
        )
        return f"{line}; FAILED: {self.failure}" if self.failure else line


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
    return settings


def tag_spider_arguments(options: CrawlOptions) -> dict[str, Any]:
    return {
        "site": options.site,
        "tags": options.tags,
        "all_tags": options.all_tags,
        "articles": options.articles,
        "full": options.full,
        "refresh_articles": options.refresh_articles,
    }


def run_crawl(options: CrawlOptions) -> CrawlResult:
    """Blocks until the crawl ends. Twisted's reactor runs once per process: call this once
    (crawler.verify.run_crawl_and_verify chains a verification after it instead)."""
    process = CrawlerProcess(settings_for(options))
    crawler = process.create_crawler(TagArchiveSpider)
    started = time.monotonic()
    process.crawl(crawler, **tag_spider_arguments(options))
    process.start()
    return CrawlResult(crawler.stats.get_stats(), time.monotonic() - started)
