"""The test bed's other sites, as captured, crawled over loopback: every variant of issue 13
(excerpt archives, plain permalinks, edited posts, no <time>, non-ASCII slugs) matches the
REST truth captured with it, without a live WordPress (tests/wordpress/ checks the live ones)."""

from __future__ import annotations

import sqlite3

import pytest

from crawler.snapshot import serve_snapshot
from tests.helpers import FIXTURES, VARIANTS, run_cli
from tests.wordpress_truth import assert_variant_matches_truth, file_truth


@pytest.mark.parametrize("variant", VARIANTS)
def test_all_tags_matches_the_captured_rest_truth(variant, tmp_path):
    db = tmp_path / "a.db"
    with serve_snapshot(FIXTURES / variant) as server:
        result = run_cli("crawl", server.origin, "--db", str(db), "--delay", "0", "--all-tags")
        truth = file_truth(FIXTURES / variant / "rest-truth.json", server.origin)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_variant_matches_truth(db, truth, variant)
    kinds = {k for (k,) in sqlite3.connect(db).execute("SELECT archive_content FROM articles")}
    assert kinds == ({"excerpt"} if variant.startswith("excerpt") else {"full"})


@pytest.mark.parametrize("variant", ["excerpt-block", "excerpt-classic"])
def test_no_articles_on_an_excerpt_archive_says_it_stored_excerpts(variant, tmp_path):
    with serve_snapshot(FIXTURES / variant) as server:
        result = run_cli(
            "crawl", server.origin, "--db", str(tmp_path / "a.db"), "--delay", "0",
            "--tag", "history", "--no-articles",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "stored as excerpts only" in result.stderr
