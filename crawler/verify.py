"""Run `verify` (crawler.spiders.rest_verify): alone, or chained after a crawl.

Twisted's reactor starts once per process, so `crawl --verify` runs the verification as a
second crawler in the crawl's own CrawlerProcess, started when the first has finished (its
rows committed, its WARC files closed, its runs row complete). Measured on the captured
test bed served on loopback (17 posts, 8 tags, --all-tags --delay 0; medians of 4 runs on a
busy machine): the crawl took 3.5 s; chained, the verification added 0.8 s; run as a child
process (`tag-archiver verify`) it took 3.4 s, most of it starting Python, importing Scrapy
and starting the database writer again. Chaining also hands the crawl's run id over.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from scrapy.crawler import Crawler

from archive.extract.urls import term_slug
from archive.verify import Finding, discrepancies, report_lines, summary, unavailable
from crawler.run import (
    CrawlOptions,
    CrawlResult,
    ExitCode,
    crawler_process,
    start,
    tag_spider_arguments,
)
from crawler.runs import RUN_ID, ArchiveRun
from crawler.spiders.rest_verify import RestVerifySpider
from crawler.spiders.tag_archive import TagArchiveSpider

UNAVAILABLE = "tag_archiver/verify/unavailable"


@dataclass
class VerifyResult:
    stats: dict[str, Any]
    findings: list[Finding] | None  # None: stopped before comparing
    seconds: float
    site: str = ""
    api: str | None = None  # the REST root that answered: /wp-json/ or ?rest_route=
    run: ArchiveRun | None = None

    @classmethod
    def of(cls, crawler: Crawler, seconds: float) -> VerifyResult:
        spider = getattr(crawler, "spider", None)
        record = getattr(spider, "record", None)
        run = crawler.get_extension(ArchiveRun)
        if run is not None:
            run.finish()
        return cls(
            crawler.stats.get_stats(),
            getattr(spider, "findings", None),
            seconds,
            record.site if record else "",
            record.api if record else None,
            run,
        )

    @property
    def interrupted(self) -> bool:
        if self.run is not None and self.run.interrupted:
            return True
        return self.stats.get("finish_reason") == "shutdown"

    @property
    def unavailable(self) -> str | None:
        """Why the REST API could not be read at all, if it could not."""
        if self.findings is not None and unavailable(self.findings):
            return self.stats.get(UNAVAILABLE) or self.findings[0].message
        return None

    @property
    def failure(self) -> str | None:
        if self.interrupted:
            return "interrupted (SIGINT/SIGTERM); nothing was compared"
        if self.findings is not None and unavailable(self.findings):
            return self.findings[0].message
        failure = self.run.failure if self.run is not None else None
        failure = failure or self.stats.get("tag_archiver/failure")
        if failure is None and self.findings is None:
            failure = f"the verification stopped early ({self.stats.get('finish_reason')})"
        return failure

    @property
    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.run is not None and self.run.locked:
            return ExitCode.LOCKED
        if self.failure:
            return ExitCode.FAILED
        if discrepancies(self.findings or []):
            return ExitCode.DISCREPANCIES
        return ExitCode.OK

    def report(self) -> list[str]:
        """The readable report: per tag, then each finding, then the summary line."""
        if self.findings is None or unavailable(self.findings):
            return []
        run = self.run.capture_run_id if self.run is not None else self.stats.get(RUN_ID)
        tail = f" (run {run}, {self.seconds:.1f} s)" if run is not None else ""
        head = f"verify: {self.site} against its REST API ({self.api})"
        return [head, *report_lines(self.findings), summary(self.findings) + tail]


def verify_tags(options: CrawlOptions) -> list[str] | None:
    """The tags a crawl's verification checks: the crawl's own (slugs of any URLs given),
    or every tag of the site after --all-tags."""
    if options.all_tags:
        return None
    return [term_slug(t) or t if "://" in t else t for t in options.tags]


def run_verify(options: CrawlOptions, tags: list[str] | None) -> VerifyResult:
    """Blocks until verified; its own runs row. Call once per process (Twisted's reactor)."""
    process = crawler_process(options)
    crawler = process.create_crawler(RestVerifySpider)
    started = time.monotonic()
    process.crawl(crawler, site=options.site, tags=tags or [])
    start(process)
    return VerifyResult.of(crawler, time.monotonic() - started)


def run_crawl_and_verify(
    options: CrawlOptions, tags: list[str] | None
) -> tuple[CrawlResult, VerifyResult | None]:
    """The crawl, then, if it finished with something archived (exit 0 or 3), its
    verification, tied to the crawl's run. None: the verification did not run."""
    process = crawler_process(options)
    crawl = process.create_crawler(TagArchiveSpider)
    verifier: list[Crawler] = []
    times: dict[str, float] = {"started": time.monotonic()}

    def then_verify(_: object) -> Any:
        times["crawled"] = time.monotonic()
        crawled = CrawlResult.of(crawl, times["crawled"] - times["started"])
        if crawled.exit_code not in (ExitCode.OK, ExitCode.PARTIAL):
            return None
        verifier.append(process.create_crawler(RestVerifySpider))
        run_id = crawl.get_extension(ArchiveRun).run_id
        # CrawlerProcess.join() waits for crawls started while it waits: this one included.
        return process.crawl(verifier[0], site=options.site, tags=tags or [], run_id=run_id)

    process.crawl(crawl, **tag_spider_arguments(options)).addCallback(then_verify)
    start(process)
    crawled_at = times.get("crawled", time.monotonic())
    result = CrawlResult.of(crawl, crawled_at - times["started"])
    if not verifier:
        return result, None
    return result, VerifyResult.of(verifier[0], time.monotonic() - crawled_at)
