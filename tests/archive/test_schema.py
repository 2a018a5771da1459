"""Numbered schema steps: a database from an older tag-archiver is brought up to date."""

from __future__ import annotations

import sqlite3

import pytest
import sqlite_utils

from archive.schema import FTS_AUTOMERGE, MIGRATIONS, SCHEMA_VERSION, SEARCHED
from archive.store import Store


def test_a_version_1_database_gains_search_and_views(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db["articles"].insert(
        {"url": "http://b.test/a/", "title": "Scaling laws", "content_text": "Models scale.",
         "record_source": "single", "extractor_version": "1", "first_seen": "t", "last_seen": "t"}
    )  # fmt: skip
    db.conn.commit()
    db.close()

    Store(path).close()

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    # the rows written before the upgrade are searchable, with stemming
    assert conn.execute(
        "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'scaling'"
    ).fetchall() == [(1,)]
    assert conn.execute("SELECT title, tags FROM article_summary").fetchall() == [
        ("Scaling laws", "[]")
    ]


def test_search_index_follows_every_write(tmp_path):
    from dataclasses import replace

    from archive.records import Observed
    from tests.helpers import T1, T2, article

    store = Store(tmp_path / "a.db")
    store.save([Observed(article(text="Compounding scale."))], T1)
    match = "SELECT count(*) FROM sections_fts WHERE sections_fts MATCH ?"
    assert store.db.execute(match, ["scaling"]).fetchone()[0] == 1
    store.save([Observed(replace(article(text="Different words now.")))], T2)
    assert store.db.execute(match, ["scaling"]).fetchone()[0] == 0
    assert store.db.execute(match, ["different"]).fetchone()[0] == 1


def test_seeing_an_article_again_leaves_the_search_index_alone(tmp_path):
    from dataclasses import replace

    from archive.records import Observed
    from tests.helpers import T1, T2, article

    store = Store(tmp_path / "a.db")
    store.save([Observed(article())], T1)
    index_size = "SELECT count(*), sum(length(block)) FROM articles_fts_data"
    before = store.db.execute(index_size).fetchone()
    store.save([Observed(article())], T2)  # only last_seen changes
    assert store.db.execute(index_size).fetchone() == before
    # a new title is an edit: the index follows it
    store.save([Observed(replace(article(), title="Renamed entirely"))], T2)
    match = "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?"
    assert store.db.execute(match, ["renamed"]).fetchone()[0] == 1
    assert store.db.execute(match, ["title:title"]).fetchone()[0] == 0


def version_5(path) -> sqlite_utils.Database:
    """A new database at `path` as tag-archiver's schema version 5 left it."""
    db = sqlite_utils.Database(path)
    for step in MIGRATIONS[:5]:
        step(db)
    db.execute("PRAGMA user_version = 5")
    return db


def test_a_version_5_database_becomes_its_sites(tmp_path):
    """Step 6: a single-site database's rows all become its site's, named by its runs."""
    path = tmp_path / "v5.db"
    db = version_5(path)
    db["runs"].insert(
        {"id": 1, "started_at": "t", "status": "finished", "site": "pjfp.com",
         "software_version": "0"}
    )  # fmt: skip
    db["captures"].insert(
        {"id": 1, "url": "https://pjfp.com/a/", "status": 200, "fetched_at": "t",
         "warc_file": "x.warc.gz", "warc_offset": 0, "warc_length": 1,
         "warc_record_id": "<urn:uuid:1>", "run_id": 1}
    )  # fmt: skip
    db["articles"].insert(
        {"url": "https://pjfp.com/a/", "title": "A", "record_source": "single",
         "extractor_version": "1", "first_seen": "t", "last_seen": "t", "capture_id": 1}
    )  # fmt: skip
    db["tags"].insert({"slug": "ai", "name": "AI"})
    db["article_tags"].insert({"article_id": 1, "tag_id": 1, "first_seen": "t", "last_seen": "t"})
    db.conn.commit()
    db.close()

    Store(path).close()

    conn = sqlite3.connect(path)
    assert conn.execute("SELECT id, url FROM sites").fetchall() == [(1, "https://pjfp.com/")]
    for table in ("runs", "captures", "articles", "tags"):
        assert conn.execute(f"SELECT DISTINCT site_id FROM {table}").fetchall() == [(1,)], table
    (uuid,) = conn.execute("SELECT uuid FROM runs").fetchone()
    assert len(uuid) == 32
    assert conn.execute("SELECT title, site FROM article_summary").fetchall() == [
        ("A", "https://pjfp.com/")
    ]
    assert conn.execute("SELECT url, articles, runs FROM site_stats").fetchall() == [
        ("https://pjfp.com/", 1, 1)
    ]
    # a tag is now unique per site, not per file
    conn.execute("INSERT INTO sites (url) VALUES ('https://other.test/')")
    conn.execute("INSERT INTO tags (slug, site_id) VALUES ('ai', 2)")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO tags (slug, site_id) VALUES ('ai', 1)")


def test_a_database_without_runs_takes_its_site_from_its_first_capture(tmp_path):
    path = tmp_path / "v5.db"
    db = version_5(path)
    db["captures"].insert(
        {"id": 1, "url": "http://b.test:8080/tag/x/", "status": 200, "fetched_at": "t",
         "warc_file": "x.warc.gz", "warc_offset": 0, "warc_length": 1,
         "warc_record_id": "<urn:uuid:1>"}
    )  # fmt: skip
    db.conn.commit()
    db.close()
    Store(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT url FROM sites").fetchall() == [("http://b.test:8080/",)]
    assert conn.execute("SELECT site_id FROM captures").fetchall() == [(1,)]


def automerge(db, table: str) -> int:
    return db.execute(f"SELECT v FROM [{table}_fts_config] WHERE k = 'automerge'").fetchone()[0]


def test_search_indexes_merge_their_segments_sixteen_at_a_time(tmp_path):
    """Step 7, for a new database and for one written by an earlier version."""
    new = Store(tmp_path / "new.db")
    db = sqlite_utils.Database(tmp_path / "v6.db")
    for step in MIGRATIONS[:6]:
        step(db)
    db.execute("PRAGMA user_version = 6")
    db.close()
    upgraded = Store(tmp_path / "v6.db")
    for store in (new, upgraded):
        assert [automerge(store.db, table) for table in SEARCHED] == [FTS_AUTOMERGE] * 2
        store.close()


def test_how_the_index_merges_leaves_every_search_answer_alone(tmp_path):
    """The same articles, stored a few a batch (each batch a segment), answer the same ranked
    queries under FTS5's default merging (4) and under FTS_AUTOMERGE."""
    from archive.records import Observed
    from tests.helpers import T1, article

    words = ["scaling", "agents", "compute", "inference", "policy", "training", "data"]
    answers = {}
    for merge in (4, FTS_AUTOMERGE):
        store = Store(tmp_path / f"m{merge}.db")
        for table in SEARCHED:
            store.db.execute(
                f"INSERT INTO [{table}_fts] ([{table}_fts], rank) VALUES ('automerge', ?)", [merge]
            )
        for batch in range(40):
            store.save(
                [
                    Observed(article(url=f"http://b.test/{batch}-{n}/", text=" ".join(
                        words[(batch * n + k) % len(words)] for k in range(1 + (batch + n) % 9)
                    )))
                    for n in range(3)
                ],
                T1,
            )  # fmt: skip
        answers[merge] = [
            store.db.execute(
                f"SELECT rowid, rank FROM [{table}_fts] WHERE [{table}_fts] MATCH ? "
                "ORDER BY rank, rowid",
                [word],
            ).fetchall()
            for table in SEARCHED
            for word in words
        ]
        store.close()
    assert answers[4] == answers[FTS_AUTOMERGE]
    assert all(answers[4])  # every word is found somewhere
