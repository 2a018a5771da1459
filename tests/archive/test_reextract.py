"""Re-extraction from WARC files: reader-extractor processes by file store exactly what one
process reading the files in turn stores; a reader that dies costs at most the record it was
extracting; readers ignore the stop signals, die with their caller, and leave no spool."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.errors import ArchiveError
from archive.extract.workers import WarcExtractors, read_warc_file
from archive.reextract import reextract, reextract_workers, store_reextracted
from archive.store import Store
from crawler.snapshot import SNAPSHOT_ORIGIN
from tests.helpers import ROOT, dump, html_pages
from tests.processes import session_members, wait_for_session_end

PAGES = [
    (SNAPSHOT_ORIGIN + path, headers, body)
    for theme in ("block", "classic")
    for path, headers, body in html_pages(theme)
]


def write_warc(path: Path, pages, *, odd: bool = False) -> Path:
    """Response records of `pages`; with `odd`, also the records re-extraction stores
    without extracting, or counts as unreadable."""
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True, warc_version="1.1")

        def response(url, headers, body, status="200 OK", **warc_headers):
            http = StatusAndHeaders(status, list(headers.items()), protocol="HTTP/1.1")
            record = writer.create_warc_record(
                url, "response", payload=BytesIO(body), http_headers=http,
                warc_headers_dict=warc_headers,
            )  # fmt: skip
            writer.write_record(record)
            record.raw_stream.close()  # warcio's spooled copy of the payload

        html = {"Content-Type": "text/html; charset=UTF-8"}
        if odd:
            response(SNAPSHOT_ORIGIN + "/robots.txt", {"Content-Type": "text/plain"}, b"")
            response(SNAPSHOT_ORIGIN + "/gone/", html, b"<p>no</p>", status="404 Not Found")
            response(SNAPSHOT_ORIGIN + "/binary/", html, b"\x00\x01" * 600)
            response(SNAPSHOT_ORIGIN + "/cut/", html, PAGES[1][2], **{"WARC-Truncated": "length"})
            response(SNAPSHOT_ORIGIN + "/undated/", html, PAGES[1][2], **{"WARC-Date": "soon"})
        for url, headers, body in pages:
            response(url, headers, body)
    return path


@pytest.fixture(scope="module")
def warc_files(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("warcs")
    third = len(PAGES) // 3
    return [
        write_warc(folder / "a-00001.warc.gz", PAGES[:third], odd=True),
        write_warc(folder / "a-00002.warc.gz", PAGES[third : 2 * third]),
        write_warc(folder / "a-00003.warc.gz", PAGES[2 * third :] + PAGES[:4]),  # seen again
    ]


def in_order(paths: list[Path]) -> list:
    return [record for path in paths for record in read_warc_file(path)]


def search(db: Path) -> list:
    conn = sqlite3.connect(db)
    try:
        return [
            conn.execute(
                f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY rank, rowid", [word]
            ).fetchall()
            for table in ("articles_fts", "sections_fts")
            for word in ("scaling", "agents", "model*", "the")
        ]
    finally:
        conn.close()


@pytest.mark.parametrize("processes", [1, 2, 3])
def test_reader_processes_store_what_one_process_stores(warc_files, tmp_path, processes):
    alone, spread = tmp_path / "alone.db", tmp_path / "spread.db"
    counts = reextract(warc_files, alone, workers=0)
    assert reextract(list(reversed(warc_files)), spread, workers=processes) == counts
    assert dump(spread, ignore=()) == dump(alone, ignore=())
    assert search(spread) == search(alone)
    assert counts["unreadable/binary"] == counts["unreadable/warc-date"] == 1
    assert counts["responses"] == len(PAGES) + 4 + 5
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".reextract")] == []


def test_records_stored_together_give_the_rows_of_records_stored_one_by_one(warc_files, tmp_path):
    records = in_order(warc_files)
    assert len({r.fetched_at for r in records}) < len(records) // 2  # batches of a second
    with Store(tmp_path / "together.db") as store:
        assert store_reextracted(store, records) == len(records)
    with Store(tmp_path / "one-by-one.db") as store:
        for record in records:
            store_reextracted(store, [record])
    assert dump(tmp_path / "together.db", ignore=()) == dump(tmp_path / "one-by-one.db", ignore=())
    assert search(tmp_path / "together.db") == search(tmp_path / "one-by-one.db")


def test_records_come_back_in_the_order_of_the_files(warc_files, tmp_path):
    with WarcExtractors(warc_files, 2, tmp_path) as extractors:
        assert list(extractors.records()) == in_order(warc_files)
    assert list(tmp_path.iterdir()) == []  # no spool left


def test_a_reader_that_dies_costs_at_most_the_record_it_was_extracting(warc_files, tmp_path):
    expected = in_order(warc_files)
    with WarcExtractors(warc_files, 2, tmp_path) as extractors:
        records = extractors.records()
        got = [next(records)]
        busy = [r for r in extractors._readers if r.file is not None]
        assert busy
        for reader in busy:  # as the OOM killer would
            os.kill(reader.process.pid, signal.SIGKILL)
        got.extend(records)
    assert [r.location for r in got] == [r.location for r in expected]
    crashed = [n for n, r in enumerate(got) if r.unreadable == "crashed"]
    assert len(crashed) <= len(busy)
    for n in crashed:
        assert got[n] == expected[n]._replace(
            kind=None, articles=(), unreadable="crashed", problem=got[n].problem
        )
    assert [r for n, r in enumerate(got) if n not in crashed] == [
        r for n, r in enumerate(expected) if n not in crashed
    ]


def test_readers_ignore_the_stop_signals(warc_files, tmp_path):
    with WarcExtractors(warc_files, 2, tmp_path) as extractors:
        records = extractors.records()
        got = [next(records)]
        # Readers that have spooled a record are set up (a signal in their first moments,
        # before they say they ignore it, is a death like any other).
        readers = [r for r in extractors._readers if r.spooled]
        assert readers
        for reader in readers:
            os.kill(reader.process.pid, signal.SIGINT)
            os.kill(reader.process.pid, signal.SIGTERM)
        got.extend(records)
        assert all(r.process.is_alive() for r in readers)
        assert all(r in extractors._readers for r in readers)  # none replaced
    assert got == in_order(warc_files)


@pytest.mark.parametrize("processes", [0, 2])
def test_a_damaged_file_stops_the_run_and_says_which(warc_files, tmp_path, processes, caplog):
    damaged = tmp_path / "warcs" / "b-00002.warc.gz"
    damaged.parent.mkdir()
    whole = warc_files[1].read_bytes()
    cut = list(read_warc_file(warc_files[1]))[3].location.offset
    damaged.write_bytes(whole[:cut] + b"not a record" * 50 + whole[cut:])
    db = tmp_path / "db" / "a.db"
    db.parent.mkdir()
    with pytest.raises(ArchiveError, match=r"reading b-00002\.warc\.gz failed: ArchiveLoadFailed"):
        reextract([warc_files[0], damaged, warc_files[2]], db, workers=processes)
    assert "Traceback" in caplog.text  # the whole story, in the log
    assert [p.name for p in db.parent.iterdir()] == ["a.db"]  # no spool left


def test_one_core_is_read_in_process_and_one_file_by_one_reader(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert reextract_workers(8) == 0
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert reextract_workers(1) == 1
    assert reextract_workers(8) == 2
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert reextract_workers(3) == 3


CALLER = """
import sys
from pathlib import Path
from archive.extract.workers import WarcExtractors

if __name__ == "__main__":
    extractors = WarcExtractors([Path(p) for p in sys.argv[2:]], 2, Path(sys.argv[1]))
    records = extractors.records()
    next(records)
    print("reading", flush=True)
    sys.stdin.read()
"""


def test_killing_the_caller_ends_its_readers(warc_files, tmp_path):
    script = tmp_path / "caller.py"
    script.write_text(CALLER)
    with subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), *map(str, warc_files)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    ) as caller:  # fmt: skip
        try:
            assert caller.stdout.readline() == "reading\n"
            assert len(session_members(caller.pid)) >= 4  # + forkserver, 2 readers
            caller.kill()
            caller.wait(timeout=10)
            assert wait_for_session_end(caller.pid) == []
        finally:
            for pid in session_members(caller.pid):
                os.kill(pid, signal.SIGKILL)
