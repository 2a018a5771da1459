"""Chaos: crawls of one database, each sent SIGTERM, SIGINT or SIGKILL at a random moment.

Every run must end within the bound and leave no process behind; after each, the database
is whole (integrity_check, foreign_key_check), every captures row points at a whole WARC
record, and no article stored before is gone. The moments are drawn from a seeded random
generator: the seed is printed, and TA_CHAOS_SEED=N replays a failing sequence
(TA_CHAOS_RUNS=N for more or fewer runs).
"""

from __future__ import annotations

import gzip
import os
import random
import signal
import time
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from crawler.snapshot import serve_snapshot
from tests.helpers import (
    BOUND,
    FIXTURES,
    INTERRUPTED,
    OK,
    Crawl,
    Ended,
    check_database,
    rows,
)

RUNS = int(os.environ.get("TA_CHAOS_RUNS", "30"))
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGKILL)


def whole_record(warc_dir: Path, name: str, offset: int, record_id: str) -> bool:
    """The record at `offset` reads to its end, with the id its row names. A file a killed
    run left open is read under its .open name: the row was committed after the flush."""
    path = warc_dir / name
    if not path.exists():
        path = warc_dir / f"{name}.open"
    with open(path, "rb") as handle:
        handle.seek(offset)
        record = next(iter(ArchiveIterator(handle)))
        record.content_stream().read()
        return record.rec_headers.get_header("WARC-Record-ID") == record_id


def check_captures(db: Path) -> None:
    warc_dir = db.with_name(f"{db.stem}-warc")
    captures = rows(db, "SELECT warc_file, warc_offset, warc_record_id FROM captures")
    for name, offset, record_id in captures:
        assert whole_record(warc_dir, name, offset, record_id), (name, offset)


def python_alone(ended: Ended, signum: int, new_run: str | None) -> bool:
    """A signal in the interpreter's first or last milliseconds, where only Python's own
    handling exists: during its startup, before crawler.__main__ takes the signals (death
    by the signal, or a KeyboardInterrupt in `site`: exit 1), with no run begun; or during
    its finalization, after the run had ended (death by the signal)."""
    if new_run is None:
        return ended.returncode == -signum or (
            ended.returncode == 1 and "tag-archiver" not in ended.stderr + ended.stdout
        )
    return ended.returncode == -signum and new_run in ("finished", "failed")


def test_random_stops_never_lose_or_corrupt_anything(tmp_path):
    seed = int(os.environ.get("TA_CHAOS_SEED", time.time_ns() % 1_000_000))
    print(f"chaos seed: {seed} (TA_CHAOS_SEED={seed} replays it)")
    chance = random.Random(seed)
    db = tmp_path / "a.db"
    stored: set[str] = set()
    outcomes = []
    with serve_snapshot(FIXTURES / "block") as server:
        # A clean first run: how long a run takes, so signals fall anywhere in it.
        first = Crawl(server.origin, "--all-tags", "--db", str(db), "--delay", "0").end()
        assert first.returncode == OK, first.stderr[-2000:]
        span = first.seconds * 1.2
        stored = {url for (url,) in rows(db, "SELECT url FROM articles")}
        last_run = rows(db, "SELECT max(id) FROM runs")[0][0]
        for number in range(RUNS):
            signum, moment = chance.choice(SIGNALS), chance.uniform(0, span)
            # Each run is a full one (--full), so there is work to interrupt every time.
            crawl = Crawl(server.origin, "--all-tags", "--db", str(db), "--delay", "0", "--full")
            time.sleep(max(0.0, moment - (time.monotonic() - crawl.started)))
            since = crawl.signal(signum)
            ended = crawl.end(since, bound=BOUND)
            what = f"run {number}: {signum.name} at {moment:.2f} s, exit {ended.returncode}"
            outcomes.append(what)
            assert ended.left == [], what
            assert ended.seconds < BOUND, what
            new_run = rows(db, "SELECT max(id), status FROM runs WHERE id > ?", last_run)[0]
            if signum == signal.SIGKILL:
                assert ended.returncode in (-signal.SIGKILL, OK), what + ended.stderr[-2000:]
            elif not python_alone(ended, signum, new_run[1] if new_run[0] else None):
                # Interrupted, or done before the signal came (it then came at its exit).
                assert ended.returncode in (INTERRUPTED, OK), what + ended.stderr[-2000:]
                assert "Traceback" not in ended.stderr, what + ended.stderr[-3000:]
            last_run = new_run[0] or last_run
            if db.exists():
                check_database(db)
                check_captures(db)
                now = {url for (url,) in rows(db, "SELECT url FROM articles")}
                assert stored <= now, what  # nothing stored before is gone
                stored = now
        last = Crawl(server.origin, "--all-tags", "--db", str(db), "--delay", "0").end()
    print("\n".join(outcomes))
    assert last.returncode == OK, last.stderr[-2000:]
    assert rows(db, "SELECT count(*) FROM articles") == [(16,)]
    assert rows(db, "SELECT status FROM runs ORDER BY id DESC LIMIT 1") == [("finished",)]
    assert rows(db, "SELECT count(*) FROM runs WHERE status = 'running'") == [(0,)]
    warc_dir = db.with_name(f"{db.stem}-warc")
    assert not list(warc_dir.glob("*.open"))  # the next run repaired what a kill left open
    for path in warc_dir.glob("*.warc.gz"):
        with gzip.open(path) as handle:  # every member whole: a cut one raises EOFError
            while handle.read(1 << 16):
                pass
    check_database(db)
    check_captures(db)
