"""Shared test helpers: snapshot sites on loopback, the CLI in a subprocess, golden files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.snapshot import SnapshotServer, serve_snapshot

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "wordpress"
THEMES = ("block", "classic")
# The other sites of the test bed (tests/testbed/sites.json), captured the same way.
VARIANTS = ("excerpt-block", "excerpt-classic", "plain", "edited", "notime", "unicode")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite golden files from current output"
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """golden(path, text): compare text with the file, or write it with --update-golden."""
    update = request.config.getoption("--update-golden")

    def check(path: Path, output: str | bytes) -> None:
        data = output if isinstance(output, bytes) else output.encode("utf-8")
        if update or not path.exists():
            if not update:
                pytest.fail(f"golden file {path} is missing: run pytest --update-golden")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        assert data == path.read_bytes(), f"output differs from {path}"

    return check


def to_json(value: object) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True, default=str) + "\n"


@pytest.fixture(scope="session", params=THEMES)
def theme_site(request: pytest.FixtureRequest) -> Iterator[tuple[str, SnapshotServer]]:
    """The captured test-bed WordPress of one theme family, served on 127.0.0.1."""
    with serve_snapshot(FIXTURES / request.param) as server:
        yield request.param, server


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
