"""The stages-alone measurement (tests/bench/components.py) works end to end on a tiny site
and stores what the crawl would (timings are not asserted)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from tests.bench.site import PER_PAGE
from tests.helpers import ROOT


def test_components_measures_every_stage_of_every_page(tmp_path):
    out = tmp_path / "components.json"
    result = subprocess.run(
        [sys.executable, "-m", "tests.bench.components", "--tags", "4", "--pages", "3",
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["pages"] == 12 and data["articles"] == 12 * PER_PAGE
    assert set(data["ms_per_page"]) == {"parse", "extraction", "storing"}
    assert all(ms > 0 for ms in data["ms_per_page"].values())
    rows = [line for line in result.stdout.splitlines() if re.search(r"\| [\d.]+ \|$", line)]
    assert len(rows) == 4, result.stdout  # parse, extraction, storing, the sum
