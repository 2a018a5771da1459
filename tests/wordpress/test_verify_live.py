"""`verify` against a live WordPress changed on purpose after the crawl (the scratch site).

The scratch site is a classic-theme copy of the test bed that tests may change: it is rebuilt
from a clean database (tests/testbed/reset-site.sh scratch) before and after, and changed
through WordPress's own functions (tests/testbed/mutate.php). Verification must find each
change by name: a post deleted from our database, a post added to the site, a title edited
on the site, a slug changed on the site, a post deleted from the site.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.crawler.rest_site import delete_article
from tests.helpers import run_cli
from tests.wordpress.conftest import mutate

pytestmark = pytest.mark.wordpress

# Post ids on a freshly built test bed (populate.php inserts posts.json in order).
HISTORY_4, HISTORY_6, HISTORY_1, HISTORY_2 = 17, 19, 14, 15


def findings(db: Path) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = conn.execute(
        "SELECT * FROM verifications WHERE run_id = (SELECT max(id) FROM runs) ORDER BY id"
    ).fetchall()
    conn.close()
    return [dict(r) for r in rows]


def test_verify_finds_what_changed_after_the_crawl(scratch, tmp_path):
    db = tmp_path / "scratch.db"
    crawl = run_cli(
        "crawl", scratch, "--db", str(db), "--delay", "0", "--tag", "history", "--verify"
    )
    assert crawl.returncode == 0, crawl.stdout + crawl.stderr
    assert "tag history: expected 10, archived 10" in crawl.stdout
    assert "the archive matches" in crawl.stdout

    # (a) a post deleted from our database
    lost_title, lost_url = delete_article(db, HISTORY_6)
    # (b) a post added to the site after the crawl
    added_id = int(mutate("add-post", "Added After The Crawl", "history"))
    # (c) a title edited on the site after the crawl
    mutate("set-title", str(HISTORY_4), "History Notes, Part 4 (revised)")
    # and a slug changed, and a post deleted, on the site
    mutate("set-slug", str(HISTORY_2), "history-notes-two")
    mutate("delete-post", str(HISTORY_1))

    result = run_cli("verify", scratch, "--db", str(db), "--delay", "0", "--tag", "history")
    out = result.stdout
    assert result.returncode == 3, out + result.stderr
    assert "tag history: expected 10, archived 9" in out
    lines = out.splitlines()

    def line(*parts: str) -> str:
        matching = [x for x in lines if all(p in x for p in parts)]
        assert len(matching) == 1, (parts, out)
        return matching[0]

    line("missing:", f'"{lost_title}"', lost_url)
    line("missing:", '"Added After The Crawl"', f"post {added_id}")
    line("mismatch:", "History Notes, Part 4 (revised)", "'History Notes, Part 4'")
    line("mismatch:", "history-notes-two", "history-notes-part-2")
    line("extra:", '"History Notes, Part 1"')
    assert "verify: 1 tags, 10 posts listed under them: 2 missing, 1 extra, 2 mismatch" in out

    rows = findings(db)
    by_kind = {(r["kind"], r["wp_post_id"], r["field"]) for r in rows}
    assert by_kind >= {
        ("expected", None, None),
        ("missing", HISTORY_6, None),
        ("missing", added_id, None),
        ("mismatch", HISTORY_4, "title"),
        ("mismatch", HISTORY_2, "url"),
        ("extra", HISTORY_1, None),
    }
    title = next(r for r in rows if r["field"] == "title")
    assert (title["expected"], title["archived"]) == (
        "History Notes, Part 4 (revised)",
        "History Notes, Part 4",
    )
    added = next(r for r in rows if r["wp_post_id"] == added_id)
    assert added["url"].startswith(scratch) and added["expected"] == "Added After The Crawl"
    # verification only adds rows: the archive still holds the old title, the deleted post
    conn = sqlite3.connect(db)
    assert conn.execute(
        "SELECT title FROM articles WHERE wp_post_id = ?", [HISTORY_4]
    ).fetchone() == ("History Notes, Part 4",)
    assert conn.execute(
        "SELECT count(*) FROM articles WHERE wp_post_id = ?", [HISTORY_1]
    ).fetchone() == (1,)
    conn.close()


def test_verify_all_tags_of_an_unchanged_site_matches(scratch, tmp_path):
    db = tmp_path / "scratch.db"
    crawl = run_cli("crawl", scratch, "--db", str(db), "--delay", "0", "--all-tags")
    assert crawl.returncode == 0, crawl.stderr
    result = run_cli("verify", scratch, "--db", str(db), "--delay", "0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 missing, 0 extra, 0 mismatch, 0 inconsistent, 0 unavailable" in result.stdout
