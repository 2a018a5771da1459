"""DatabaseWriter: the crawl's one writer to SQLite, on a thread of its own.

WarcCaptureMiddleware (captures) and StorePipeline (articles, gone marks) both write
through it, so one queue orders their rows: a capture's row is committed before the
articles that name it (archive.store_thread.StoreThread). Writes do not hold up the crawl: a
call returns an asyncio future at once, and a failed write stops the crawl, like a failed
WARC write, with the database's error as the run's failure.

The run's owner (crawler.runs.ArchiveRun) starts its thread when the spider opens, after
taking the lock and writing the runs row, and stops it when the spider closes, after the
pipelines flushed and every write sent has finished: the runs row is completed over final
counts.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from archive.errors import StoreError
from archive.store_thread import StoreThread
from archive.warc.files import RecordLocation
from crawler.stop import stop_crawl

logger = logging.getLogger(__name__)


class DatabaseWriter:
    def __init__(self, crawler: Crawler) -> None:
        self.db = crawler.settings.get("TAG_ARCHIVER_DB")
        if not self.db:
            raise NotConfigured("TAG_ARCHIVER_DB is not set")
        self.crawler = crawler
        self.durable = crawler.settings.getbool("TAG_ARCHIVER_FSYNC")
        self.writer: StoreThread | None = None
        self.failed = False
        self.in_flight: set[asyncio.Future] = set()
        self.first_capture_id = 0
        # (location, fields) of captures whose rows wait for the next batch of articles
        self.pending_captures: list[tuple[RecordLocation, dict]] = []
        self.capture_ids: itertools.count = itertools.count()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DatabaseWriter:
        return cls(crawler)

    def start(self) -> None:
        """Start the writer thread (ArchiveRun, when the run begins). A database that
        cannot be opened there fails the run (fail())."""
        try:
            # everything the crawl stores is its site's
            site = getattr(self.crawler.spider, "site", None) or None
            from crawler.shares import CrawlShares  # it reads this module's ids

            shares = self.crawler.get_extension(CrawlShares)
            # the run's processes write in turns (archive.write_turns)
            turns = shares.write_turns_dir if shares is not None else None
            self.writer = StoreThread(self.db, durable=self.durable, site=site, write_turns=turns)
            if shares is not None:  # the run's articles counted once, whichever process
                self.wait_for("share_ledger", shares.ledger_path)
            share = self.crawler.settings.getdict("TAG_ARCHIVER_SHARE")
            if share:  # one of the run's other crawler processes
                first, step = share["capture_ids"]
            else:
                first, step = self.wait_for("next_capture_id"), shares.count if shares else 1
        except StoreError as exc:
            self.fail(exc)
            return
        self.first_capture_id = first
        self.capture_ids = itertools.count(first, step)

    async def stop(self, timeout: float | None = None) -> None:
        """Every write sent has finished; then the writer ends (the calls not yet begun
        are cancelled if it does not within `timeout`)."""
        await self.drained()
        if self.writer is not None:
            self.writer.close(timeout)

    def kill(self) -> None:
        """End the writer now: a forced stop. What it had not committed is lost whole."""
        self.failed = True
        if self.writer is not None:
            self.writer.kill()

    def submit(self, operation: str, *args: Any, **kwargs: Any) -> asyncio.Future:
        """The writer's operation of that name (archive.writer.OPERATIONS) on its thread,
        after every call submitted before it (and after the captures added before it, which
        a batch of articles commits in its own transaction). UnknownOperation, at once, for
        a name it does not have."""
        if operation == "save_observed":
            captures, self.pending_captures = self.pending_captures, []
            kwargs["captures"] = captures
        else:
            self._send_captures()
        return self._submit(operation, *args, **kwargs)

    def _submit(self, operation: str, *args: Any, **kwargs: Any) -> asyncio.Future:
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
        self._send_captures()
        try:
            return self.writer.submit(operation, *args).result()
        except StoreError as exc:
            self.fail(exc)
            raise

    def add_capture(self, location: RecordLocation, **fields: Any) -> int:
        """The capture's id now (the run numbers its captures; it holds the lock; with
        several crawler processes, each takes every Nth id). Its row is written with the
        next batch of articles, or before anything else submitted after it."""
        capture_id = next(self.capture_ids)
        self.pending_captures.append((location, {"capture_id": capture_id, **fields}))
        return capture_id

    async def drained(self) -> None:
        """Every write submitted so far has finished (or failed), captures included."""
        if self.writer is not None and not self.failed:
            self._send_captures()
        while self.in_flight:
            await asyncio.wait(list(self.in_flight))

    def _send_captures(self) -> None:
        """The captures waiting for a batch of articles, written now in one transaction."""
        if self.pending_captures:
            captures, self.pending_captures = self.pending_captures, []
            self._submit("add_captures", captures)

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
