"""The benchmark command works end to end at a tiny size (timings are not asserted)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT


def test_benchmark_smoke(tmp_path):
    found = {
        "nginx": shutil.which("nginx") or os.path.exists("/usr/sbin/nginx"),
        "wget": shutil.which("wget"),
    }
    missing = [tool for tool, there in found.items() if not there]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"missing {missing}: tests/setup.sh installs them")
        pytest.skip(f"missing {missing}: run tests/setup.sh")
    results = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "tests.bench.bench", "--smoke", "--json", str(results)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    row = re.compile(r"^\| (tag-archiver|plain scrapy|wget) \| [\d.]+ \|")
    rows = {m.group(1): line for line in result.stdout.splitlines() if (m := row.match(line))}
    assert set(rows) == {"tag-archiver", "plain scrapy", "wget"}, result.stdout
    assert "re-extraction from WARC" in result.stdout and "FTS query latency" in result.stdout

    data = json.loads(results.read_text())
    (size,) = data["sizes"]
    assert data["errors"] == []
    assert set(size["forms"]) == {
        "block-numbers",
        "block-older",
        "classic-numbers",
        "classic-older",
    }
    measured = {m["system"]: m for m in size["measurements"]}
    assert set(measured) == {"tag-archiver", "plain scrapy", "wget"}
    for m in measured.values():
        # every tool succeeded, fetched every tag page once, and was sent it gzipped
        assert m["code"] == 0 and m["fetched"] == size["pages"] and m["missing"] == 0, m
        assert m["refetched"] == 0 and m["gzipped"] == 1.0, m
        assert m["wall"] > 0 and m["cpu"] > 0 and m["rss_mb"] > 0, m
    assert size["reextract"]["code"] == 0
    assert data["fts"]["median_ms"] > 0
