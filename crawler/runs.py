"""RunRecorder: one `runs` row per crawl, written when it starts and completed when it ends.

Started at spider_opened, before the first request, so every capture can name its run.
Finished at engine_stopped, after the pipelines flushed and the WARC files were closed, so
the counts are final. A run killed outright stays "running" until the next run, holding the
lock, marks it "interrupted".
"""

from __future__ import annotations

import json
import logging

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from sqlite_utils.db import NotFoundError

from archive import __version__
from archive.lock import RunLock, RunLocked
from archive.store import Store
from crawler.pipelines import utc_now
from crawler.stop import stop_crawl

logger = logging.getLogger(__name__)

RUN_ID = "tag_archiver/run_id"
RUN_STARTED = "tag_archiver/run_started"


def run_status(stats: dict) -> str:
    if stats.get("tag_archiver/locked"):
        return "failed"
    if stats.get("finish_reason") == "shutdown":
        return "interrupted"  # SIGINT/SIGTERM: Scrapy's graceful stop
    if stats.get("tag_archiver/failure") or stats.get("finish_reason") not in ("finished", None):
        return "failed"
    return "finished"


class RunRecorder:
    def __init__(self, crawler: Crawler) -> None:
        self.db = crawler.settings.get("TAG_ARCHIVER_DB")
        if not self.db:
            raise NotConfigured("TAG_ARCHIVER_DB is not set")
        self.crawler = crawler
        self.run_id: int | None = None
        self.attached: int | None = None  # the run this crawl's work was added to
        # The CLI takes the lock before Scrapy starts; `scrapy crawl` relies on this one.
        self.lock = None if crawler.settings.getbool("TAG_ARCHIVER_LOCK_HELD") else RunLock(self.db)
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        return cls(crawler)

    def opened(self, spider) -> None:
        stats = self.crawler.stats
        if self.lock is not None:
            try:
                self.lock.acquire()
            except RunLocked as exc:
                stats.set_value("tag_archiver/locked", str(exc))
                stats.set_value("tag_archiver/failure", str(exc))
                self.lock = None
                stop_crawl(self.crawler, "locked")
                return
        # A spider may say what its run is (the verify spider: {"verify": true, ...});
        # otherwise the tag spider's options are recorded.
        options = getattr(spider, "run_options", None)
        if options is None:
            options = {
                "all_tags": getattr(spider, "all_tags", False),
                "articles": getattr(spider, "fetch_articles", True),
                "full": getattr(spider, "full", False),
                "refresh_articles": getattr(spider, "refresh_articles", False),
            }
        attached = getattr(spider, "attach_to_run", None)
        if attached is not None:
            self.attach(attached, options)
            return
        started = utc_now()
        with Store(self.db) as store:
            self.run_id = store.start_run(
                started_at=started,
                site=getattr(spider, "site", None) or "",
                tags=json.dumps(getattr(spider, "tag_args", [])),
                options=json.dumps(options),
                software_version=__version__,
            )
        stats.set_value(RUN_ID, self.run_id)
        stats.set_value(RUN_STARTED, started)

    def attach(self, run_id: int, options: dict) -> None:
        """Work that belongs to a run already recorded (`crawl --verify`: the verification
        of the crawl just made): its captures and findings name that run, whose options say
        so, and whose WARC files list grows by this one's; its status and counts stay."""
        with Store(self.db) as store:
            try:
                row = store.db["runs"].get(run_id)
            except NotFoundError:
                message = f"there is no run {run_id} to add this work to"
                self.crawler.stats.set_value("tag_archiver/failure", message)
                stop_crawl(self.crawler, "no_such_run")
                return
            recorded = json.loads(row["options"] or "{}")
            recorded["verify"] = options
            store.finish_run(run_id, options=json.dumps(recorded))
        self.attached = run_id
        self.crawler.stats.set_value(RUN_ID, run_id)

    def stopped(self) -> None:
        try:
            if self.attached is not None:
                self.add_warc_files(self.attached)
            if self.run_id is None:
                return
            stats = self.crawler.stats.get_stats()
            exceptions = sum(v for k, v in stats.items() if k.startswith("spider_exceptions/"))
            with Store(self.db) as store:
                store.finish_run(
                    self.run_id,
                    finished_at=utc_now(),
                    status=run_status(stats),
                    pages_fetched=stats.get("downloader/response_count", 0),
                    articles_new=stats.get("tag_archiver/articles/new", 0),
                    articles_changed=stats.get("tag_archiver/articles/changed", 0),
                    articles_unchanged=stats.get("tag_archiver/articles/unchanged", 0),
                    errors=stats.get("tag_archiver/errors", 0) + exceptions,
                    warc_files=json.dumps(stats.get("warc/files", [])),
                    failure=stats.get("tag_archiver/failure"),
                )
        finally:
            if self.lock is not None:
                self.lock.release()

    def add_warc_files(self, run_id: int) -> None:
        written = self.crawler.stats.get_value("warc/files", [])
        if not written:
            return
        with Store(self.db) as store:
            row = store.db["runs"].get(run_id)
            files = json.loads(row["warc_files"] or "[]")
            store.finish_run(run_id, warc_files=json.dumps([*files, *written]))
