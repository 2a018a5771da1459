"""Edges of a crawl, through the real CLI against loopback servers: files that cannot be
written, a disk that fills, a redirect to another port, random bytes served as HTML.

Read-only and full file systems are real: a small tmpfs, remounted read-only where needed,
or an immutable file (chattr +i). Tests run as root in CI, where chmod stops nothing.
"""

from __future__ import annotations

import base64
import json
import random
import socket
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import helpers
from tests.archive.test_document import few_controls
from tests.crawler.hostile_site import archive, post
from tests.crawler.timing_site import TimingSite, timing_site


def crawl(site: TimingSite, db: Path, *args: str) -> subprocess.CompletedProcess:
    return helpers.crawl(site.origin, db, *args)


def stats_of(path: Path) -> dict:
    return json.loads(path.read_text())


def one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if all(w in line for w in words)]
    assert lines, result.stderr


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True)


@pytest.fixture
def tmpfs(tmp_path) -> Iterator[Callable[[str], Path]]:
    """tmpfs(size) -> a fresh, empty tmpfs of that size (`2m`), unmounted afterwards."""
    mounted: list[Path] = []

    def make(size: str) -> Path:
        where = tmp_path / f"fs{len(mounted)}"
        where.mkdir()
        done = _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where))
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): {done.stderr}")
        mounted.append(where)
        return where

    yield make
    for where in reversed(mounted):
        _run("umount", "-l", str(where))


def read_only(where: Path) -> None:
    done = _run("mount", "-o", "remount,ro", str(where))
    assert done.returncode == 0, done.stderr


# --- read-only database and WARC directory ------------------------------------------------


def test_a_database_in_a_read_only_directory_is_named_not_writable(tmpfs):
    where = tmpfs("2m")
    with timing_site() as site:
        assert crawl(site, where / "a.db", "--tag", "news").returncode == 0
        read_only(where)
        result = crawl(site, where / "a.db", "--tag", "news")
        new = crawl(site, where / "new.db", "--tag", "news")
    one_line_error(result, str(where / "a.db"), "not writable")
    assert "as a SQLite database" not in result.stderr
    one_line_error(new, str(where / "new.db"), "not writable")


def test_a_read_only_database_file_is_named_not_writable(tmp_path):
    db = tmp_path / "a.db"
    with timing_site() as site:
        assert crawl(site, db, "--tag", "news").returncode == 0
        done = _run("chattr", "+i", str(db))
        if done.returncode != 0:
            pytest.skip(f"chattr +i is not available here: {done.stderr}")
        try:
            before = len(site.arrivals)
            result = crawl(site, db, "--tag", "news")
        finally:
            _run("chattr", "-i", str(db))
    one_line_error(result, str(db), "not writable")
    assert len(site.arrivals) == before  # refused before asking the site anything


def test_a_read_only_warc_directory_is_named_not_writable(tmpfs, tmp_path):
    where = tmpfs("2m")
    read_only(where)
    with timing_site() as site:
        result = crawl(site, tmp_path / "a.db", "--tag", "news", "--warc-dir", str(where))
    one_line_error(result, str(where), "not writable")
    assert site.arrivals == []  # nothing fetched that could not be archived


# --- a disk that fills up -------------------------------------------------------------------


def big_tags(site: TimingSite, count: int, size: int) -> list[str]:
    """`count` tags of one page each, with `size` random bytes as text gzip cannot shrink."""
    rng = random.Random(7)
    tags = [f"t{i}" for i in range(count)]
    for i, tag in enumerate(tags):
        text = base64.b64encode(rng.randbytes(size)).decode()
        page = archive(tag, post(i + 10, f"p{i}", f"P{i}", text, (tag,)))
        site.script[f"/tag/{tag}/"] = [page.encode()]
    return [arg for tag in tags for arg in ("--tag", tag)]


