from __future__ import annotations

from pathlib import Path

import pytest

from crawler.snapshot import serve_snapshot
from tests.helpers import FIXTURES, run_cli


@pytest.fixture(scope="session")
def crawled(tmp_path_factory) -> Path:
    """A database crawled from the captured classic-theme test bed, all tags."""
    db = tmp_path_factory.mktemp("browse") / "testbed.db"
    with serve_snapshot(FIXTURES / "classic") as server:
        result = run_cli("crawl", server.origin, "--all-tags", "--db", str(db), "--delay", "0")
    assert result.returncode == 0, result.stderr
    return db
