"""DatabaseWriter: the crawl's one writer to SQLite, in a process of its own.

WarcCaptureMiddleware (captures) and StorePipeline (articles, gone marks) both write
through it, so one queue orders their rows: a capture's row is committed before the
articles that name it (archive.writer.StoreWriter). Writes do not hold up the crawl: a
call returns an asyncio future at once, and a failed write stops the crawl, like a failed
WARC write, with the database's error as the run's failure.

The run's owner (crawler.runs.ArchiveRun) starts its process when the spider opens, after
taking the lock and writing the runs row, and stops it when the spider closes, after the
pipelines flushed and every write sent has finished: the runs row is completed over final
counts.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from archive.errors import StoreError
from archive.warc.files import RecordLocation
from archive.writer import StoreWriter
from crawler.stop import stop_crawl

logger = logging.getLogger(__name__)


class DatabaseWriter:
    def __init__(self, crawler: Crawler) -> None:
        self.db = crawler.settings.get("TAG_ARCHIVER_DB")
        if not self.db:
            raise NotConfigured("TAG_ARCHIVER_DB is not set")
        self.crawler = crawler
        self.durable = crawler.settings.getbool("TAG_ARCHIVER_FSYNC")
        self.writer: StoreWriter | None = None
        self.failed = False
        self.next_capture_id = 0
        self.in_flight: set[asyncio.Future] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DatabaseWriter:
        return cls(crawler)

    def start(self) -> None:
        """Start the writer process (ArchiveRun, when the run begins). A database that
        cannot be opened there fails the run (fail())."""
        try:
            self.writer = StoreWriter(self.db, durable=self.durable)
            self.next_capture_id = self.wait_for("next_capture_id")
        except StoreError as exc:
            self.fail(exc)

    async def stop(self, timeout: float | None = None) -> None:
        """Every write sent has finished; then the writer process ends (killed if it does
        not within `timeout`)."""
        await self.drained()
        if self.writer is not None:
            self.writer.close(timeout)

    def kill(self) -> None:
        """End the writer now: a forced stop. What it had not committed is lost whole."""
        self.failed = True
        if self.writer is not None:
            self.writer.kill()

    def submit(self, operation: str, *args: Any, **kwargs: Any) -> asyncio.Future:
        """The writer's operation of that name (archive.writer.OPERATIONS) in its process,
        after every call submitted before it. UnknownOperation, at once, for a name it does
        not have."""
        if self.writer is None or self.failed:
            future = asyncio.get_running_loop().create_future()
            future.set_exception(StoreError("the database can no longer be written"))
        else:
            future = asyncio.wrap_future(self.writer.submit(operation, *args, **kwargs))
        self.in_flight.add(future)
        future.add_done_callback(self._done)
        return future

    def wait_for(self, operation: str, *args: Any) -> Any:
        """The writer's operation of that name after every call submitted before it, waited
        for here. It blocks the reactor: only for a crawl with nothing left to download.
        StoreError if the database can no longer be written (the crawl is then stopping)."""
        if self.writer is None or self.failed:
            raise StoreError("the database can no longer be written")
        try:
            return self.writer.submit(operation, *args).result()
        except StoreError as exc:
            self.fail(exc)
            raise

    def add_capture(self, location: RecordLocation, **fields: Any) -> int:
        """The capture's id now (the run numbers its captures; it holds the lock); its row
        is written in turn, before anything submitted after it."""
        capture_id = self.next_capture_id
        self.next_capture_id += 1
        self.submit("add_capture", location, capture_id=capture_id, **fields)
        return capture_id

    async def drained(self) -> None:
        """Every write submitted so far has finished (or failed)."""
        while self.in_flight:
            await asyncio.wait(list(self.in_flight))

    def _done(self, future: asyncio.Future) -> None:
        self.in_flight.discard(future)
        error = None if future.cancelled() else future.exception()
        if isinstance(error, StoreError):
            self.fail(error)

    def fail(self, exc: StoreError) -> None:
        if self.failed:
            return
        self.failed = True
        from crawler.runs import ArchiveRun  # crawler.runs starts and stops this writer

        run = self.crawler.get_extension(ArchiveRun)
        if run is not None:
            run.fail(str(exc))
        logger.error("%s; stopping the crawl", exc)
        stop_crawl(self.crawler, "store_error")
