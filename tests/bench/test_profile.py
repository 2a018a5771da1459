"""The CPU profile (tests/bench/profile.py) works end to end on a tiny site: every crawler
process is profiled, and each row's component shares add up to 100%."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig

import pytest

from tests.bench.profile import COMPONENTS, direct
from tests.helpers import ROOT


def test_classification_by_file_and_builtin_name():
    site = sysconfig.get_paths()["purelib"]
    assert direct((f"{ROOT}/archive/extract/page.py", 1, "extract_page"))[0] == "extraction"
    assert direct((f"{ROOT}/archive/warc/files.py", 1, "write"))[0] == "warc"
    assert direct((f"{ROOT}/archive/store.py", 1, "add_capture"))[0] == "storing"
    assert direct((f"{ROOT}/crawler/capture.py", 1, "x"))[0] == "other"
    assert direct(("~", 0, "<method 'execute' of 'sqlite3.Cursor' objects>"))[0] == "storing"
    assert direct(("~", 0, "<method 'xpath' of 'lxml.etree._Element' objects>"))[0] == "extraction"
    # zlib is its callers': Scrapy's decompression or the WARC's compression (the default)
    assert direct(("~", 0, "<method 'decompress' of 'zlib.Decompress' objects>")) == (None, "warc")
    if os.path.isdir(site):
        scrapy = f"{site}/scrapy/utils/_compression.py"
        assert direct((scrapy, 1, "_inflate"))[0] == "decompression"
        assert direct((f"{site}/twisted/internet/epollreactor.py", 1, "doPoll"))[0] == "framework"


def test_profile_tiny_site(tmp_path):
    if not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")):
        if os.environ.get("CI"):
            pytest.fail("missing nginx: tests/setup.sh installs it")
        pytest.skip("missing nginx: run tests/setup.sh")
    figures = tmp_path / "profile.json"
    result = subprocess.run(
        [sys.executable, "-m", "tests.bench.profile", "--tags", "2", "--pages", "3",
         "--json", str(figures)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "python -m crawler crawl" in out  # the command, printed

    header = next(line for line in out.splitlines() if line.startswith("| process | count | CPU"))
    for label in COMPONENTS.values():
        assert f"{label} %" in header
    rows = {}
    for line in out.splitlines():
        match = re.match(r"^\| (first process \(CLI\)|other process\(es\)|whole run) \|", line)
        if match and match.group(1) not in rows:  # the first table: corrected shares
            rows[match.group(1)] = [cell.strip() for cell in line.strip("|").split("|")]
    # two tags: the CLI's process and one `python -m crawler.share`, both profiled
    assert set(rows) == {"first process (CLI)", "other process(es)", "whole run"}, out
    for name, cells in rows.items():
        shares = [float(cell) for cell in cells[-len(COMPONENTS) :]]
        assert abs(sum(shares) - 100) < 0.5, (name, shares)
        assert float(cells[2].split()[0]) > 0  # CPU ms/page, unprofiled
    assert rows["whole run"][1] == "2"

    data = json.loads(figures.read_text())
    whole = data["groups"]["whole"]
    assert whole["unresolved_share"] < 10, whole["top_unresolved"]
    assert whole["missing_profiles"] == []
    assert whole["shares"]["extraction"] > 0 and whole["shares"]["framework"] > 0
