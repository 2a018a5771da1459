"""extract_page in worker processes, so extraction runs beside the crawl, not in turn with it.

Extraction is CPU-bound Python. Run in the crawler's own process it holds the GIL, and
networking, WARC writing and SQLite wait for it; in worker processes it uses the machine's
other cores. The result is the same Page: extract_page is a pure function, and a Page
pickles whole. `workers=0` extracts in the calling process (no pool at all).

Workers ignore SIGINT and SIGTERM, and exit when the caller dies (archive.processes).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from archive.errors import ExtractionError
from archive.extract.page import extract_page
from archive.processes import forkserver_context, start_worker


def default_workers() -> int:
    """One core is the caller's (the reactor, or the WARC reader and SQLite); the rest
    extract. On one core, extraction stays in process."""
    return max(0, (os.cpu_count() or 1) - 1)


class ExtractionWorkers:
    """The pool starts with the first page sent, and never again once closed: a page sent
    after close() (a stop that came while pages were in flight) is extracted in the calling
    process, so no worker can be started that nobody would stop."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else max(0, workers)
        self._pool: ProcessPoolExecutor | None = None
        self.closed = False

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=forkserver_context(), initializer=start_worker
            )
        return self._pool

    def submit(self, url: str, headers: Mapping[str, str] | None, body: bytes) -> Future:
        """A Future of the Page; its exception is the ExtractionError extract_page raised."""
        if self.workers == 0 or self.closed:
            future: Future = Future()
            try:
                future.set_result(extract_page(url, headers, body))
            except ExtractionError as exc:
                future.set_exception(exc)
            return future
        try:
            return self._executor().submit(extract_page, url, headers, body)
        except BrokenProcessPool:
            self._restart()
            return self._executor().submit(extract_page, url, headers, body)

    def crashed(self, exc: BrokenProcessPool) -> ExtractionError:
        """A worker died (a crash in lxml, the OOM killer): the page is unreadable, the pool
        is replaced, and the crawl goes on."""
        self._restart()
        return ExtractionError("crashed", f"the extraction worker died: {exc}")

    def _restart(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        """Wait for the pages sent to be extracted, then end the workers."""
        self.closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def kill(self) -> None:
        """End the workers now (a forced stop); their pages are not extracted."""
        self.closed = True
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # ProcessPoolExecutor has no public way to end its workers at once; they ignore
        # SIGTERM (archive.processes), so they are killed, and the pool is then broken.
        for process in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(OSError, ValueError):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def pids(self) -> list[int]:
        pool = self._pool
        return [p.pid for p in getattr(pool, "_processes", {}).values()] if pool else []
