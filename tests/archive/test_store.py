"""The SQLite store: schema, merging observations, idempotency, all-or-nothing batches."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive.errors import StoreError
from archive.extract import extract_page
from archive.records import Observed, Section, SectionItem, Source, Term
from archive.schema import SCHEMA_VERSION
from archive.store import Outcome, Store
from archive.warc.files import RecordLocation
from crawler.snapshot import SNAPSHOT_ORIGIN
from tests.helpers import T1, T2, article, dump, html_pages

GOLDEN_SCHEMA = Path(__file__).parent / "golden" / "schema.sql"


def test_schema_matches_golden(tmp_path, golden):
    Store(tmp_path / "a.db").close()
    db = sqlite_utils.Database(tmp_path / "a.db")
    golden(GOLDEN_SCHEMA, db.schema + "\n")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_one_article_under_two_tags_is_one_row(tmp_path):
    store = Store(tmp_path / "a.db")
    store.save([Observed(article(tags=(Term("news"),)))], T1)
    store.save([Observed(article(tags=(Term("views", "Views", None),)))], T1)
    db = store.db
    assert db["articles"].count == 1
    assert {r["slug"] for r in db.query("SELECT slug FROM tags")} == {"news", "views"}
    assert db["article_tags"].count == 2


def test_storing_again_changes_only_last_seen(tmp_path):
    pages = [extract_page(SNAPSHOT_ORIGIN + path, h, b) for path, h, b in html_pages("classic")]
    store = Store(tmp_path / "a.db")
    for page in pages:
        store.save([Observed(a) for a in page.articles], T1)
    before = dump(tmp_path / "a.db")
    results = [
        saved for page in pages for saved in store.save([Observed(a) for a in page.articles], T2)
    ]
    assert {r.outcome for r in results} == {Outcome.UNCHANGED}
    assert dump(tmp_path / "a.db") == before
    assert {r["last_seen"] for r in store.db.query("SELECT last_seen FROM articles")} == {T2}


def test_order_of_observations_does_not_matter(tmp_path):
    pages = [extract_page(SNAPSHOT_ORIGIN + path, h, b) for path, h, b in html_pages("classic")]
    forwards, backwards = Store(tmp_path / "f.db"), Store(tmp_path / "b.db")
    for page in pages:
        forwards.save([Observed(a) for a in page.articles], T1)
    for page in reversed(pages):
        backwards.save([Observed(a) for a in page.articles], T1)
    ignore = ("last_seen", "id", "article_id", "section_id", "tag_id", "category_id")

    def by_url(path):
        db = sqlite_utils.Database(path)
        return {
            row["url"]: {k: v for k, v in row.items() if k not in ignore}
            for row in db["articles"].rows
        }

    assert by_url(tmp_path / "f.db") == by_url(tmp_path / "b.db")
    # the classic theme prints no author on archives: the article pages filled it in
    assert all(row["author"] for row in by_url(tmp_path / "f.db").values())


def test_single_page_wins_over_archive_block(tmp_path):
    store = Store(tmp_path / "a.db")
    store.save([Observed(article(source=Source.SINGLE, text="Full text.", author="Ada"))], T1)
    (saved,) = store.save(
        [Observed(article(source=Source.ARCHIVE, text="Teaser", author=None))], T1
    )
    assert saved.outcome is Outcome.UNCHANGED
    row = next(store.db["articles"].rows)
    assert (row["content_text"], row["author"], row["record_source"]) == (
        "Full text.",
        "Ada",
        "single",
    )


def test_a_retitled_post_names_the_capture_that_shows_its_new_title(tmp_path):
    """Only the title changed: the row and its new version point at the new page's capture,
    the old version at the old one."""
    store = Store(tmp_path / "a.db")
    for capture_id, when in ((1, T1), (2, T2)):
        store.add_capture(
            RecordLocation(f"{capture_id}.warc.gz", 0, 1, f"<urn:uuid:{capture_id}>", None),
            url="http://b.test/a/",
            status=200,
            fetched_at=when,
            content_type="text/html",
            capture_id=capture_id,
        )
    store.save([Observed(article(source=Source.SINGLE, title="Old"), capture_id=1)], T1)
    (saved,) = store.save([Observed(article(source=Source.SINGLE, title="New"), capture_id=2)], T2)
    assert saved.outcome is Outcome.CHANGED
    assert next(store.db["articles"].rows)["capture_id"] == 2
    versions = [(v["title"], v["capture_id"]) for v in store.db["article_versions"].rows]
    assert versions == [("Old", 1), ("New", 2)]


def test_an_edit_replaces_sections(tmp_path):
    store = Store(tmp_path / "a.db")
    store.save([Observed(article(text="Old words."))], T1)
    (saved,) = store.save([Observed(article(text="New words."))], T2)
    assert saved.outcome is Outcome.CHANGED
    assert [r["text"] for r in store.db.query("SELECT text FROM sections")] == ["New words."]
    assert store.db["section_items"].count == 1


def test_a_failed_batch_leaves_nothing_behind(tmp_path):
    store = Store(tmp_path / "a.db")
    store.save([Observed(article(url="http://b.test/kept/"))], T1)
    before = dump(tmp_path / "a.db", ignore=())
    store.db.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON section_items WHEN NEW.text = 'explode' "
        "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
    )
    good = article(url="http://b.test/one/")
    bad = replace(
        article(url="http://b.test/two/"),
        content=replace(
            good.content, sections=(Section(0, None, None, "x", (SectionItem(0, 0, "explode"),)),)
        ),
    )
    with pytest.raises(StoreError, match="disk trouble"):
        store.save([Observed(good), Observed(bad)], T2)
    store.db.execute("DROP TRIGGER boom")
    assert dump(tmp_path / "a.db", ignore=()) == before


def test_hostile_values_are_stored_verbatim(tmp_path):
    store = Store(tmp_path / "a.db")
    nasty = "'); DROP TABLE articles; -- ] \" <script>alert(1)</script>"
    store.save([Observed(article(title=nasty, tags=(Term(nasty, nasty, None),)))], T1)
    assert next(store.db["articles"].rows)["title"] == nasty
    assert next(store.db["tags"].rows)["slug"] == nasty


def test_refuses_a_database_that_is_not_ours(tmp_path):
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE mine (x)").connection.commit()
    with pytest.raises(StoreError, match="not a tag-archiver database"):
        Store(path)


def test_refuses_a_newer_schema(tmp_path):
    path = tmp_path / "new.db"
    Store(path).close()
    sqlite3.connect(path).execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def test_refuses_a_file_that_is_not_sqlite(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        Store(path)


def _search_index_matches_the_tables(store: Store) -> None:
    # FTS5's own check: with rank 1 it compares the index with the content tables' rows.
    for table in ("articles_fts", "sections_fts"):
        store.db.execute(f"INSERT INTO {table}({table}, rank) VALUES('integrity-check', 1)")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(
        st.lists(
            st.tuples(
                st.sampled_from(["http://b.test/a/", "http://b.test/b/", "http://b.test/c/"]),
                st.sampled_from(["Scaling laws.", "Compute and data.", "Agents act."]),
                st.sampled_from(["Title", "Another title"]),
                st.sampled_from(list(Source)),
            ),
            min_size=1,
            max_size=6,
        ),
        min_size=1,
        max_size=5,
    ),
    bulk=st.booleans(),
)
def test_the_search_index_follows_any_sequence_of_batches(tmp_path_factory, batches, bulk):
    """Articles seen twice in one batch, edited, re-titled, batches inside one bulk
    transaction (re-extraction): the index always equals the rows."""
    store = Store(tmp_path_factory.mktemp("fts") / "a.db")
    with store.bulk() if bulk else contextlib.nullcontext():
        for n, batch in enumerate(batches):
            store.save(
                [
                    Observed(article(url, source, text, title=title))
                    for url, text, title, source in batch
                ],
                f"2026-01-{n + 1:02d}T00:00:00Z",
            )
            if not bulk:
                _search_index_matches_the_tables(store)
    _search_index_matches_the_tables(store)
    words = store.db.execute(
        "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'scale OR comput OR agent'"
    ).fetchone()[0]
    assert words == store.db.execute("SELECT count(*) FROM articles").fetchone()[0]
    store.close()


def test_a_terms_name_and_url_are_filled_in_when_known(tmp_path):
    store = Store(tmp_path / "a.db")
    store.save([Observed(article(tags=(Term("views"),)))], T1)  # from post_class() only
    store.save([Observed(article(tags=(Term("views", "Views", None),)))], T1)
    store.save([Observed(article(tags=(Term("views", None, "http://b.test/tag/views/"),)))], T2)
    store.save([Observed(article(tags=(Term("views"),)))], T2)  # knowing less changes nothing
    rows = list(store.db.query("SELECT slug, name, url FROM tags WHERE slug = 'views'"))
    assert rows == [{"slug": "views", "name": "Views", "url": "http://b.test/tag/views/"}]


def test_a_term_first_seen_in_a_failed_batch_is_stored_by_the_next(tmp_path):
    store = Store(tmp_path / "a.db")
    # fails after the new tag's row was written (tags are linked before categories)
    store.db.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON article_categories "
        "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
    )
    fresh = Term("fresh", "Fresh", "http://b.test/tag/fresh/")
    with pytest.raises(StoreError):
        store.save([Observed(article(tags=(fresh,), categories=(Term("boom"),)))], T1)
    store.save([Observed(article(tags=(fresh,)))], T1)
    linked = store.db.execute(
        "SELECT t.slug, t.name FROM article_tags l JOIN tags t ON t.id = l.tag_id"
    ).fetchall()
    assert linked == [("fresh", "Fresh")]


_OBSERVATIONS = st.lists(
    st.tuples(
        st.sampled_from(["http://b.test/a/", "http://b.test/b/", "http://b.test/c/"]),
        st.sampled_from([None, 1, 2]),  # post IDs shared across URLs: permalink changes
        st.sampled_from(["Scaling laws.", "Compute and data.", "Agents act."]),
        st.sampled_from(["Title", "Another title"]),
        st.sampled_from(list(Source)),
        st.sampled_from([(), (Term("news"),), (Term("news", "News", None), Term("ai"))]),
    ),
    max_size=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(earlier=_OBSERVATIONS, observations=_OBSERVATIONS.filter(bool))
def test_a_batch_stores_what_its_observations_store_one_by_one(
    tmp_path_factory, earlier, observations
):
    """Rows written at the end of a batch, lookups skipped for what the batch shows is new:
    every table ends as if each observation had been its own batch, row ids included."""

    def observed(values):
        return [
            Observed(article(url, source, text, title=title, wp_post_id=post_id, tags=tags))
            for url, post_id, text, title, source, tags in values
        ]

    folder = tmp_path_factory.mktemp("batch")
    together, apart = Store(folder / "together.db"), Store(folder / "apart.db")
    for store in (together, apart):
        for one in observed(earlier):
            store.save([one], T1)
    batch = observed(observations)
    outcomes = together.save(batch, T2)
    assert [saved for one in batch for saved in apart.save([one], T2)] == outcomes
    for store in (together, apart):
        _search_index_matches_the_tables(store)
        store.close()
    assert dump(folder / "together.db", ignore=()) == dump(folder / "apart.db", ignore=())
