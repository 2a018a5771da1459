"""One post, one row: by canonical URL and by WordPress post ID; one term, one row."""

from __future__ import annotations

from archive.records import ContentKind, Observed, Source, Term
from archive.run_ledger import save_observed
from archive.store import Outcome, Store
from tests.helpers import T1, T2, article

OLD, NEW = "http://b.test/2025/old-slug/", "http://b.test/2025/new-slug/"


def test_a_post_whose_slug_changed_stays_one_row_with_both_urls(tmp_path):
    with Store(tmp_path / "a.db") as store:
        store.save([Observed(article(OLD, wp_post_id=12))], T1)
        (saved,) = store.save([Observed(article(NEW, wp_post_id=12, source=Source.SINGLE))], T2)
        assert saved.outcome is Outcome.UNCHANGED
        assert store.db.execute("SELECT id, url FROM articles").fetchall() == [(1, NEW)]
        urls = store.db.execute("SELECT url, article_id FROM article_urls ORDER BY url").fetchall()
        assert urls == [(NEW, 1), (OLD, 1)]
        # a stale link to the old URL is still the same post, and does not move it back
        store.save([Observed(article(OLD, wp_post_id=12))], T2)
        assert store.db.execute("SELECT url FROM articles").fetchall() == [(NEW,)]
        known = store.known_articles()
        assert known.get(OLD) is not None and known.get(NEW) is not None


def test_two_posts_claiming_one_permalink_are_reported_not_merged(tmp_path):
    with Store(tmp_path / "a.db") as store:
        store.save([Observed(article(OLD, wp_post_id=12, title="First"))], T1)
        tally = save_observed(store, [Observed(article(OLD, wp_post_id=13, title="Second"))], T2)
        assert tally.conflicts == [OLD]
        assert not tally.outcomes
        assert store.db.execute("SELECT wp_post_id, title FROM articles").fetchall() == [
            (12, "First")
        ]


def test_a_non_ascii_tag_seen_first_by_its_class_then_by_its_link_is_one_row(tmp_path):
    with Store(tmp_path / "a.db") as store:
        store.save([Observed(article(OLD, tags=(Term("caf-socit", from_class=True),)))], T1)
        linked = Term(
            "café-société", "Café Société", "http://b.test/tag/caf%C3%A9-soci%C3%A9t%C3%A9/"
        )
        store.save([Observed(article(NEW, tags=(linked,)))], T1)
        store.save(
            [Observed(article("http://b.test/c/", tags=(Term("caf-socit", from_class=True),)))], T1
        )
        assert store.db.execute("SELECT slug, name FROM tags").fetchall() == [
            ("café-société", "Café Société")
        ]
        assert store.db.execute("SELECT count(*) FROM article_tags").fetchone() == (3,)


def test_the_archive_blocks_own_digest_is_kept_apart_from_the_content(tmp_path):
    excerpt = article(OLD, text="Teaser…", content_kind=ContentKind.EXCERPT)
    full = article(OLD, text="The whole post.", source=Source.SINGLE)
    with Store(tmp_path / "a.db") as store:
        store.save([Observed(excerpt), Observed(full)], T1)
        row = store.db.execute(
            "SELECT archive_content, archive_sha256, content_sha256, content_text FROM articles"
        ).fetchone()
        assert row == ("excerpt", excerpt.content.sha256, full.content.sha256, "The whole post.")
        # what an incremental run compares a listed block with: the block seen last time
        assert store.known_articles().get(OLD) == (excerpt.content.sha256, "single")
        # the same excerpt again changes nothing
        (saved,) = store.save([Observed(excerpt)], T2)
        assert saved.outcome is Outcome.UNCHANGED


def test_modified_date_and_date_sources_are_stored(tmp_path):
    with Store(tmp_path / "a.db") as store:
        store.save(
            [Observed(article(OLD, modified="2025-06-01T10:00:00+00:00",
                              published_source="time-marked", modified_source="time-marked"))],
            T1,
        )  # fmt: skip
        assert store.db.execute(
            "SELECT published, published_source, modified, modified_source FROM articles"
        ).fetchone() == (
            "2024-01-01T00:00:00+00:00", "time-marked", "2025-06-01T10:00:00+00:00", "time-marked"
        )  # fmt: skip
