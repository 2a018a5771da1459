"""Polite retries, timed by a loopback server that records when each request arrived.

Backoff is full jitter: the wait before the n-th retry is uniform in [0, min(MAX, BASE *
2**(n-1))]. Single gaps are random, so the tests check what holds for every draw (no gap
above its ceiling plus scheduling slack) and what fails only with negligible probability
(capped waits that sum to almost nothing; two runs drawing the same waits).
"""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import pairwise

import pytest

from crawler.retries import backoff_ceiling, full_jitter
from tests import helpers
from tests.crawler.hostile_site import archive, post
from tests.crawler.timing_site import TimingSite, timing_site
from tests.helpers import ROOT

SLACK = 0.3  # a crawl's own scheduling on a busy CI machine, added to any wait


def crawl(site: TimingSite, tmp_path, *args: str) -> tuple[int, dict, str]:
    stats = tmp_path / "s.json"
    result = helpers.crawl(site.origin, tmp_path / "a.db", "--tag", "news", *args, stats=stats)
    return result.returncode, json.loads(stats.read_text()), result.stderr


def failing_run(tmp_path, answer, *settings: str) -> tuple[list[float], dict, int]:
    site = TimingSite(script={"/tag/flaky/": [answer]}, keep_alive=answer != "drop")
    with timing_site(site):
        code, stats, _ = crawl(site, tmp_path, "--tag", "flaky", *settings)
    return site.gaps("/tag/flaky/"), stats, code


def test_backoff_grows_jittered_under_the_cap(tmp_path):
    """A page that answers 503 every time: waits double to the cap, differ between runs, and
    after the last retry the page is a failure (exit 3), the rest of the run archived."""
    base, cap, retries = 0.1, 0.8, 7
    settings = (
        "--set", f"RETRY_TIMES={retries}",
        "--set", f"TAG_ARCHIVER_BACKOFF_BASE={base}",
        "--set", f"TAG_ARCHIVER_BACKOFF_MAX={cap}",
    )  # fmt: skip
    runs = []
    for n in (1, 2):
        (tmp_path / str(n)).mkdir()
        gaps, stats, code = failing_run(tmp_path / str(n), 503, *settings)
        print(f"run {n} gaps:", " ".join(f"{g:.3f}" for g in gaps), file=sys.stderr)
        assert code == 3
        assert stats["tag_archiver/errors/download"] == 1
        assert stats["retry/max_reached"] == 1
        assert stats["tag_archiver/articles/new"] == 1  # news was archived all the same
        assert len(gaps) == retries  # one try and RETRY_TIMES retries, no more
        for attempt, gap in enumerate(gaps, start=1):
            assert gap <= backoff_ceiling(attempt, base, cap) + SLACK, (attempt, gaps)
        # Four waits drawn from [0, 0.8] sum to under 0.2 s once in 6,000 runs; Scrapy's
        # immediate retries (a few ms each) always do.
        assert sum(gaps[3:]) >= 0.2, gaps
        runs.append(gaps)
    # Jitter: two runs draw different waits, by far more than timing noise.
    assert max(abs(a - b) for a, b in zip(*runs, strict=True)) >= 0.05, runs


def test_connection_errors_back_off_too(tmp_path):
    """A server that hangs up without answering is retried after growing waits as well."""
    gaps, stats, code = failing_run(
        tmp_path, "drop",
        "--set", "RETRY_TIMES=5",
        "--set", "TAG_ARCHIVER_BACKOFF_BASE=0.2",
        "--set", "TAG_ARCHIVER_BACKOFF_MAX=0.4",
    )  # fmt: skip
    assert code == 3
    assert len(gaps) == 5 and stats["tag_archiver/errors/download"] == 1
    assert all(gap <= 0.4 + SLACK for gap in gaps), gaps
    assert sum(gaps[1:]) >= 0.1, gaps  # four waits from [0, 0.4]: under 0.1 s once in 6,000


def test_default_backoff_at_delay_0_still_grows(tmp_path):
    """--delay 0 (a local site) backs off from 0.05 s: Scrapy alone retries in milliseconds."""
    gaps, _, code = failing_run(tmp_path, 500, "--set", "RETRY_TIMES=6")
    assert code == 3 and len(gaps) == 6
    assert all(gap <= backoff_ceiling(n, 0.05, 60) + SLACK for n, gap in enumerate(gaps, 1))
    assert sum(gaps[3:]) >= 0.1, gaps  # waits from [0, 0.4], [0, 0.8], [0, 1.6]


