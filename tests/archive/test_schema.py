"""Numbered schema steps: a database from an older tag-archiver is brought up to date."""

from __future__ import annotations

import sqlite3

import sqlite_utils

from archive.schema import MIGRATIONS, SCHEMA_VERSION
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
