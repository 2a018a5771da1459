"""The `tag-archiver` command's entry point: light to import, and the CLI behind it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from archive import __version__

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("scrapy", "twisted", "sqlite_utils", "lxml", "crawler.cli")


def entry_point() -> tuple[str, str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    module, _, function = pyproject["project"]["scripts"]["tag-archiver"].partition(":")
    return module, function


def test_the_commands_script_imports_none_of_the_crawl():
    # Helper processes import the script again as their main module (multiprocessing does);
    # whatever its top line imports, every extraction worker and the writer carry.
    module, function = entry_point()
    code = f"import sys; from {module} import {function}; print([m for m in {HEAVY!r} if m in sys.modules])"
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"


def test_the_entry_point_runs_the_cli():
    module, function = entry_point()
    result = subprocess.run(
        [sys.executable, "-c", f"from {module} import {function}; {function}()", "--version"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert __version__ in result.stdout
