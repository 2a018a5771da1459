"""archive.lean_sqlite_utils: the archive's processes write without numpy; others keep it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crawler.snapshot import serve_snapshot
from tests.helpers import FIXTURES, OK, Crawl, rows

# A numpy of our own, first on the path: it notes each process that imports it.
FAKE_NUMPY = """
import os
with open(os.environ["FAKE_NUMPY_IMPORTS"], "a") as log:
    log.write(f"{os.getpid()}\\n")
__version__ = "0-fake"
"""


@pytest.fixture
def fake_numpy(tmp_path, monkeypatch) -> Path:
    package = tmp_path / "fake" / "numpy"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(FAKE_NUMPY)
    imports = tmp_path / "numpy-imports"
    imports.touch()
    monkeypatch.setenv("PYTHONPATH", str(package.parent))
    monkeypatch.setenv("FAKE_NUMPY_IMPORTS", str(imports))
    return imports


def test_sqlite_utils_comes_without_numpy_and_numpy_still_imports(fake_numpy):
    program = (
        "import sys\n"
        "from archive.lean_sqlite_utils import import_sqlite_utils_without_numpy\n"
        "import_sqlite_utils_without_numpy()\n"
        "import sqlite_utils.db\n"
        "assert sqlite_utils.db.np is None and 'numpy' not in sys.modules\n"
        "import numpy\n"
        "print(numpy.__version__)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0-fake"  # any other code of the process gets it
    assert len(fake_numpy.read_text().split()) == 1  # imported once: by that code only


def test_without_it_sqlite_utils_takes_numpy(fake_numpy):
    """The control: sqlite-utils imported plainly imports whatever numpy it finds."""
    done = subprocess.run([sys.executable, "-c", "import sqlite_utils"], capture_output=True)
    assert done.returncode == 0
    assert len(fake_numpy.read_text().split()) == 1


def test_a_crawl_in_two_processes_never_imports_numpy(fake_numpy, tmp_path):
    db = tmp_path / "a.db"
    with serve_snapshot(FIXTURES / "block") as server:
        crawl = Crawl(
            server.origin, "--all-tags", "--db", str(db), "--delay", "0", "--crawlers", "2"
        )
        ended = crawl.end()
    assert ended.returncode == OK, ended.stderr[-2000:]
    assert "crawling in 2 processes" in ended.stderr
    assert rows(db, "SELECT count(*) > 0 FROM articles") == [(1,)]
    assert fake_numpy.read_text() == ""