def test_a_longer_retry_after_wins_over_backoff(tmp_path):
    page = archive("flaky", post(2, "beta", "Beta", "Beta text.", ("flaky",))).encode()
    site = TimingSite(script={"/tag/flaky/": [("retry-after", 503, 1), page]})
    with timing_site(site):
        code, stats, _ = crawl(site, tmp_path, "--tag", "flaky")
    (gap,) = site.gaps("/tag/flaky/")
    assert 1.0 <= gap <= 1.0 + SLACK  # the backoff drew at most 0.05 s: the server's 1 s won
    assert stats["tag_archiver/retry_after/honoured"] == 1
    assert code == 0 and stats["tag_archiver/articles/new"] == 2


def test_a_retry_after_beyond_the_limit_fails_the_page_at_once(tmp_path):
    site = TimingSite(script={"/tag/flaky/": [("retry-after", 429, 3600)]})
    with timing_site(site):
        code, stats, stderr = crawl(
            site, tmp_path, "--tag", "flaky", "--set", "TAG_ARCHIVER_RETRY_AFTER_MAX=5"
        )
    assert len(site.times("/tag/flaky/")) == 1  # not asked again against the server's wish
    assert code == 3 and stats["tag_archiver/retry_after/too_long"] == 1
    assert "TAG_ARCHIVER_RETRY_AFTER_MAX" in stderr


TWO_SITES = """
import sys
import scrapy
from scrapy.crawler import CrawlerProcess

troubled, healthy = sys.argv[1:3]

class TwoSites(scrapy.Spider):
    name = "two-sites"

    async def start(self):
        yield scrapy.Request(troubled + "/tag/flaky/", errback=self.ignore)
        yield scrapy.Request(healthy + "/p0", callback=self.walk, cb_kwargs={"n": 0})

    def walk(self, response, n):
        if n < 9:
            yield response.follow(f"/p{n + 1}", callback=self.walk, cb_kwargs={"n": n + 1})

    def ignore(self, failure):
        pass

process = CrawlerProcess({
    "DOWNLOADER_MIDDLEWARES": {"crawler.retries.RetryBackoff": 551},
    "TAG_ARCHIVER_BACKOFF_BASE": 1.0, "TAG_ARCHIVER_BACKOFF_MAX": 2.0,
    "TAG_ARCHIVER_RETRY_AFTER_MAX": 300.0, "RETRY_TIMES": 2, "LOG_LEVEL": "WARNING",
})
process.crawl(TwoSites)
process.start()
"""


def test_a_site_on_hold_does_not_hold_other_sites(tmp_path):
    """Site A answers 503 + Retry-After: 1 (a hold of exactly 1 s: backoff draws at most 1 s
    here); site B, another host, is walked page by page, 0.15 s a page, meanwhile."""
    troubled = TimingSite(script={"/tag/flaky/": [("retry-after", 503, 1)]})
    healthy = TimingSite(script={f"/p{n}": [b"<html><body>p</body></html>"] for n in range(10)})
    healthy.delay = 0.15
    script = tmp_path / "two_sites.py"
    script.write_text(TWO_SITES)
    with timing_site(troubled, "127.0.0.1"), timing_site(healthy, "127.0.0.2"):
        done = subprocess.run(
            [sys.executable, str(script), troubled.origin, healthy.origin],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    held = troubled.times("/tag/flaky/")
    assert len(held) == 3 and all(gap >= 1.0 for gap in troubled.gaps("/tag/flaky/"))
    walked = [t for t, _ in healthy.arrivals]
    assert len(walked) == 10
    assert max(b - a for a, b in pairwise(walked)) < 0.5
    assert sum(held[0] < t < held[1] for t in walked) >= 4  # B went on during A's hold


@pytest.mark.parametrize("attempt", [1, 2, 3, 8])
def test_full_jitter_spans_zero_to_the_ceiling(attempt):
    ceiling = backoff_ceiling(attempt, 1.0, 60.0)
    assert ceiling == min(60.0, 2.0 ** (attempt - 1))
    draws = [full_jitter(attempt, 1.0, 60.0) for _ in range(2000)]
    assert 0 <= min(draws) < ceiling * 0.05 and ceiling * 0.95 < max(draws) <= ceiling
    assert abs(sum(draws) / len(draws) - ceiling / 2) < ceiling * 0.05
