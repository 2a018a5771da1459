"""WARC capture end to end: real crawls over loopback, checked with warcio, cdxj-indexer, pywb."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import zlib
from contextlib import contextmanager
from pathlib import Path

import pytest

from archive.extract import EXTRACTOR_VERSION
from tests.archive_view import articles_view
from tests.crawler.hostile_site import hostile_site
from tests.helpers import (
    BIN,
    PYWB_BIN,
    ROOT,
    check_provenance,
    check_warc_file,
    crawl,
    record_at,
    run_cli,
    warcs,
)
from tests.processes import wait_for_session_end


def test_every_exchange_is_archived_valid_and_linked(theme_site, tmp_path):
    _, server = theme_site
    db = tmp_path / "a.db"
    result = crawl(server.origin, db, "--all-tags", "--tag", "no-such-tag-xyz")
    assert result.returncode == 1  # the unknown tag: its two 404s are archived all the same
    files = warcs(db)
    assert files
    for path in files:
        check_warc_file(path)
    conn = check_provenance(db)
    statuses = dict(conn.execute("SELECT url, status FROM captures"))
    assert statuses[f"{server.origin}/robots.txt"] == 200
    assert statuses[f"{server.origin}/wp-sitemap.xml"] == 200
    assert statuses[f"{server.origin}/tag/no-such-tag-xyz/"] == 404
    # every article row points at its own page's capture
    assert (
        conn.execute(
            "SELECT count(*) FROM articles a JOIN captures c ON c.id = a.capture_id WHERE c.url != a.url"
        ).fetchone()[0]
        == 0
    )
    # cdxj-indexer indexes every response the crawl recorded
    index = subprocess.run(
        [BIN / "cdxj-indexer", *map(str, files)], capture_output=True, text=True, check=True
    )
    indexed = [json.loads(line.split(" ", 2)[2]) for line in index.stdout.splitlines()]
    responses = conn.execute("SELECT count(*) FROM captures").fetchone()[0]
    assert sum(1 for e in indexed if e.get("mime") != "warc/request") >= responses
    # the raw gzip body is kept with its header; no chunking is claimed
    fields = "warc-type,warc-target-uri,http:content-encoding,http:transfer-encoding"
    listing = subprocess.run(
        [BIN / "warcio", "index", "-f", fields, *map(str, files)],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [json.loads(line) for line in listing.stdout.splitlines()]
    pages = [
        r
        for r in rows
        if r.get("warc-type") == "response" and "/tag/" in r.get("warc-target-uri", "")
    ]
    assert pages and all(r.get("http:content-encoding") == "gzip" for r in pages)
    assert not any("http:transfer-encoding" in r for r in rows)
    info = subprocess.run(
        [BIN / "warcio", "extract", str(files[0]), "0"], capture_output=True, text=True, check=True
    )
    assert "software: tag-archiver/" in info.stdout and "robots: obey" in info.stdout


def test_reextract_gives_the_crawls_rows(theme_site, tmp_path):
    _, server = theme_site
    db = tmp_path / "a.db"
    assert crawl(server.origin, db, "--all-tags").returncode == 0
    live = articles_view(db)
    assert len(live) == 16
    # in this process, and in worker processes: the same rows
    for workers in ("0", "2"):
        rebuilt = tmp_path / f"rebuilt-{workers}.db"
        result = run_cli(
            "reextract", "--workers", workers, "--db", str(rebuilt), *map(str, warcs(db))
        )
        assert result.returncode == 0, result.stderr
        assert "0 unreadable" in result.stdout
        again = articles_view(rebuilt)
        assert live == again
        assert {row["extractor_version"] for row in again.values()} == {EXTRACTOR_VERSION}
    for path in (db, tmp_path / "rebuilt-0.db", tmp_path / "rebuilt-2.db"):
        conn = sqlite3.connect(path)
        for table in ("articles_fts", "sections_fts"):  # the search index equals the rows
            conn.execute(f"INSERT INTO {table}({table}, rank) VALUES('integrity-check', 1)")
        assert conn.execute("SELECT count(*) FROM articles_fts").fetchone()[0] == 16
        conn.close()


def test_chunked_404_500_redirect_and_odd_headers_are_archived(tmp_path):
    db = tmp_path / "a.db"
    with hostile_site() as origin:
        crawl(origin, db, "--tag", "chunked", "--tag", "broken", "--tag", "away")
    for path in warcs(db):
        check_warc_file(path)
    conn = check_provenance(db)
    statuses = [status for (status,) in conn.execute("SELECT status FROM captures")]
    assert statuses.count(500) == 4  # the first try and three retries, each an exchange
    assert 301 in statuses and 404 in statuses
    name, offset = conn.execute(
        "SELECT warc_file, warc_offset FROM captures WHERE url LIKE '%/tag/chunked/'"
    ).fetchone()
    with open(db.with_name("a-warc") / name, "rb") as handle:  # the stored bytes themselves
        handle.seek(offset)
        raw = zlib.decompressobj(wbits=31).decompress(handle.read())
    head = raw.split(b"\r\n\r\n", 2)[1]  # the HTTP header block of the response record
    assert b"X-Odd: caf\xe9" in head and b"%C3%A9" not in head and b"Transfer-Encoding" not in head
    assert conn.execute("SELECT count(*) FROM articles WHERE title = 'Zeta'").fetchone()[0] == 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def wayback(root: Path):
    port = free_port()
    process = subprocess.Popen(
        [PYWB_BIN / "wayback", "-p", str(port), "-b", "127.0.0.1"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def replay(base: str, collection: str, url: str) -> str:
    with urllib.request.urlopen(f"{base}/{collection}/mp_/{url}", timeout=30) as response:
        return response.read().decode("utf-8", "replace")


def test_pywb_replays_the_warcs_and_the_wacz(tmp_path):
    from crawler.snapshot import serve_snapshot

    db = tmp_path / "a.db"
    with serve_snapshot() as server:  # the demo site: both seed tags
        assert (
            crawl(server.origin, db, "--tag", "ai-scaling", "--tag", "scaling-laws").returncode == 0
        )
        origin = server.origin
    wacz = tmp_path / "crawl.wacz"
    packed = run_cli("pack", "--db", str(db), "--out", str(wacz))
    assert packed.returncode == 0, packed.stderr
    import zipfile

    with zipfile.ZipFile(wacz) as archive:
        pages = [json.loads(line) for line in archive.read("pages/pages.jsonl").splitlines()]
    titles = {page.get("title") for page in pages[1:]}
    assert "Tag: AI scaling" in titles
    assert any(t and t.startswith("Andrej Karpathy on the Decade") for t in titles)

    root = tmp_path / "pywb"
    root.mkdir()
    manager = PYWB_BIN / "wb-manager"
    for args in (
        ["init", "warcs"],
        ["add", "warcs", *map(str, warcs(db))],
        ["init", "wacz"],
        ["add", "--unpack-wacz", "wacz", str(wacz)],
    ):
        subprocess.run([manager, *args], cwd=root, check=True, capture_output=True)
    article = (
        sqlite3.connect(db)
        .execute("SELECT url, title FROM articles WHERE title LIKE 'Dwarkesh%'")
        .fetchone()
    )
    with wayback(root) as base:
        for collection in ("warcs", "wacz"):
            tag_page = replay(base, collection, f"{origin}/tag/scaling-laws/")
            for title in (
                "Andrej Karpathy on the Decade",
                "Dwarkesh Patel: From Podcasting",
                "The AI Revolution Unveiled",
            ):
                assert title in tag_page, (collection, title)
            assert "Key Takeaways" in tag_page
            assert article[1] in replay(base, collection, article[0]).replace("&#8217;", "’")


def test_sigkill_mid_crawl_then_repair_loses_nothing_committed(tmp_path):
    from crawler.snapshot import serve_snapshot
    from tests.helpers import FIXTURES

    db = tmp_path / "a.db"
    with serve_snapshot(FIXTURES / "classic") as server:
        process = subprocess.Popen(
            [sys.executable, "-m", "crawler", "crawl", server.origin, "--all-tags", "--db", str(db),
             "--delay", "0.3", "--set", "TAG_ARCHIVER_BATCH_SIZE=1"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                time.sleep(0.2)
                if db.exists():
                    try:
                        done = (
                            sqlite3.connect(db)
                            .execute("SELECT count(*) FROM articles")
                            .fetchone()[0]
                        )
                    except sqlite3.OperationalError:
                        continue
                    if done >= 3:
                        break
            process.send_signal(signal.SIGKILL)
        finally:
            process.wait(timeout=10)
        # The database writer carries out what the crawler sent before dying, then exits;
        # extraction workers exit at once. Nothing of the run may outlive it.
        assert wait_for_session_end(process.pid) == []
        warc_dir = tmp_path / "a-warc"
        assert list(warc_dir.glob("*.open"))  # the kill left the file open
        assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        committed = sqlite3.connect(db).execute("SELECT count(*) FROM captures").fetchone()[0]
        repaired = run_cli("warc-repair", str(warc_dir))
        assert repaired.returncode == 0 and "1 file(s) repaired" in repaired.stdout
        assert not list(warc_dir.glob("*.open"))
        for path in warcs(db):
            check_warc_file(path)
        check_provenance(db)  # every committed row names a whole record in a closed file
        assert (
            sqlite3.connect(db).execute("SELECT count(*) FROM captures").fetchone()[0] == committed
        )
        # and the next run completes the work
        again = crawl(server.origin, db, "--all-tags")
    assert again.returncode == 0, again.stderr
    assert sqlite3.connect(db).execute("SELECT count(*) FROM articles").fetchone()[0] == 16
    for path in warcs(db):
        check_warc_file(path)


@pytest.mark.skipif(sys.platform != "linux", reason="ulimit -f is how we fill the disk")
def test_a_full_disk_stops_the_crawl_with_an_error(tmp_path):
    from crawler.snapshot import serve_snapshot
    from tests.helpers import FIXTURES

    db = tmp_path / "a.db"
    warc_dir = tmp_path / "w"
    with serve_snapshot(FIXTURES / "block") as server:
        # 420 KiB: room to start, not for the whole crawl (database + WAL + WARC)
        result = subprocess.run(
            ["bash", "-c", 'ulimit -f 420; exec "$0" -m crawler "$@"', sys.executable, "crawl", server.origin,
             "--all-tags", "--db", str(db), "--warc-dir", str(warc_dir), "--delay", "0"],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    # SQLite's WAL usually reaches the limit before the WARC does (the writer-level test in
    # tests/archive/warc covers EFBIG on the WARC itself): either way the run stops, clearly.
    assert result.returncode == 1, result.stderr
    assert "FAILED:" in result.stderr
    assert "is the disk full" in result.stderr or "File too large" in result.stderr
    repair = run_cli("warc-repair", str(warc_dir))
    assert repair.returncode == 0
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for name, offset, record_id, url in conn.execute(
        "SELECT warc_file, warc_offset, warc_record_id, url FROM captures"
    ):
        assert record_at(warc_dir, name, offset) == ("response", record_id, url)
    for path in sorted(warc_dir.glob("*.warc.gz")):
        check_warc_file(path)
    assert os.path.getsize(db) > 0


def test_cut_oversized_and_bomb_bodies_are_errors_never_articles(tmp_path):
    db = tmp_path / "a.db"
    with hostile_site() as origin:
        result = run_cli(
            "crawl", origin, "--db", str(db), "--delay", "0", "--tag", "news",
            "--tag", "cut", "--tag", "huge", "--tag", "bomb",
            "--set", "DOWNLOAD_MAXSIZE=8000000", "--stats-json", str(tmp_path / "s.json"),
        )  # fmt: skip
    assert result.returncode == 3, result.stderr  # news archived; the three others failed
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["tag_archiver/errors/download"] == 3
    conn = check_provenance(db)
    titles = {t for (t,) in conn.execute("SELECT title FROM articles")}
    assert titles == {"Alpha", "Beta", "Gamma"}  # news only: nothing from cut, huge or bomb
    archived = {url.rsplit("/tag/", 1)[-1] for (url,) in conn.execute("SELECT url FROM captures")}
    assert "cut/" not in archived and "huge/" not in archived  # no complete-looking record
    assert (
        "bomb/" in archived
    )  # what the server sent, 40 KB of gzip, is evidence; decoding it is not
    for path in warcs(db):
        check_warc_file(path)


def test_the_next_crawl_repairs_a_file_left_open(tmp_path):
    from crawler.snapshot import serve_snapshot

    db, warc_dir = tmp_path / "a.db", tmp_path / "a-warc"
    with serve_snapshot() as server:
        assert crawl(server.origin, db, "--tag", "ai-scaling").returncode == 0
        (first,) = warc_dir.glob("*.warc.gz")
        whole = first.read_bytes()
        left_open = warc_dir / ("x" + first.name + ".open")  # as a killed run leaves it
        left_open.write_bytes(whole + gzip.compress(os.urandom(3000))[:1000])
        result = run_cli("crawl", server.origin, "--db", str(db), "--delay", "0", "--tag", "ai-scaling",
                         "--stats-json", str(tmp_path / "s.json"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "s.json").read_text())["warc/repaired_files"] == 1
    assert not list(warc_dir.glob("*.open"))
    repaired = warc_dir / ("x" + first.name)
    assert repaired.read_bytes() == whole
    for path in warcs(db):
        check_warc_file(path)
