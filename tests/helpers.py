"""Helpers shared by the test modules: paths, the CLI in a subprocess, crawls, and checks of
what a crawl leaves behind (database, WARC files). Fixtures live in the conftest.py files."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlite_utils
from warcio.archiveiterator import ArchiveIterator

from archive.records import Article, Content, Section, SectionItem, Source, Term
from tests.processes import wait_for_session_end

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "wordpress"
THEMES = ("block", "classic")
# The other sites of the test bed (tests/testbed/sites.json), captured the same way.
VARIANTS = ("excerpt-block", "excerpt-classic", "plain", "edited", "notime", "unicode")
BIN = Path(sys.executable).parent  # the console scripts installed beside this Python
# pywb, in the environment of its own tests/setup.sh makes (it pins an old redis)
PYWB_BIN = ROOT / ".tools" / "pywb" / "bin"

# A stop must be over well within this (TAG_ARCHIVER_STOP_TIMEOUT is 30 s by default).
BOUND = 40.0
OK, PARTIAL, INTERRUPTED = 0, 3, 5  # the README's exit codes

T1, T2 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"


def to_json(value: object) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True, default=str) + "\n"


def html_pages(theme: str) -> list[tuple[str, dict, bytes]]:
    """(path, headers, body) of every HTML page of a captured site that answered 200."""
    folder = FIXTURES / theme
    manifest = json.loads((folder / "manifest.json").read_text())
    pages = []
    for entry in manifest["responses"]:
        headers = dict(entry["headers"])
        if entry["status"] == 200 and headers.get("Content-Type", "").startswith("text/html"):
            pages.append((entry["path"], headers, (folder / entry["file"]).read_bytes()))
    return pages


# --- the CLI --------------------------------------------------------------------------------


def run_cli(
    *args: str, timeout: float = 180, env: dict | None = None
) -> subprocess.CompletedProcess:
    """The real CLI in its own process (Twisted's reactor starts once per process)."""
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def crawl(origin: str, db: Path, *args: str, stats: Path | None = None):
    """`crawl` of `origin` into `db` with no delay; `stats` receives --stats-json."""
    extra = ["--stats-json", str(stats)] if stats else []
    return run_cli("crawl", origin, "--db", str(db), "--delay", "0", *args, *extra)


def crawl_or_fail(origin: str, db: Path, *args: str):
    """crawl(); fails the test, with its warnings and the end of its log, unless it exits 0."""
    result = crawl(origin, db, *args)
    lines = result.stderr.splitlines()
    problems = [line for line in lines if re.search(r"\] (WARNING|ERROR|CRITICAL): ", line)]
    log = "\n".join(problems + lines[-3:])
    assert result.returncode == 0, f"crawl {' '.join(args)}: {result.stdout}\n{log[-3000:]}"
    return result


@dataclass
class Ended:
    returncode: int
    seconds: float  # from the signal (or the start, without one) to the process's exit
    stdout: str
    stderr: str
    left: list[int]  # processes of its session still alive after it ended


class Crawl:
    """`python -m crawler crawl ...` in a session of its own, its stderr readable as it runs."""

    def __init__(self, *args: str) -> None:
        # Closed in end(): the log outlives this call, read while the crawl runs.
        self.log = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crawler", "crawl", *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=self.log, text=True, start_new_session=True,
        )  # fmt: skip
        self.started = time.monotonic()

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def wait_for(self, marker: str, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker in self.stderr():
                return True
            if self.process.poll() is not None:
                return marker in self.stderr()
            time.sleep(0.005)
        return False

    def signal(self, signum: int) -> float:
        with_signal = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return with_signal

    def end(self, since: float | None = None, bound: float = BOUND) -> Ended:
        try:
            stdout, _ = self.process.communicate(timeout=bound)
        except subprocess.TimeoutExpired:
            for pid in wait_for_session_end(self.process.pid, timeout=0):
                os.kill(pid, signal.SIGKILL)
            self.process.communicate()
            stderr = self.stderr()
            self.log.close()
            pytest.fail(f"the run did not end within {bound} s:\n{stderr[-3000:]}")
        seconds = time.monotonic() - (since if since is not None else self.started)
        # Printed for `pytest -s`: the measured stop times the README's promise rests on.
        print(f"ended in {seconds:.2f} s with exit {self.process.returncode}")
        left = wait_for_session_end(self.process.pid, timeout=10)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        stderr = self.stderr()
        self.log.close()
        return Ended(self.process.returncode, seconds, stdout, stderr, left)


# --- the database ---------------------------------------------------------------------------


def article(url="http://b.test/a/", source=Source.ARCHIVE, text="Words.", **changes) -> Article:
    """An article whose post ID follows from its URL (one post, one permalink) unless given."""
    content = Content(
        html=f"<p>{text}</p>",
        text=text,
        word_count=len(text.split()),
        sha256=str(hash(text)),
        sections=(Section(0, "TL;DR", 2, text, (SectionItem(0, 0, "item"),)),),
        images=(),
        links=(),
    )
    base = Article(
        url,
        source,
        "Title",
        zlib.crc32(url.encode()),
        "2024-01-01T00:00:00+00:00",
        None,
        (Term("news", "News", "http://b.test/tag/news/"),),
        (),
        content,
    )
    return replace(base, **changes)


def dump(path: Path, ignore=("last_seen",), skip_tables=()) -> dict:
    db = sqlite_utils.Database(path)
    tables = {}
    for table in db.table_names():
        if table in skip_tables or "_fts" in table:  # the search index is derived data
            continue
        rows = [
            {k: v for k, v in row.items() if k not in ignore}
            for row in db.query(f"SELECT * FROM [{table}] ORDER BY rowid")
        ]
        tables[table] = rows
    db.close()
    return tables


def rows(db: Path, sql: str, *params) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def check_database(db: Path) -> None:
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert rows(db, "PRAGMA foreign_key_check") == []


# --- WARC files -----------------------------------------------------------------------------


def warcs(db: Path) -> list[Path]:
    return sorted(db.with_name(f"{db.stem}-warc").glob("*.warc.gz"))


def record_at(warc_dir: Path, name: str, offset: int):
    """(type, record id, target URI, complete?) of the record at `offset`, as warcio extract reads it."""
    with open(warc_dir / name, "rb") as handle:
        handle.seek(offset)
        record = next(iter(ArchiveIterator(handle)))
        record.content_stream().read()
        return (
            record.rec_type,
            record.rec_headers.get_header("WARC-Record-ID"),
            record.rec_headers.get_header("WARC-Target-URI"),
        )


def check_warc_file(path: Path) -> None:
    result = subprocess.run(
        [BIN / "warcio", "check", "-v", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def check_provenance(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db)
    warc_dir = db.with_name(f"{db.stem}-warc")
    for name, offset, record_id, url, revisit_of in conn.execute(
        "SELECT warc_file, warc_offset, warc_record_id, url, revisit_of FROM captures"
    ):
        assert not name.endswith(".open")
        kind = "revisit" if revisit_of else "response"
        assert record_at(warc_dir, name, offset) == (kind, record_id, url)
    orphans = conn.execute(
        "SELECT count(*) FROM articles a LEFT JOIN captures c ON c.id = a.capture_id WHERE c.id IS NULL"
    ).fetchone()[0]
    assert orphans == 0
    return conn


# --- loopback sites and sites files -----------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_static(root: Path) -> Iterator[str]:
    """`root` over HTTP on 127.0.0.1, on a port of its own (a site of its own); its origin."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def write_sites_file(path: Path, sites: list[dict], defaults: dict | None = None) -> Path:
    """A sites file: `defaults` as [defaults], then a [[site]] table per site. Values are
    written as JSON, which TOML reads the same for strings, numbers, booleans and lists."""
    lines = ["[defaults]"] + [f"{k} = {json.dumps(v)}" for k, v in (defaults or {}).items()]
    for site in sites:
        lines += ["", "[[site]]"] + [f"{k} = {json.dumps(v)}" for k, v in site.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
