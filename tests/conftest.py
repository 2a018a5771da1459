"""Fixtures and options shared by every test folder: golden files, snapshot sites on loopback.

Plain helpers (paths, the CLI, crawls, checks) are in tests/helpers.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.snapshot import SnapshotServer, serve_snapshot
from tests.helpers import FIXTURES, THEMES


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


@pytest.fixture(scope="session", params=THEMES)
def theme_site(request: pytest.FixtureRequest) -> Iterator[tuple[str, SnapshotServer]]:
    """The captured test-bed WordPress of one theme family, served on 127.0.0.1."""
    with serve_snapshot(FIXTURES / request.param) as server:
        yield request.param, server
