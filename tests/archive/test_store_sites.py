"""Many sites in one database: terms and post IDs are per site, URLs stay unique."""

from __future__ import annotations

import pytest

from archive.errors import StoreError
from archive.records import Observed, Term
from archive.store import Outcome, Store
from tests.helpers import T1, article, rows


def test_two_blogs_ai_tags_are_two_rows(tmp_path):
    db = tmp_path / "corpus.db"
    with Store(db, site="https://a.test/") as store:
        store.save([Observed(article("https://a.test/p/", tags=(Term("ai", "AI", None),)))], T1)
    with Store(db, site="https://b.test/") as store:
        store.save([Observed(article("https://b.test/p/", tags=(Term("ai", "A.I.", None),)))], T1)
    assert rows(
        db,
        "SELECT s.url, t.slug, t.name FROM tags t JOIN sites s ON s.id = t.site_id ORDER BY s.url",
    ) == [("https://a.test/", "ai", "AI"), ("https://b.test/", "ai", "A.I.")]
    assert rows(db, "SELECT url, tags, site FROM article_summary ORDER BY url") == [
        ("https://a.test/p/", '["AI"]', "https://a.test/"),
        ("https://b.test/p/", '["A.I."]', "https://b.test/"),
    ]


def test_the_same_post_id_on_two_sites_is_two_articles(tmp_path):
    """Post IDs are numbered per WordPress: post 7 of one blog is not post 7 of another
    that changed its slug."""
    db = tmp_path / "corpus.db"
    saved = []
    for site in ("https://a.test/", "https://b.test/"):
        with Store(db, site=site) as store:
            saved += store.save([Observed(article(f"{site}post/", wp_post_id=7))], T1)
    assert [s.outcome for s in saved] == [Outcome.NEW, Outcome.NEW]
    assert rows(db, "SELECT count(*), count(DISTINCT site_id) FROM articles") == [(2, 2)]


def test_known_articles_are_the_sites_own(tmp_path):
    db = tmp_path / "corpus.db"
    for site in ("https://a.test/", "https://b.test/"):
        with Store(db, site=site) as store:
            store.save([Observed(article(f"{site}post/"))], T1)
    with Store(db) as store:
        of_a = store.known_articles(site="https://a.test/")
        assert len(of_a) == 1 and of_a.get("https://a.test/post/") is not None
        assert of_a.get("https://b.test/post/") is None
        assert len(store.known_articles(site="https://c.test/")) == 0
        assert len(store.known_articles()) == 2


def test_a_site_is_named_in_one_form(tmp_path):
    db = tmp_path / "corpus.db"
    with Store(db) as store:
        first = store.use_site("a.test", name="A blog")
        assert store.use_site("https://a.test") == first
        assert store.site_id_of("https://a.test/") == first
        assert rows(db, "SELECT url, name FROM sites") == [("https://a.test/", "A blog")]
        with pytest.raises(StoreError, match="not a site URL"):
            store.use_site("https://")


def test_storing_reads_no_site_whole(tmp_path):
    """Every statement a batch runs, with articles known by URL, by post ID under a new
    permalink, and new, reaches rows through an index, never by reading the site's articles
    one by one (SQLite, with no statistics, would rather use the site_id index than the post
    ID's: a scan of the whole site for every lookup, growing with the archive)."""
    db = tmp_path / "corpus.db"
    with Store(db, site="https://a.test/") as store:
        store.save([Observed(article(f"https://a.test/{n}/", wp_post_id=n)) for n in range(50)], T1)
        statements: list[str] = []
        store.conn.set_trace_callback(statements.append)
        store.save(
            [
                Observed(article("https://a.test/1/", wp_post_id=1)),  # known by URL
                Observed(article("https://a.test/moved/", wp_post_id=2)),  # by post ID
                Observed(article("https://a.test/new/", wp_post_id=99)),
            ],
            T1,
        )
        store.conn.set_trace_callback(None)
        plans = {
            sql: [row[3] for row in store.conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
            for sql in statements
            if sql.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE"))
        }
    assert any("wp_post_id" in sql for sql in plans)  # the lookups by post ID were made
    for sql, plan in plans.items():
        for step in plan:
            assert not step.startswith("SCAN articles"), (sql, plan)
            assert "idx_articles_site_id" not in step, (sql, plan)
