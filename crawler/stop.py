"""Stopping a crawl: from inside a component, and on SIGINT/SIGTERM at any moment.

A signal may come before Scrapy is imported, while the helper processes start, mid-crawl or
during the shutdown. STOP_SIGNALS takes SIGINT and SIGTERM from the start of the command
(crawler.cli) in place of Scrapy's handlers, which are installed only once the reactor runs
and which stop the reactor at once when the engine is not running yet: the spider then never
closes, its helpers are never stopped, and the process hangs at exit waiting for them. Here a
signal is only recorded and handed to the listeners (crawler.runs.ArchiveRun), which decide
what a stop means at that moment.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from twisted.internet.defer import Deferred

# No Scrapy or Twisted at import: the CLI installs STOP_SIGNALS before it imports them.

logger = logging.getLogger(__name__)

STOPS = frozenset({signal.SIGINT, signal.SIGTERM})

# Exit code of a run stopped by a signal (crawler.verdict.ExitCode.INTERRUPTED).
INTERRUPTED_EXIT = 5


def stop_crawl(crawler: Crawler, reason: str) -> Deferred | None:
    """Schedule the spider's close. Never runs it inline: a middleware or pipeline calling this
    is itself inside the engine, which must not be re-entered."""
    from scrapy.utils.defer import deferred_from_coro

    engine = crawler.engine
    if engine is None or engine.spider is None:
        return None
    closing = deferred_from_coro(engine.close_spider_async(reason=reason))
    closing.addErrback(lambda failure: logger.error("closing the crawl failed: %s", failure.value))
    return closing


class StopListener(Protocol):
    def signal_received(self, signum: int, count: int) -> None:
        """Called inside the signal handler: must only schedule work, never do it."""


class StopSignals:
    """SIGINT and SIGTERM for the whole process: counted, and passed to the listeners.

    Until the command holds the signals (nothing started: it is still importing, checking
    the database, taking the lock), a signal ends the process there with the interrupted
    exit code, at once (os._exit): a SystemExit raised from the handler could land in a
    callback that Python runs mid-import, which prints it and goes on; nothing needs closing
    (the lock is an flock, and SQLite rolls back a transaction its process did not end).
    From hold() on (just before Scrapy starts building the run) a first signal is recorded
    for the run to see when it opens (crawler.runs.ArchiveRun), or handed to the runs
    listening, which alone decide; with no run listening, a second signal ends the process
    at once.
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        self._listeners: list[StopListener] = []

    def install(self) -> None:
        """Take SIGINT and SIGTERM (main thread only; again after anyone else took them), and
        receive any that came while a parent's `blocked_for_child` held them back."""
        for signum in STOPS:
            signal.signal(signum, self._handle)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)

    @staticmethod
    @contextlib.contextmanager
    def blocked_for_child() -> Iterator[None]:
        """Around starting a child that installs STOP_SIGNALS: the child begins with SIGINT
        and SIGTERM blocked (a thread's signal mask is inherited through fork and exec), so a
        stop forwarded while its interpreter starts waits, pending, for its `install` instead
        of meeting Python's default handling. Blocked in the calling thread only: the
        process's own stops go to its other threads or wait until the block ends."""
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    def uninstall(self) -> None:
        """Python's own behaviour again (commands other than a crawl)."""
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def hold(self) -> None:
        """From now on a signal is the run's to handle (crawler.run, before Scrapy starts)."""
        self.held = True

    def listen(self, listener: StopListener) -> None:
        if listener not in self._listeners:
            self._listeners.append(listener)
        self.held = True

    def forget(self, listener: StopListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    held = False

    def _handle(self, signum: int, _frame: object) -> None:
        self.received.append(signum)
        listeners = list(self._listeners)
        if not listeners:
            if len(self.received) > 1:
                os._exit(INTERRUPTED_EXIT)
            if not self.held:
                # os.write: the interrupted code may be writing to sys.stderr itself.
                os.write(2, b"tag-archiver: interrupted before the run began; nothing was done\n")
                os._exit(INTERRUPTED_EXIT)
        for listener in listeners:
            listener.signal_received(signum, len(self.received))


STOP_SIGNALS = StopSignals()
