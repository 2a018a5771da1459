"""The benchmark counts, from a run's nginx access log, the tag pages a system was sent."""

from __future__ import annotations

from pathlib import Path

from tests.bench.bench import Measure, count_fetches
from tests.bench.site import Site

LOG = """\
200 GET "/robots.txt" 66 0.64 "Wget/1.21.3"
200 GET "/tag/a/" 19373 4.20 "Wget/1.21.3"
200 GET "/tag/a/page/2/" 19373 - "Wget/1.21.3"
200 GET "/tag/a/page/2/" 19373 4.00 "Wget/1.21.3"
404 GET "/tag/a/page/3/" 153 - "Wget/1.21.3"
200 GET "/tag/elsewhere/" 19373 4.20 "Wget/1.21.3"
"""


def test_fetched_missing_refetched_and_gzipped(tmp_path: Path):
    paths = frozenset({"/tag/a/", "/tag/a/page/2/", "/tag/a/page/3/"})
    site = Site(tmp_path, ("a",), 3, {"a": "block-numbers"}, paths, 0)
    log = tmp_path / "access.log"
    log.write_text(LOG)
    result = Measure(0, "wget", 1.0, 1.0, 1.0, 0)
    count_fetches(log, site, result)
    assert (result.fetched, result.missing, result.missing_sample) == (2, 1, ["/tag/a/page/3/"])
    assert result.refetched == 1 and result.other_requests == 3
    assert result.gzipped == 2 / 3
    assert result.user_agents == ["Wget/1.21.3"]


def test_no_log_is_every_page_missing(tmp_path: Path):
    site = Site(tmp_path, ("a",), 1, {"a": "block-older"}, frozenset({"/tag/a/"}), 0)
    result = Measure(0, "plain scrapy", 1.0, 1.0, 1.0, 0)
    count_fetches(tmp_path / "none.log", site, result)
    assert result.fetched == 0 and result.missing == 1
