"""WriteTurns: processes that write one SQLite database take turns, in the order they ask.

SQLite gives its write lock to whichever connection asks at the right moment: a waiting
connection sleeps in its busy handler (up to 100 ms at a time) and looks again, while the
holder, its next transaction ready, takes the lock again as soon as it commits. Two crawler
processes writing batches back to back so starve each other for seconds at a time, each in
turn idle. Turns are two lock files (flock): a waiter blocks in the kernel and is woken when
the lock is released, and the turnstile makes a writer that wants another turn queue behind
the one already waiting.

Every process that writes with turns must use the same directory; writers without turns
(a researcher's script) still get SQLite's own waiting.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WriteTurns:
    def __init__(self, directory: str | Path) -> None:
        """Opens (creating) the lock files `turnstile` and `writer` in `directory`."""
        directory = Path(directory)
        self._turnstile = os.open(directory / "turnstile", os.O_RDWR | os.O_CREAT, 0o600)
        self._writer = os.open(directory / "writer", os.O_RDWR | os.O_CREAT, 0o600)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """This process's turn to write, waited for: the process that asked before it writes
        first, and one that asks while this writes waits for it. The locks are the open file
        descriptions': a process that dies holding one loses it."""
        # Holding the turnstile while waiting for the writer lock: whoever comes next (the
        # writer that has just finished, asking again) waits at the turnstile, behind us.
        fcntl.flock(self._turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(self._writer, fcntl.LOCK_EX)
        finally:
            fcntl.flock(self._turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(self._writer, fcntl.LOCK_UN)

    def close(self) -> None:
        for fd in (self._turnstile, self._writer):
            os.close(fd)
