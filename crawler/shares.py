"""CrawlShares: the run's other crawler processes, each walking a share of its tags.

On a fast site (--delay 0) a crawl is bound by CPU, and all of a page's work (Scrapy,
extraction, WARC writing, storing) runs in the process that fetched it: one process uses
one core. With TAG_ARCHIVER_CRAWLERS above 1, the process the CLI started, which owns the
run (lock, runs row, verdict: crawler.runs.ArchiveRun), starts the others and hands out the
tags in turn. A tag is walked whole by one process, so its pagination, its incremental stop
and its check for articles that left it work as in a single process. Every process writes
WARC files of its own and stores into the same database: SQLite takes one write
transaction at a time, the processes take turns at it in the order they ask
(archive.write_turns), and a process waits for its turn on its writer thread
(archive.store_thread), not on its reactor. Capture ids are interleaved (process k of N
numbers base + k, base + k + N, ...), so no process waits for another to number a row.

Politeness stays the site's, whatever the number of processes (plan()): the concurrency
allowed per site is divided between them, and a crawl with a delay or AutoThrottle, whose
timing is per process, gets one process.

The protocol with a child (crawler.share): `python -m crawler.share CONFIG`, CONFIG a JSON
object (the crawl's options, the shared files, the file for its result). The children are
started with the first process's Scrapy, before its run is open, so that their start-up
(imports, most of a second) overlaps the first's instead of delaying the second core's work.
The first line on a child's stdin names the run it adds to and its first capture id and
stride; tags follow as JSON lines, and the end of stdin means no more. A child whose stdin
ends before that first line (the run never began) exits 0 and reports nothing. Otherwise it
writes its stats and verdict to the result file and exits with its verdict's code.
Children run in a session of their own, so a terminal's Ctrl-C, sent to the foreground
process group, reaches them once: forwarded by this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings
from twisted.internet import defer

from archive.extract.urls import canonical_url
from crawler.stop import STOP_SIGNALS

logger = logging.getLogger(__name__)

# The limits the processes share (divided()).
LIMITS = ("CONCURRENT_REQUESTS_PER_DOMAIN", "CONCURRENT_REQUESTS")
# Counters a child reports that are not summed into the run's: they describe one process.
NOT_SUMMED = ("tag_archiver/run_id", "memusage/", "elapsed_time_seconds", "log_count/")


def plan(settings: BaseSettings, tags: int | None) -> int:
    """How many crawler processes a crawl gets: TAG_ARCHIVER_CRAWLERS (0: one per core),
    never more than the tags named (None: discovered, any number), than the requests the site
    may have in flight at once, or than one for a crawl with a delay or AutoThrottle."""
    requested = settings.getint("TAG_ARCHIVER_CRAWLERS")
    count = requested if requested > 0 else (os.cpu_count() or 1)
    if settings.getfloat("DOWNLOAD_DELAY") > 0 or settings.getbool("AUTOTHROTTLE_ENABLED"):
        if requested > 1:
            logger.info(
                "one crawler process: a crawl with a delay (or AutoThrottle) keeps its timing "
                "per process, and several would multiply what the site gets"
            )
        return 1
    if tags is not None:
        count = min(count, tags)
    return max(1, min(count, settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")))


def divided(settings: BaseSettings, count: int) -> dict[str, int]:
    """Each process's share of the concurrency limits, so that together they never exceed
    what one process would be allowed."""
    return {name: max(1, settings.getint(name) // count) for name in LIMITS}


@dataclass
class ShareResult:
    """What a child reported: its stats and its verdict; or why it reported nothing."""

    index: int
    exit_code: int
    stats: dict[str, Any] = field(default_factory=dict)
    status: str | None = None
    message: str | None = None


class _Child:
    """One child process, its tag queue (written by a thread: a pipe may be full) and the
    Deferred of its result."""

    def __init__(self, index: int, config: dict[str, Any], result_path: Path) -> None:
        self.index = index
        self.result_path = result_path
        with STOP_SIGNALS.blocked_for_child():
            self.process = subprocess.Popen(
                [sys.executable, "-m", "crawler.share", json.dumps(config)],
                stdin=subprocess.PIPE,
                start_new_session=True,
            )
        self.tags: queue.Queue[str | None] = queue.Queue()
        self.ended: defer.Deferred[ShareResult] = defer.Deferred()
        threading.Thread(target=self._feed, name=f"crawler {index} tags", daemon=True).start()
        threading.Thread(target=self._wait, name=f"crawler {index} exit", daemon=True).start()

    def begin(self, run: dict[str, Any]) -> None:
        """The run it adds to: the first line it reads."""
        self.tags.put(json.dumps(run))

    def send(self, url: str, tag: str, named: bool) -> None:
        self.tags.put(json.dumps({"url": url, "tag": tag, "named": named}))

    def no_more(self) -> None:
        self.tags.put(None)

    def _feed(self) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        with contextlib.suppress(OSError):  # the child died: its exit code says so
            while (line := self.tags.get()) is not None:
                stdin.write(line.encode() + b"\n")
                stdin.flush()
        with contextlib.suppress(OSError):
            stdin.close()

    def _wait(self) -> None:
        from twisted.internet import reactor  # installed by Scrapy: never import it first

        code = self.process.wait()
        reactor.callFromThread(self.ended.callback, self._result(code))

    def _result(self, code: int) -> ShareResult:
        try:
            reported = json.loads(self.result_path.read_text())
        except (OSError, ValueError):
            message = f"crawler process {self.index} ended without a result (exit code {code})"
            return ShareResult(self.index, code, status="failed", message=message)
        return ShareResult(
            self.index,
            code,
            reported.get("stats", {}),
            reported.get("status"),
            reported.get("message"),
        )

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.send_signal(signum)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)


class SharedClaims:
    """The pages one of the run's crawler processes has asked for, so that a page several
    of them find (an article listed under tags walked by different processes) is fetched
    once: a SQLite file of their own, outside the database, written in tiny transactions."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, timeout=60)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = OFF")  # scratch: gone with the run
        self.db.execute("CREATE TABLE IF NOT EXISTS claims (url TEXT PRIMARY KEY) WITHOUT ROWID")

    @property
    def finished(self) -> bool:
        """No more tags are handed out: the run's end has begun."""
        return self._finishing is not None

    def claim(self, url: str) -> bool:
        """True for the first process to claim `url` (its canonical form), False after."""
        cursor = self.db.execute("INSERT OR IGNORE INTO claims VALUES (?)", [canonical_url(url)])
        return cursor.rowcount == 1

    def close(self) -> None:
        self.db.close()


