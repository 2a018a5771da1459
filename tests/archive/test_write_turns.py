"""archive.write_turns: processes that write back to back take turns, none starved."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import time
from pathlib import Path

from archive.store import Store
from archive.write_turns import WriteTurns

TURNS = 40


def write_back_to_back(directory: str, log: str, start: float) -> None:
    """Ask for a turn again as soon as one ends, as a crawler with batches queued does; each
    turn appends this process's id to `log`."""
    turns = WriteTurns(directory)
    while time.time() < start:
        time.sleep(0.001)
    for _ in range(TURNS):
        with turns.turn():
            with open(log, "a") as handle:
                handle.write(f"{os.getpid()}\n")
            time.sleep(0.003)  # the transaction
    turns.close()


def test_two_writers_alternate(tmp_path):
    log = tmp_path / "log"
    start = time.time() + 1.0
    context = multiprocessing.get_context("spawn")
    writers = [
        context.Process(target=write_back_to_back, args=(str(tmp_path), str(log), start))
        for _ in range(2)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
        assert writer.exitcode == 0
    order = log.read_text().split()
    assert len(order) == 2 * TURNS
    # Once both are writing, neither writes twice while the other waits: turns alternate
    # (a run of two at most where one had not yet asked, or had already finished).
    longest, run = 1, 1
    for before, after in itertools.pairwise(order):
        run = run + 1 if after == before else 1
        longest = max(longest, run)
    assert longest <= 2, order


def test_a_turn_is_released_when_its_holder_dies(tmp_path):
    context = multiprocessing.get_context("spawn")
    holder = context.Process(target=_hold_forever, args=(str(tmp_path),))
    holder.start()
    time.sleep(1.0)
    holder.kill()
    holder.join(10)
    turns = WriteTurns(tmp_path)
    with turns.turn():  # would block for ever if the dead holder kept it
        pass
    turns.close()


def _hold_forever(directory: str) -> None:
    with WriteTurns(directory).turn():
        time.sleep(3600)


def test_a_store_writes_in_turns(tmp_path: Path):
    """A store given the directory takes its turn around each transaction: while another
    holds the turn, its write waits."""
    turns_dir = tmp_path / "turns"
    turns_dir.mkdir()
    store = Store(tmp_path / "a.db", site="http://a.test/", write_turns=turns_dir)
    other = WriteTurns(turns_dir)
    with other.turn():
        context = multiprocessing.get_context("spawn")
        writer = context.Process(target=_use_site, args=(str(tmp_path / "a.db"), str(turns_dir)))
        writer.start()
        writer.join(2.0)
        assert writer.is_alive()  # waiting for its turn
    writer.join(30)
    assert writer.exitcode == 0
    assert store.site_id_of("http://b.test/") is not None
    store.close()
    other.close()


def _use_site(db: str, turns_dir: str) -> None:
    Store(db, write_turns=turns_dir).use_site("http://b.test/")
