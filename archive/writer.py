"""StoreWriter: a Store in a process of its own, so storing runs beside the crawl.

In the crawler's process, storing took a third of its time (SQLite and the two FTS5
indexes), and that process, which also runs Scrapy and writes the WARC files, is what
limits a crawl. A writer thread did not help: the Python half of storing holds the GIL. In
a process of its own it runs on another core.

A call names one of a fixed set of operations (OPERATIONS) and sends its arguments; the
writer runs what the name stands for, with the store first. Nothing else can be run there:
the process that owns the database carries out only what this module lists, and a name it
does not list is refused before anything is sent. Calls go down one pipe and run in the
order sent, one at a time, so a capture row sent before the articles that name it is
committed before them. Each call returns a concurrent.futures.Future of the operation's
result; a StoreError raised there becomes the future's exception. A reader thread resolves
the futures. Sending blocks while the pipe is full: a writer that falls behind slows the
caller instead of filling its memory.

The writer ignores SIGINT and SIGTERM (archive.processes). If the caller dies, the writer
still carries out the calls it received, whose WARC records are already written, and exits.
If the writer dies, every pending and later call fails with StoreError.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any

from archive.errors import StoreError
from archive.lean_sqlite_utils import import_sqlite_utils_without_numpy
from archive.processes import forkserver_context, ignore_stop_signals

logger = logging.getLogger(__name__)

_CLOSE = None  # the message that ends the writer, after everything sent before it

# What the writer can be asked to do: name -> "module:attribute" of a function taking the
# store first (a Store method, or a module-level function). Spelled as text, imported in the
# writer on first use: these modules import this one, and the writer imports only what the
# caller uses (re-extraction's module is never loaded by a crawl's writer).
OPERATIONS: dict[str, str] = {
    "next_capture_id": "archive.store:Store.next_capture_id",
    "add_capture": "archive.store:Store.add_capture",
    "add_captures": "archive.store:Store.add_captures",
    "mark_gone": "archive.store:Store.mark_gone",
    "save_observed": "archive.run_ledger:save_observed",
    "unlisted_under": "archive.run_ledger:unlisted_under",
    "share_ledger": "archive.run_ledger:share_ledger",
    "save_findings": "archive.verify:save_findings",
    "store_reextracted": "archive.reextract:store_reextracted",
}


class UnknownOperation(ValueError):
    """A name OPERATIONS does not list: a caller's bug, refused before anything is sent."""


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

    def submit(self, operation: str, *args: Any, **kwargs: Any) -> Future:
        """The operation named (OPERATIONS) run as f(store, *args, **kwargs) in the writer,
        after every earlier call. Called from one thread (the reactor's), so that the order
        sent is the order meant. UnknownOperation, at once, for a name not in OPERATIONS."""
        if operation not in OPERATIONS:
            raise UnknownOperation(f"the database writer has no operation {operation!r}")
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
            message = ForkingPickler.dumps((number, operation, args, kwargs))
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
    import_sqlite_utils_without_numpy()
    from archive.store import Store  # imported here, after the line above: not at the top

    try:
        store = Store(path, durable=durable)
    except StoreError as exc:
        conn.send(exc)
        return
    conn.send(None)
    operations = Operations()
    replying = True
    try:
        while True:
            try:
                message = conn.recv()
            except EOFError:
                break  # the caller died; what it sent before has been carried out
            if message is _CLOSE:
                break
            number, operation, args, kwargs = message
            try:
                reply = (number, True, operations.run(store, operation, args, kwargs))
            except StoreError as exc:
                reply = (number, False, exc)
            except Exception as exc:  # a bug, not a database error: keep its name and text
                logger.exception("the database writer failed in %s", operation)
                error = StoreError(f"{operation}: {type(exc).__name__}: {exc}")
                reply = (number, False, error)
            if replying:
                try:
                    conn.send(reply)
                except OSError:
                    replying = False  # the caller died: carry out what it sent, then stop
    finally:
        store.close()


class Operations:
    """In the writer: OPERATIONS' functions, each imported when first asked for."""

    def __init__(self) -> None:
        self._functions: dict[str, Callable[..., Any]] = {}

    def run(self, store: Any, name: str, args: tuple, kwargs: dict) -> Any:
        function = self._functions.get(name)
        if function is None:
            if name not in OPERATIONS:  # the caller checks too; this process trusts no one
                raise StoreError(f"the database writer has no operation {name!r}")
            module, _, path = OPERATIONS[name].partition(":")
            function = importlib.import_module(module)
            for attribute in path.split("."):
                function = getattr(function, attribute)
            self._functions[name] = function
        return function(store, *args, **kwargs)
