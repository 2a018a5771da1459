"""ArchiveRun: the owner of one run, from the lock to the verdict.

It holds what a run is: its id and start time (the `runs` row, written before the first
request, so every capture can name its run), the database lock, its helpers (the database
writer, crawler.database, and the other crawler processes of the run, crawler.shares), and
how the run ended. Components reach it with `crawler.get_extension(ArchiveRun)`.

Its life, in signal order:

- built (from_crawler): takes the lock, unless the CLI took it already
  (TAG_ARCHIVER_LOCK_HELD), and starts listening for SIGINT/SIGTERM (crawler.stop);
- spider_opened: refuses a locked database or a stop already asked for (CloseSpider, so
  nothing starts), writes the runs row, starts the writer process and the extraction pool;
- spider_closed: waits for the writes sent, stops both helpers;
- engine_stopped (or the reactor's shutdown, when the engine never ran): the verdict
  (crawler.verdict), the runs row completed with it, the lock released.

A stop (the first SIGINT/SIGTERM) closes the spider gracefully whenever it comes: before the
spider is open it keeps anything from starting; while the engine is starting it waits for it
to run. If the stop is not over within TAG_ARCHIVER_STOP_TIMEOUT seconds, or a second signal
comes, the run is forced to an end: the helpers are killed, the open WARC file is closed if
it can be, the runs row says `interrupted`, and the reactor stops. A watchdog thread ends
the process if even that cannot run (the reactor blocked). A run killed outright stays
"running" until the next run, holding the lock, marks it "interrupted".
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from sqlite_utils.db import NotFoundError

from archive import __version__
from archive.clock import utc_now
from archive.errors import ArchiveError
from archive.lock import RunLock, RunLocked
from archive.store import Store
from crawler.database import DatabaseWriter
from crawler.shares import CrawlShares
from crawler.stop import INTERRUPTED_EXIT, STOP_SIGNALS, stop_crawl
from crawler.verdict import Verdict, errors, verdict

logger = logging.getLogger(__name__)

# Reported in the stats (--stats-json) for monitoring, never read back: components ask
# ArchiveRun itself (run_id, locked, failure).
RUN_ID = "tag_archiver/run_id"
LOCKED = "tag_archiver/locked"
FAILURE = "tag_archiver/failure"

# After a forced stop, how long the reactor gets to finish up before the watchdog ends the
# process itself.
FORCE_GRACE = 5.0


class ArchiveRun:
    def __init__(self, crawler: Crawler) -> None:
        self.db = crawler.settings.get("TAG_ARCHIVER_DB")
        if not self.db:
            raise NotConfigured("TAG_ARCHIVER_DB is not set")
        self.crawler = crawler
        self.stop_timeout = crawler.settings.getfloat("TAG_ARCHIVER_STOP_TIMEOUT", 30.0)
        self.run_id: int | None = None
        self.started_at: str | None = None
        self.attached: int | None = None  # the run this crawl's work was added to
        self.joined = False  # one of the run's other crawler processes (crawler.shares)
        self.shares: CrawlShares | None = None
        self.store: Store | None = None  # the runs row's, from its start to its end
        self.locked: str | None = None
        self.failure: str | None = None
        self.interrupted = False
        self.forced = False
        self.close_reason: str | None = None
        self.ended: Verdict | None = None
        self.database: DatabaseWriter | None = None
        self.helpers_stopped = True
        self._watchdog: threading.Timer | None = None
        # The CLI takes the lock before Scrapy starts; `scrapy crawl` relies on this one.
        self.lock: RunLock | None = None
        if not crawler.settings.getbool("TAG_ARCHIVER_LOCK_HELD"):
            lock = RunLock(self.db)
            try:
                lock.acquire()
                self.lock = lock
            except RunLocked as exc:
                self.locked = str(exc)
                crawler.stats.set_value(LOCKED, self.locked)
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)
        crawler.signals.connect(self.finish, signal=signals.engine_stopped)
        STOP_SIGNALS.install()
        STOP_SIGNALS.listen(self)
        from twisted.internet import reactor

        # `scrapy crawl` installs Scrapy's own handlers once the reactor runs: take the
        # signals back after that. When the engine never ran, engine_stopped never comes:
        # the reactor's shutdown finishes the run then.
        reactor.callWhenRunning(reactor.callLater, 0, STOP_SIGNALS.install)
        reactor.addSystemEventTrigger("before", "shutdown", self.shutdown)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveRun:
        return cls(crawler)

    # --- the run begins -----------------------------------------------------------------

    def opened(self, spider) -> None:
        if self.locked:
            logger.error("%s", self.locked)
            raise CloseSpider("locked")
        if STOP_SIGNALS.received:
            self.interrupted = True
            logger.warning("stopped before the crawl began: nothing was fetched")
            raise CloseSpider("shutdown")
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
        share = self.crawler.settings.getdict("TAG_ARCHIVER_SHARE")
        try:
            if share:
                self.join(share["run_id"])
            elif attached is not None:
                self.attach(attached, options)
            else:
                self.started_at = utc_now()
                # Kept open until the runs row is completed: while a connection is open the
                # WAL file stays, and the last update reuses its space even on a full disk.
                self.store = store = Store(self.db, site=getattr(spider, "site", None) or None)
                self.run_id = store.start_run(
                    started_at=self.started_at,
                    site=getattr(spider, "site", None) or "",
                    tags=json.dumps(getattr(spider, "tag_args", [])),
                    options=json.dumps(options),
                    software_version=__version__,
                )
                self.crawler.stats.set_value(RUN_ID, self.run_id)
        except ArchiveError as exc:
            self.fail(str(exc))
            raise CloseSpider("store_error") from exc
        if self.failure:
            raise CloseSpider("no_such_run")
        self.start_helpers()

    def attach(self, run_id: int, options: dict) -> None:
        """Work that belongs to a run already recorded (`crawl --verify`: the verification
        of the crawl just made): its captures and findings name that run, whose options say
        so, and whose WARC files list grows by this one's; its status and counts stay."""
        with Store(self.db) as store:
            try:
                row = store.db["runs"].get(run_id)
            except NotFoundError:
                self.fail(f"there is no run {run_id} to add this work to")
                return
            recorded = json.loads(row["options"] or "{}")
            recorded["verify"] = options
            self.started_at = row["started_at"]
            store.finish_run(run_id, options=json.dumps(recorded))
        self.attached = run_id
        self.crawler.stats.set_value(RUN_ID, run_id)

    def join(self, run_id: int) -> None:
        """One of the run's other crawler processes (crawler.shares): the run and its row
        are the first process's, which records them; this one's captures name it."""
        with Store(self.db) as store:
            try:
                self.started_at = store.db["runs"].get(run_id)["started_at"]
            except NotFoundError:
                self.fail(f"there is no run {run_id} to add this work to")
                return
        self.attached = run_id
        self.joined = True
        self.crawler.stats.set_value(RUN_ID, run_id)

    @property
    def capture_run_id(self) -> int | None:
        """The run every capture of this crawl names: its own, or the one it was added to."""
        return self.run_id if self.attached is None else self.attached

    def start_helpers(self) -> None:
        """The database writer."""
        self.helpers_stopped = False
        self.database = self.crawler.get_extension(DatabaseWriter)
        if self.database is not None:
            self.database.start()

    def fail(self, message: str) -> None:
        """A component cannot do the run's job: the first reason is the run's failure."""
        if self.failure is None:
            self.failure = message
            self.crawler.stats.set_value(FAILURE, message)

    # --- the run ends -------------------------------------------------------------------

    async def closed(self, reason: str) -> None:
        self.close_reason = reason
        self.shares = self.crawler.get_extension(CrawlShares)
        if self.shares is not None:
            await self.shares.finish()
            for message in self.shares.failures():
                self.fail(message)
            self.interrupted = self.interrupted or self.shares.interrupted()
        if self.database is not None:
            await self.database.stop(timeout=self.stop_timeout)
        self.helpers_stopped = True

    def verdict(self) -> Verdict:
        """How the run ended (or would, were it to end now)."""
        if self.ended is not None:
            return self.ended
        stats = self.crawler.stats.get_stats()
        return verdict(
            stats,
            failure=self.failure,
            locked=self.locked,
            interrupted=self.interrupted,
            forced=self.forced,
            close_reason=self.close_reason or stats.get("finish_reason"),
        )

    def finish(self) -> None:
        """The verdict, into the runs row; the lock released. Once."""
        if self.ended is not None:
            return
        self.ended = self.verdict()
        STOP_SIGNALS.forget(self)
        if self._watchdog is not None and not self.forced:
            self._watchdog.cancel()
        try:
            if self.attached is not None and not self.joined:
                self.add_warc_files(self.attached)
            if self.run_id is not None:
                self.record()
        except Exception as exc:  # a full disk, a read-only file: one line, not a traceback
            logger.error("the runs row could not be completed: %s", exc)
        finally:
            if self.store is not None:
                self.store.close()
                self.store = None
            if self.lock is not None:
                self.lock.release()
                self.lock = None

    def record(self) -> None:
        stats = self.crawler.stats.get_stats()
        ended = self.ended
        assert ended is not None
        store = self.store or Store(self.db)
        try:
            store.finish_run(
                self.run_id,
                finished_at=utc_now(),
                status=ended.status,
                pages_fetched=stats.get("downloader/response_count", 0),
                articles_new=stats.get("tag_archiver/articles/new", 0),
                articles_changed=stats.get("tag_archiver/articles/changed", 0),
                articles_unchanged=stats.get("tag_archiver/articles/unchanged", 0),
                errors=errors(stats),
                warc_files=json.dumps(self.warc_files()),
                failure=ended.message if ended.status != "finished" else None,
            )
        finally:
            store.close()
            self.store = None

    def warc_files(self) -> list[str]:
        """This process's WARC files, then those of the run's other crawler processes."""
        from crawler.capture import WarcCaptureMiddleware  # it imports this module

        capture = None
        if self.crawler.engine is not None:
            capture = self.crawler.get_downloader_middleware(WarcCaptureMiddleware)
        own = list(capture.writer.files_written) if capture is not None else []
        return own + (self.shares.warc_files() if self.shares is not None else [])

    def add_warc_files(self, run_id: int) -> None:
        written = self.warc_files()
        if not written:
            return
        with Store(self.db) as store:
            row = store.db["runs"].get(run_id)
            files = json.loads(row["warc_files"] or "[]")
            store.finish_run(run_id, warc_files=json.dumps([*files, *written]))

    def shutdown(self) -> None:
        """The reactor is stopping: whatever did not end on its own ends now."""
        if not self.helpers_stopped:
            self.kill_helpers()
        self.finish()

    # --- stopping -----------------------------------------------------------------------

    def signal_received(self, signum: int, count: int) -> None:
        """In the signal handler: schedule, never act (the interrupted code may hold locks)."""
        from twisted.internet import reactor

        if count == 1:
            reactor.callFromThread(self.stop, signum)
            self._arm_watchdog(self.stop_timeout + FORCE_GRACE)
        else:
            reactor.callFromThread(self.force, f"a second {signal.Signals(signum).name}")
            self._arm_watchdog(FORCE_GRACE)

    def _arm_watchdog(self, seconds: float) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._watchdog = threading.Timer(seconds, self._last_resort)
        self._watchdog.daemon = True
        self._watchdog.start()

    def stop(self, signum: int) -> None:
        """A graceful stop: in-flight pages finish, rows are committed, WARCs closed."""
        if self.ended is not None or self.interrupted:
            return
        self.interrupted = True
        self._forward(signum)
        logger.warning(
            "received %s: stopping gracefully (in-flight pages finish); a second signal, or "
            "%.0f s (TAG_ARCHIVER_STOP_TIMEOUT), stops at once",
            signal.Signals(signum).name,
            self.stop_timeout,
        )
        from twisted.internet import reactor

        reactor.callLater(self.stop_timeout, self.force, "TAG_ARCHIVER_STOP_TIMEOUT passed")
        self._stop_engine()

    def _stop_engine(self) -> None:
        if self.ended is not None or self.close_reason is not None:
            return
        engine = self.crawler.engine
        if engine is not None and engine.running:
            # The spider is closed, not the crawler stopped: a close already under way (the
            # crawl had just finished) is then awaited whole, its spider_closed handlers
            # included. Crawler.stop_async() returns once that close's downloads end, and
            # the process would exit while the run's other crawler processes still write.
            if stop_crawl(self.crawler, "shutdown") is None:
                deferred_from_coro(self.crawler.stop_async())
            return
        # Not running yet (the spider is opening, or the engine starting): stopping now
        # would stop nothing, and Scrapy would stop the reactor under an open spider.
        # opened() refuses to begin once it sees the stop; otherwise ask again shortly.
        from twisted.internet import reactor

        reactor.callLater(0.05, self._stop_engine)

    def force(self, why: str) -> None:
        """Stop now: helpers killed, the WARC file closed if it can be, the run recorded as
        interrupted, the reactor stopped."""
        if self.ended is not None:
            return
        self.interrupted = self.forced = True
        self._forward(signal.SIGTERM)  # their second signal: each stops at once
        logger.error("stopping at once (%s)", why)
        self.kill_helpers()
        with contextlib.suppress(Exception):
            from crawler.capture import WarcCaptureMiddleware

            capture = self.crawler.get_downloader_middleware(WarcCaptureMiddleware)
            if capture is not None:
                capture.writer.close()
        self.finish()
        from twisted.internet import reactor

        # The crawler marked stopped (its first step, taken at once), so that Scrapy's own
        # stop of its crawlers at reactor shutdown does not wait for the pages in flight.
        deferred_from_coro(self.crawler.stop_async()).addErrback(lambda _failure: None)
        with contextlib.suppress(RuntimeError):  # stopping already
            reactor.stop()

    def _forward(self, signum: int) -> None:
        """The run's other crawler processes stop as this one does."""
        shares = self.crawler.get_extension(CrawlShares)
        if shares is not None:
            shares.signal(signum)

    def kill_helpers(self) -> None:
        if self.database is not None:
            self.database.kill()
        self.helpers_stopped = True

    def helper_pids(self) -> list[int]:
        shares = self.crawler.get_extension(CrawlShares)
        return shares.pids() if shares is not None else []

    def _last_resort(self) -> None:
        """Watchdog thread: the reactor did not end the run in time. Kill and exit."""
        for pid in self.helper_pids():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            sys.stderr.write(
                "tag-archiver: the stop did not complete in time; exiting now (the next run "
                "repairs the WARC files and marks this run interrupted)\n"
            )
            sys.stderr.flush()
        os._exit(INTERRUPTED_EXIT)
