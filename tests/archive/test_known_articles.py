from __future__ import annotations

import pytest

from archive.errors import StoreError
from archive.known_articles import KnownArticles
from archive.records import Observed, Source
from archive.store import Store
from tests.helpers import T1, T2, article


def test_answers_for_what_the_store_held_when_asked(tmp_path):
    with Store(tmp_path / "a.db") as store:
        store.save([Observed(article(url="http://b.test/a/", text="One."))], T1)
        known = store.known_articles()
        # what the run writes afterwards does not change the snapshot
        store.save([Observed(article(url="http://b.test/a/", text="Two."))], T2)
        store.save([Observed(article(url="http://b.test/b/"))], T2)
        expected = store.db.execute(
            "SELECT content_sha256 FROM article_versions ORDER BY id LIMIT 1"
        ).fetchone()[0]
    assert len(known) == 1
    assert known.get("http://b.test/a/") == (expected, Source.ARCHIVE.value)
    assert known.get("http://b.test/b/") is None
    known.close()


def test_an_empty_list_is_false():
    known = KnownArticles()
    assert not known and len(known) == 0 and known.get("http://b.test/a/") is None


def test_a_row_it_cannot_keep_is_a_store_error():
    with pytest.raises(StoreError, match="cannot keep"):
        KnownArticles([("http://b.test/a/", None, None)])  # a stored row has a source