def fill(where: Path) -> None:
    """Take every free byte of the file system, as another program would."""
    with open(where / "filler", "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
        try:
            while True:
                handle.write(b"\0")
                handle.flush()
        except OSError:
            pass


def check_after_disk_full(result: subprocess.CompletedProcess, db: Path) -> None:
    assert result.returncode not in (0, 3), result.stderr  # stopped, not "done"
    assert "Traceback" not in result.stderr, result.stderr
    assert "disk is full" in result.stderr or "No space left" in result.stderr
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_a_disk_filled_by_the_crawl_stops_it_cleanly(tmpfs):
    where = tmpfs("2m")
    site = TimingSite()
    with timing_site(site):
        args = big_tags(site, 30, 120_000)
        result = crawl(site, where / "a.db", "--no-articles", *args)
        check_after_disk_full(result, where / "a.db")
        # The crawl's own writes filled the disk. Whether the run's row could still be
        # completed (a rolled-back batch leaves room) depends on which write met the full
        # disk first; once there is room, the next run says what became of it.
        for path in (where / "a-warc").iterdir():
            path.unlink()
        again = crawl(site, where / "a.db", "--no-articles", "--tag", "t0")
    assert again.returncode == 0, again.stderr
    statuses = [s for (s,) in sqlite3.connect(where / "a.db").execute("SELECT status FROM runs")]
    assert statuses[0] in ("failed", "interrupted") and statuses[1] == "finished", statuses


def test_a_disk_filled_by_another_program_mid_crawl_stops_it_cleanly(tmpfs):
    """Not one byte left, even for the run's final update: still one-line errors, no
    traceback, a non-zero exit; the run row stays as it was, and the next run, once there
    is room, says what became of it.

    Pages one at a time, each article committed alone: the WAL then holds frames that no
    checkpoint could copy into the full disk's database file, so the final update must grow
    the WAL, and fails (a WAL already checkpointed would be rewritten in place)."""
    where = tmpfs("2m")
    site = TimingSite()
    seen = []

    def fill_at_the_fourth_tag(path: str) -> None:
        seen.append(path)
        if len(seen) == 5:  # robots.txt, then four tag pages
            fill(where)

    site.on_request = fill_at_the_fourth_tag
    with timing_site(site):
        args = big_tags(site, 12, 30_000)
        one_by_one = ("--set", "CONCURRENT_REQUESTS=1", "--set", "TAG_ARCHIVER_BATCH_SIZE=1")
        result = crawl(site, where / "a.db", "--no-articles", *one_by_one, *args)
        check_after_disk_full(result, where / "a.db")
        (where / "filler").unlink()
        again = crawl(site, where / "a.db", "--no-articles", "--tag", "t0")
    assert again.returncode == 0, again.stderr
    statuses = [s for (s,) in sqlite3.connect(where / "a.db").execute("SELECT status FROM runs")]
    assert statuses[0] != "running" and statuses[1] == "finished", statuses


# --- a redirect to the same host on another port -------------------------------------------


def test_a_redirect_to_another_port_is_off_site_and_never_connected_to(tmp_path):
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen(8)
    other.settimeout(0.2)
    accepted: list[tuple] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, peer = other.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by the test
            accepted.append(peer)
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    port = other.getsockname()[1]
    # The same redirect to another host (127.0.0.2), which was always refused: the other
    # port must get the same page verdict, whatever verdict the run gives refused pages.
    results = {}
    try:
        for host in ("127.0.0.1", "127.0.0.2"):
            target = f"http://{host}:{port}/tag/moved/"
            site = TimingSite(script={"/tag/moved/": [("redirect", target)]})
            with timing_site(site):
                result = crawl(
                    site, tmp_path / f"{host}.db", "--tag", "news", "--tag", "moved",
                    "--stats-json", str(tmp_path / f"{host}.json"),
                )  # fmt: skip
            results[host] = result, stats_of(tmp_path / f"{host}.json")
    finally:
        stop.set()
        other.close()
    assert accepted == []  # not robots.txt, not the page: nothing
    result, stats = results["127.0.0.1"]
    assert stats["tag_archiver/offsite/other_port"] == 1
    assert stats["tag_archiver/articles/new"] == 1  # news archived; moved could not be
    assert f"port {port} is not the site's" in result.stderr
    _, other_stats = results["127.0.0.2"]
    assert stats["offsite/filtered"] == other_stats["offsite/filtered"] == 1
    verdicts = {k: v for k, v in stats.items() if "/verdict/" in k}
    assert verdicts == {k: v for k, v in other_stats.items() if "/verdict/" in k}


# --- random bytes served as text/html ------------------------------------------------------


def test_random_bytes_served_as_html_are_an_extraction_error(tmp_path):
    site = TimingSite(script={"/tag/noise/": [few_controls(20_000)]})
    with timing_site(site):
        result = crawl(
            site, tmp_path / "a.db", "--tag", "news", "--tag", "noise",
            "--stats-json", str(tmp_path / "s.json"),
        )  # fmt: skip
    stats = stats_of(tmp_path / "s.json")
    assert result.returncode == 3, result.stderr
    assert stats["tag_archiver/extraction/binary"] == 1
    assert stats["tag_archiver/errors"] >= 1
    assert "tag_archiver/tags/empty" not in stats  # never an empty tag archive
    assert "cannot extract" in result.stderr
