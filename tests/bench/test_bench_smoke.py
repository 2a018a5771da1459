"""The benchmark command works end to end at a tiny size (timings are not asserted)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT


def test_benchmark_smoke():
    found = {
        "nginx": shutil.which("nginx") or os.path.exists("/usr/sbin/nginx"),
        "wget": shutil.which("wget"),
    }
    missing = [tool for tool, there in found.items() if not there]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"missing {missing}: tests/setup.sh installs them")
        pytest.skip(f"missing {missing}: run tests/setup.sh")
    result = subprocess.run(
        [sys.executable, "-m", "tests.bench.bench", "--smoke"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    table = re.compile(r"^(tag-archiver|plain scrapy|wget)\s+[\d.]+\s")
    rows = {m.group(1): line.split() for line in lines if (m := table.match(line))}
    assert set(rows) == {"tag-archiver", "plain scrapy", "wget"}
    assert all(row[-1] == "0" for row in rows.values()), result.stdout  # every tool succeeded
    assert "re-extraction from WARC" in result.stdout and "exit 0" in result.stdout
    assert "FTS query latency" in result.stdout
