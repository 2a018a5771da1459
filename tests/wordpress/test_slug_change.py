"""A post whose slug changed after it was first crawled stays one article (the scratch site).

WordPress keeps the old slug (_wp_old_slug) and redirects the old permalink to the new one;
the archive must follow the post by its ID: one row, its URL the new permalink, both URLs in
article_urls, its history intact.
"""

from __future__ import annotations

import sqlite3

import pytest

from tests.helpers import crawl_or_fail
from tests.wordpress.conftest import mutate
from tests.wordpress_truth import assert_matches_truth, canonical, live_truth

pytestmark = pytest.mark.wordpress
# Post id on a freshly built test bed (populate.php inserts posts.json in order): the newest
# post of the tag, listed on its first page, which an incremental run reads. An edit to a
# post listed only on older pages waits for a --full run, by design (README, Scheduling).
HISTORY_4 = 17


def crawl(origin: str, db, *args: str) -> None:
    crawl_or_fail(origin, db, "--tag", "history", *args)


@pytest.mark.parametrize("mode", [(), ("--full",)], ids=["incremental", "full"])
def test_a_changed_slug_keeps_one_row_with_both_urls(scratch, tmp_path, mode):
    db = tmp_path / "a.db"
    crawl(scratch, db)
    conn = sqlite3.connect(db)
    (old_url,) = conn.execute(
        "SELECT url FROM articles WHERE wp_post_id = ?", [HISTORY_4]
    ).fetchone()
    versions = conn.execute("SELECT count(*) FROM article_versions").fetchone()

    mutate("set-slug", str(HISTORY_4), "history-notes-part-four-renamed")
    crawl(scratch, db, *mode)

    rows = conn.execute("SELECT id, url FROM articles WHERE wp_post_id = ?", [HISTORY_4]).fetchall()
    assert len(rows) == 1
    ((article_id, new_url),) = rows
    assert new_url != old_url and new_url.endswith("/history-notes-part-four-renamed/")
    urls = conn.execute(
        "SELECT url FROM article_urls WHERE article_id = ? ORDER BY first_seen, url", [article_id]
    ).fetchall()
    assert {u for (u,) in urls} == {old_url, new_url}
    # the same words under a new address are not an edit
    assert conn.execute("SELECT count(*) FROM article_versions").fetchone() == versions
    assert conn.execute("SELECT gone_at FROM articles WHERE id = ?", [article_id]).fetchone() == (
        None,
    )
    truth = live_truth(scratch)
    assert canonical(new_url) in {canonical(p["link"]) for p in truth["posts"]}
    assert_matches_truth(db, truth, tags={"history"})
