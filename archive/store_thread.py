"""StoreThread: the crawl's store on a thread of the crawling process.

Same contract as archive.writer.StoreWriter (named OPERATIONS, run one at a time in the order
sent, each call a concurrent.futures.Future), without a process boundary: what a crawl
stores is handed over as the Python objects it already is, never pickled. The thread keeps
SQLite's waits off the reactor: a write that waits for another crawler process's
transaction (busy_timeout) waits here, while the reactor goes on.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from archive.errors import StoreError
from archive.writer import OPERATIONS, Operations, UnknownOperation

# Calls sent and not yet carried out, at most: a writer that falls behind (waiting for
# another crawler process's transaction) slows the caller instead of filling its memory
# with batches of articles.
MAX_PENDING = 2


class StoreThread:
    def __init__(
        self,
        path: str | Path,
        *,
        durable: bool = False,
        site: str | None = None,
        write_turns: str | None = None,
    ) -> None:
        """Opens the store on the thread (writing `site`'s rows: Store.use_site; taking
        turns with other processes' stores through `write_turns`: archive.write_turns);
        StoreError if it cannot be opened."""
        self._pending = threading.BoundedSemaphore(MAX_PENDING)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="tag-archiver store")
        self._operations = Operations()
        self._store: Any = None
        self._lock = threading.Lock()
        self._closing = False
        self._broken: StoreError | None = None
        self._executor.submit(self._open, str(path), durable, site, write_turns).result()

    def _open(self, path: str, durable: bool, site: str | None, write_turns: str | None) -> None:
        from archive.store import Store  # the store imports this package's writer module

        self._store = Store(path, durable=durable, site=site, write_turns=write_turns)

    def submit(self, operation: str, *args: Any, **kwargs: Any) -> Future:
        """The operation named (OPERATIONS) run as f(store, *args, **kwargs) on the thread,
        after every earlier call. Blocks while MAX_PENDING calls wait. UnknownOperation, at
        once, for a name not in OPERATIONS."""
        if operation not in OPERATIONS:
            raise UnknownOperation(f"the database writer has no operation {operation!r}")
        self._pending.acquire()
        with self._lock:
            if self._closing or self._broken is not None:
                self._pending.release()
                future: Future = Future()
                future.set_exception(self._broken or StoreError("the database writer is closed"))
                return future
            future = self._executor.submit(self._run, operation, args, kwargs)
        future.add_done_callback(lambda _: self._pending.release())
        return future

    def _run(self, operation: str, args: tuple, kwargs: dict) -> Any:
        if self._broken is not None:
            raise self._broken
        try:
            return self._operations.run(self._store, operation, args, kwargs)
        except StoreError:
            raise
        except Exception as exc:  # a bug, not a database error: keep its name and text
            raise StoreError(f"{operation}: {type(exc).__name__}: {exc}") from exc

    def close(self, timeout: float | None = None) -> bool:
        """Wait for every call sent so far, then close the store. A thread cannot be killed:
        past `timeout`, the calls not yet begun are cancelled (each is one transaction, so
        nothing is half written) and False is returned."""
        with self._lock:
            self._closing = True
        try:
            closing = self._executor.submit(self._close_store)
        except RuntimeError:  # killed already: shut down
            return False
        done = threading.Event()
        closing.add_done_callback(lambda _: done.set())
        ended = done.wait(timeout)
        if not ended:
            self.kill()
        self._executor.shutdown(wait=ended, cancel_futures=not ended)
        return ended

    def _close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def kill(self) -> None:
        """A forced stop: calls not yet begun fail; the one running finishes its transaction."""
        with self._lock:
            self._broken = self._broken or StoreError("the database writer was stopped")
            self._closing = True
        self._executor.shutdown(wait=False, cancel_futures=True)

    @property
    def pid(self) -> None:
        """No process of its own."""
        return None
