"""StoreWriter: a Store in a process of its own, so storing runs beside the crawl.

In the crawler's process, storing took a third of its time (SQLite and the two FTS5
indexes), and that process, which also runs Scrapy and writes the WARC files, is what
limits a crawl. A writer thread did not help: the Python half of storing holds the GIL. In
a process of its own it runs on another core.

A call is a function of the Store (a Store method, or a module-level function taking the
store first), sent by reference with its arguments. Calls go down one pipe and run in the
order sent, one at a time, so a capture row sent before the articles that name it is
committed before them. Each call returns a concurrent.futures.Future of the function's
result; a StoreError raised there becomes the future's exception. A reader thread resolves
the futures. Sending blocks while the pipe is full: a writer that falls behind slows the
caller instead of filling its memory.

The writer ignores SIGINT and SIGTERM (archive.processes). If the caller dies, the writer
still carries out the calls it received, whose WARC records are already written, and exits.
If the writer dies, every pending and later call fails with StoreError.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any, TypeVar

from archive.errors import StoreError
from archive.processes import forkserver_context, ignore_stop_signals

logger = logging.getLogger(__name__)

# sqlite-utils imports pandas and numpy whenever they are installed, to convert their values.
# The writer stores only our own records; numpy alone added 11 MB to it, pandas adds more.
# Marked absent before the store is imported, their imports fail and sqlite-utils does without.
NOT_NEEDED_IN_THE_WRITER = ("numpy", "pandas")

_CLOSE = None  # the message that ends the writer, after everything sent before it
T = TypeVar("T")


class StoreWriter:
    def __init__(self, path: str | Path, *, durable: bool = False) -> None:
        """Starts the writer and opens the store there; StoreError if it cannot be opened."""
        context = forkserver_context()
        self._conn, child_end = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child_end, str(path), durable), name="tag-archiver store"
        )
        self._process.start()
        child_end.close()
        try:
            opened = self._conn.recv()
        except EOFError:
            opened = StoreError(f"the database writer for {path} exited before opening it")
        if isinstance(opened, Exception):
            self._process.join()
            self._conn.close()
            raise opened
        self._sequence = itertools.count()
        self._pending: dict[int, Future] = {}
        self._lock = threading.Lock()  # _pending and _broken, shared with the reader thread
        self._broken: StoreError | None = None
        self._closing = False
        self._reader = threading.Thread(
            target=self._read_replies, name="tag-archiver store replies", daemon=True
        )
        self._reader.start()

    def submit(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """function(store, *args, **kwargs) in the writer, after every earlier call.
        Called from one thread (the reactor's), so that the order sent is the order meant."""
        future: Future = Future()
        with self._lock:
            if self._closing:
                future.set_exception(StoreError("the database writer is closed"))
                return future
            if self._broken is not None:
                future.set_exception(self._broken)
                return future
            number = next(self._sequence)
            self._pending[number] = future  # before sending: the reply may come at once
        try:
            message = ForkingPickler.dumps((number, function, args, kwargs))
        except Exception as exc:  # a caller's bug (a lambda, an open file): this call only
            with self._lock:
                del self._pending[number]
            future.set_exception(exc)
            return future
        try:
            self._conn.send_bytes(message)
        except (OSError, ValueError) as exc:
            self._fail_pending(StoreError(f"the database writer exited ({exc})"))
        return future

    def close(self, timeout: float | None = None) -> bool:
        """Wait for every call sent so far, then end the writer. With a timeout, a writer
        still busy after it is killed (what it had not committed is lost, never half
        written: each call is one transaction). True when it ended by itself."""
        with self._lock:
            first = not self._closing
            self._closing = True
        if first:
            with contextlib.suppress(OSError):  # gone already: the reader failed what was pending
                self._conn.send(_CLOSE)
        self._process.join(timeout)
        ended = self._process.exitcode is not None
        if not ended:
            self.kill()
        self._reader.join(5)
        with contextlib.suppress(OSError):
            self._conn.close()
        return ended

    def kill(self) -> None:
        """End the writer now (a forced stop). Safe from any thread, also after close()."""
        if self._process.exitcode is None:
            with contextlib.suppress(OSError, ValueError):
                self._process.kill()
            self._process.join(5)

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def _read_replies(self) -> None:
        while True:
            try:
                number, ok, value = self._conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                future = self._pending.pop(number, None)
            if future is None:
                continue  # failed already: sending after it found the pipe broken
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        self._process.join(timeout=5)
        code = self._process.exitcode
        self._fail_pending(StoreError(f"the database writer exited (exit code {code})"))

    def _fail_pending(self, error: StoreError) -> None:
        with self._lock:
            self._broken = self._broken or error
            pending, self._pending = self._pending, {}
        for future in pending.values():
            future.set_exception(error)


def _serve(conn: Connection, path: str, durable: bool) -> None:
    """The writer process: open the store, then carry out calls until told to close or the
    caller's end of the pipe closes."""
    ignore_stop_signals()
    for name in NOT_NEEDED_IN_THE_WRITER:
        sys.modules.setdefault(name, None)
    from archive.store import Store  # imported here, after the line above: not at the top

    try:
        store = Store(path, durable=durable)
    except StoreError as exc:
        conn.send(exc)
        return
    conn.send(None)
    replying = True
    try:
        while True:
            try:
                message = conn.recv()
            except EOFError:
                break  # the caller died; what it sent before has been carried out
            if message is _CLOSE:
                break
            number, function, args, kwargs = message
            try:
                reply = (number, True, function(store, *args, **kwargs))
            except StoreError as exc:
                reply = (number, False, exc)
            except Exception as exc:  # a bug, not a database error: keep its name and text
                name = getattr(function, "__qualname__", repr(function))
                logger.exception("the database writer failed in %s", name)
                reply = (number, False, StoreError(f"{name}: {type(exc).__name__}: {exc}"))
            if replying:
                try:
                    conn.send(reply)
                except OSError:
                    replying = False  # the caller died: carry out what it sent, then stop
    finally:
        store.close()
