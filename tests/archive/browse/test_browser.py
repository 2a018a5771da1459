"""The served database in a real browser: headless Chromium (Debian's chromium package).

Loads the pages `tag-archiver serve` serves, runs a search and a tag facet, and saves a
screenshot to test-artifacts/ (kept by CI as evidence of what a person sees).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.helpers import ROOT

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> str:
    if CHROMIUM is None:
        message = "no chromium: apt-get install chromium (tests/setup.sh does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@contextmanager
def serving(db: Path, *args: str) -> Iterator[str]:
    """`tag-archiver serve --db DB ARGS` on a free port while the block runs; the database's
    base URL, once it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler", "serve", "--db", str(db), "--port", str(port), *args],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/{db.stem}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base, timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def served(crawled) -> Iterator[str]:
    with serving(crawled) as base:
        yield base


def chromium(browser: str, tmp_path: Path, *args: str) -> str:
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def screenshot(
    browser: str, tmp_path: Path, url: str, name: str, height: int = 1400, *args: str
) -> Path:
    """The page at `url` as Chromium draws it 1280 pixels wide, saved anew as ARTIFACTS/name
    (a file left by an earlier run is removed first); `args`: more Chromium options."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / name
    shot.unlink(missing_ok=True)
    chromium(browser, tmp_path, f"--screenshot={shot}", f"--window-size=1280,{height}", *args, url)
    return shot


def test_search_in_the_browser(browser, served, tmp_path):
    dom = chromium(browser, tmp_path, "--dump-dom", f"{served}/article_summary?_search=scale")
    assert "Andrej Karpathy on the Decade of AI Agents" in dom
    assert "where search matches" in dom


def test_canned_search_with_fts_syntax_in_the_browser(browser, served, tmp_path):
    query = quote('NEAR( "scal*')
    dom = chromium(browser, tmp_path, "--dump-dom", f"{served}/search_articles?q={query}")
    assert "Search articles" in dom and "Error" not in dom


def test_tag_facet_and_screenshot(browser, served, tmp_path):
    url = f"{served}/article_summary?tags__arraycontains=history"  # tags facet is configured
    dom = chromium(browser, tmp_path, "--dump-dom", url)
    assert "10 rows where tags contains" in dom and "History Notes, Part 1" in dom
    shot = screenshot(browser, tmp_path, url, "article_summary-history-facet.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
