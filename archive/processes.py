"""The archive package's helper processes: extraction workers and the database writer.

Both come from one forkserver, not fork: the caller has threads (Twisted's, a reader
thread) that a forked child would inherit mid-operation. The server imports the extractor,
so a pool worker (restarted after a crash) starts without importing lxml again. The writer
starts once a run and imports the store itself: preloaded, sqlite-utils would weigh on the
server and on every worker for nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from multiprocessing.connection import wait
from multiprocessing.context import BaseContext

PRELOAD = ["archive.extract.workers"]


def forkserver_context() -> BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def ignore_stop_signals() -> None:
    """A Ctrl-C or a systemd stop reaches the whole process group; the crawler shuts down
    gracefully and still needs its helpers for the pages in flight, so they ignore it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def exit_with_caller() -> None:
    """End this helper when the process that started it dies (kill -9, the OOM killer).
    A pool worker waits on a queue whose writing end it holds itself, so it would never see
    the caller go, and, ignoring SIGTERM, it would outlive every later run."""
    caller = multiprocessing.parent_process()
    if caller is None:
        return

    def watch() -> None:
        wait([caller.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit with caller", daemon=True).start()


def start_worker() -> None:
    """Initializer of pool workers, which hold no state of their own."""
    ignore_stop_signals()
    exit_with_caller()