class CrawlShares:
    """In the run's first process: starts the others, hands out the tags, gathers their
    results. In every process of the run: claim() for pages more than one may find."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        member = settings.getdict("TAG_ARCHIVER_SHARE")
        self.count = settings.getint("TAG_ARCHIVER_CRAWLERS")
        self.options = settings.getdict("TAG_ARCHIVER_CRAWL_OPTIONS")
        if not member and (self.count <= 1 or not self.options):
            raise NotConfigured  # one process: nothing to say on every ordinary run
        self.crawler = crawler
        self._tmp: tempfile.TemporaryDirectory | None = None
        if member:
            self.claims_path, self.ledger_path = member["claims"], member["ledger"]
            self.write_turns_dir = member["write_turns"]
        else:  # the run's scratch files, shared by its processes, gone with it
            self._tmp = tempfile.TemporaryDirectory(prefix="tag-archiver-crawlers-")
            self.claims_path = str(Path(self._tmp.name) / "claims.sqlite")
            self.ledger_path = str(Path(self._tmp.name) / "ledger.sqlite")
            self.write_turns_dir = self._tmp.name
        self.claims: SharedClaims | None = SharedClaims(self.claims_path)
        self.children: list[_Child] = []
        self.begun = False
        self.handed_out = 0
        self.results: list[ShareResult] = []
        self._finishing: asyncio.Future | None = None
        if not member:
            self._start_children()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlShares:
        return cls(crawler)

    def _start_children(self) -> None:
        """Processes 1..count-1 (this one is process 0), each with the concurrency limits
        this one got (plan(), divided()); they wait for start() to name the run."""
        assert self._tmp is not None
        settings = self.crawler.settings
        prefix = settings.get("TAG_ARCHIVER_WARC_PREFIX")
        per_process = {name: settings.getint(name) for name in LIMITS}
        for index in range(1, self.count):
            result_path = Path(self._tmp.name) / f"crawler-{index}.json"
            extra = {
                **self.options.get("extra_settings", {}),
                **per_process,
                "TAG_ARCHIVER_LOCK_HELD": True,
                "TAG_ARCHIVER_CRAWLERS": 1,
                "TAG_ARCHIVER_WARC_PREFIX": f"{prefix}-{index}",
            }
            config = {
                "options": {**self.options, "extra_settings": extra},
                "claims": self.claims_path,
                "ledger": self.ledger_path,
                "write_turns": self.write_turns_dir,
                "result": str(result_path),
            }
            self.children.append(_Child(index, config, result_path))
        logger.info(
            "crawling in %d processes (TAG_ARCHIVER_CRAWLERS); the others: pids %s",
            self.count,
            " ".join(str(child.process.pid) for child in self.children),
        )

    def start(self, run_id: int, first_capture_id: int) -> None:
        """The other processes add to run `run_id`; process k of N numbers its captures
        first_capture_id + k, + k + N, ..."""
        self.begun = True
        for child in self.children:
            child.begin(
                {"run_id": run_id, "capture_ids": [first_capture_id + child.index, self.count]}
            )

    @property
    def finished(self) -> bool:
        """No more tags are handed out: the run's end has begun."""
        return self._finishing is not None

    def claim(self, url: str) -> bool:
        """Whether this process is the run's first to ask for `url` (and so asks for it)."""
        return self.claims is None or self.claims.claim(url)

    def take(self, url: str, tag: str, named: bool) -> bool:
        """Whether another process walks this tag (handed to it now); False: this one does.
        Tags go round the processes in the order they come."""
        index = self.handed_out % self.count
        self.handed_out += 1
        if index == 0 or not self.children or self.finished:  # or a process that is not first
            return False
        self.children[index - 1].send(url, tag, named)
        return True

    async def finish(self) -> list[ShareResult]:
        """No more tags: every child's result, once all have ended; their stats are added to
        this process's (counters summed, WARC files listed). Any number of callers wait for
        the one ending."""
        if self._finishing is None:
            self._finishing = asyncio.ensure_future(self._finish())
        return await self._finishing

    async def _finish(self) -> list[ShareResult]:
        from scrapy.utils.defer import maybe_deferred_to_future

        for child in self.children:
            child.no_more()
        for child in self.children:
            result = await maybe_deferred_to_future(child.ended)
            if self.begun:  # before, a child has no run to report on
                self.results.append(result)
                self._add_stats(result.stats)
        self.close()
        return self.results

    def close(self) -> None:
        if self.claims is not None:
            self.claims.close()
            self.claims = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _add_stats(self, stats: dict[str, Any]) -> None:
        own = self.crawler.stats
        for key, value in stats.items():
            if key.startswith(NOT_SUMMED):
                continue
            if isinstance(value, int) and not isinstance(value, bool):
                own.inc_value(key, value)

    def warc_files(self) -> list[str]:
        return [f for r in self.results for f in r.stats.get("warc/files", [])]

    def failures(self) -> list[str]:
        """Each child's reason for failing, as it gave it (the run's reason, whichever
        process found it)."""
        return [r.message for r in self.results if r.status == "failed" and r.message]

    def interrupted(self) -> bool:
        return any(r.status == "interrupted" for r in self.results)

    def signal(self, signum: int) -> None:
        """Forward a stop signal (each child counts its own: once forwarded, once seen)."""
        for child in self.children:
            child.signal(signum)

    def kill(self) -> None:
        for child in self.children:
            child.kill()

    def pids(self) -> list[int]:
        return [c.process.pid for c in self.children if c.process.poll() is None]


async def tags_from_first_process() -> AsyncIterator[tuple[str, str, bool]]:
    """In a child: (url, tag, named) of each tag the run's first process hands it, as they
    come (stdin, JSON lines), until the first process says there are no more (end of stdin)."""
    from scrapy.utils.defer import maybe_deferred_to_future
    from twisted.internet.threads import deferToThread

    while line := await maybe_deferred_to_future(deferToThread(sys.stdin.buffer.readline)):
        entry = json.loads(line)
        yield entry["url"], entry["tag"], bool(entry["named"])
