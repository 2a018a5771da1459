from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from archive import run_ledger
from archive.errors import StoreError
from archive.records import Observed, Source, Term
from archive.run_ledger import save_observed, unlisted_under
from archive.store import Store
from tests.helpers import T1, T2, article

A, B, C = "http://b.test/a/", "http://b.test/b/", "http://b.test/c/"


def counts(*tallies) -> tuple[int, dict[str, int], int]:
    """(articles stored, their outcomes, listed again) after these batches"""
    outcomes, again = Counter(), 0
    for tally in tallies:
        outcomes.update(tally.outcomes)
        again += tally.listed_again
    return outcomes.total(), {k.value: v for k, v in outcomes.items() if v}, again


def test_counts_distinct_articles_by_their_outcome_in_the_run(tmp_path):
    with Store(tmp_path / "a.db") as earlier:
        earlier.save([Observed(article(url=B)), Observed(article(url=C))], T1)
    with Store(tmp_path / "a.db") as store:  # a new connection: a new run
        first = save_observed(store, [Observed(article(url=A)), Observed(article(url=B))], T2)
        assert counts(first) == (2, {"new": 1, "unchanged": 1}, 0)
        again = [
            Observed(article(url=A, text="Other words.")),  # new this run: stays new
            Observed(article(url=B)),  # listed by a second tag page
            Observed(article(url=C, source=Source.SINGLE, text="Edited.")),  # its own page
        ]
        second = save_observed(store, again, T2)
        assert counts(first, second) == (3, {"new": 1, "unchanged": 1, "changed": 1}, 2)
        # B's own page differs from its archive block: first unchanged, now changed
        edited = [Observed(article(url=B, source=Source.SINGLE, text="Longer text."))]
        third = save_observed(store, edited, T2)
        assert counts(first, second, third) == (3, {"new": 1, "changed": 2}, 2)


def test_the_ledger_belongs_to_one_connection(tmp_path):
    with Store(tmp_path / "a.db") as store:
        save_observed(store, [Observed(article(url=A))], T1)
    with Store(tmp_path / "a.db") as store:
        tally = save_observed(store, [Observed(article(url=A))], T2)
    assert counts(tally) == (1, {"unchanged": 1}, 0)


def test_a_failed_batch_leaves_the_ledger_as_it_was(tmp_path):
    with Store(tmp_path / "a.db") as store:
        store.db.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON articles WHEN NEW.url = 'http://b.test/bad/' "
            "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )
        batch = [Observed(article(url=A)), Observed(article(url="http://b.test/bad/"))]
        with pytest.raises(StoreError, match="disk trouble"):
            save_observed(store, batch, T1)
        tally = save_observed(store, [Observed(article(url=A))], T1)
    assert counts(tally) == (1, {"new": 1}, 0)  # A was not counted by the failed batch


def test_unlisted_under_names_what_the_run_should_check(tmp_path):
    other = (Term("other", "Other", None),)
    with Store(tmp_path / "a.db") as earlier:
        stored = [
            Observed(article(url=A)),
            Observed(article(url=B)),
            Observed(article(url=C)),
            Observed(article(url="http://b.test/old/", published="2020-01-01T00:00:00+00:00")),
            Observed(article(url="http://b.test/gone/")),
            Observed(article(url="http://b.test/elsewhere/", tags=other)),
        ]
        earlier.save(stored, T1)
        earlier.mark_gone("http://b.test/gone/", T1)
    with Store(tmp_path / "a.db") as store:
        assert unlisted_under(store, [("news", "2023-01-01")]) == [A, B, C]
        listed = Observed(article(url=A))
        own_page = Observed(replace(article(url=B), source=Source.SINGLE))  # not a listing
        save_observed(store, [listed, own_page], T2)
        assert unlisted_under(store, [("news", "2023-01-01")]) == [B, C]
        assert unlisted_under(store, [("news", "2023-01-01"), ("other", "2023-01-01")]) == [
            B,
            C,
            "http://b.test/elsewhere/",
        ]
        assert unlisted_under(store, []) == []


def test_a_ledger_failure_after_the_save_rolls_back_as_a_failed_save_does(tmp_path):
    with Store(tmp_path / "a.db") as store:
        # the ledger's own table, made to fail after Store.save has done its part
        store.db.execute(run_ledger._LEDGER.format(schema="temp"))
        store.db.execute(
            "CREATE TEMP TRIGGER boom BEFORE INSERT ON run_articles "
            "BEGIN SELECT RAISE(ABORT, 'temp disk trouble'); END"
        )
        with pytest.raises(StoreError, match="temp disk trouble"):
            save_observed(store, [Observed(article(url=A))], T1)
        assert store.db["articles"].count == 0 and store.db["tags"].count == 0
        store.db.execute("DROP TRIGGER temp.boom")
        # the tag row written by the rolled-back save must not be remembered by the store
        tally = save_observed(store, [Observed(article(url=B))], T1)
        assert counts(tally) == (1, {"new": 1}, 0)
        assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert [r["slug"] for r in store.db.query("SELECT slug FROM tags")] == ["news"]


def test_a_shared_ledger_counts_an_article_once_across_the_stores_that_share_it(tmp_path):
    """Two crawler processes of one run (crawler.shares): each store's ledger is the one
    file, so an article the second stores again is unchanged and listed again, not new."""
    shared = str(tmp_path / "ledger.sqlite")
    with Store(tmp_path / "a.db") as first, Store(tmp_path / "a.db") as second:
        run_ledger.share_ledger(first, shared)
        run_ledger.share_ledger(second, shared)
        assert counts(save_observed(first, [Observed(article(url=A))], T1)) == (1, {"new": 1}, 0)
        again = save_observed(second, [Observed(article(url=A)), Observed(article(url=B))], T1)
        assert counts(again) == (1, {"new": 1}, 1)
        assert unlisted_under(second, [("news", "2023-01-01")]) == []
    with Store(tmp_path / "a.db") as alone:  # a store of its own keeps a ledger of its own
        assert unlisted_under(alone, [("news", "2023-01-01")]) == [A, B]


def test_captures_are_committed_with_the_articles_that_name_them(tmp_path):
    """One transaction: the captures first (the articles' foreign keys), then the articles;
    a batch that fails leaves neither."""
    from archive.warc.files import RecordLocation

    def capture(n: int) -> tuple[RecordLocation, dict]:
        where = RecordLocation("a.warc.gz", n * 1000, 900, f"<urn:uuid:{n:08d}>", "sha1:X", T1)
        fields = {"capture_id": n, "url": f"http://b.test/{n}/", "status": 200,
                  "fetched_at": T1, "content_type": "text/html", "run_id": None}  # fmt: skip
        return where, fields

    with Store(tmp_path / "a.db") as store:
        save_observed(store, [Observed(article(url=A), 1)], T1, captures=[capture(1), capture(2)])
        assert [r["id"] for r in store.db.query("SELECT id FROM captures")] == [1, 2]
        assert store.db.execute("SELECT capture_id FROM articles").fetchall() == [(1,)]
        store.db.execute(
            "CREATE TEMP TRIGGER boom BEFORE INSERT ON articles "
            "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )
        with pytest.raises(StoreError, match="disk trouble"):
            save_observed(store, [Observed(article(url=B), 3)], T1, captures=[capture(3)])
        assert [r["id"] for r in store.db.query("SELECT id FROM captures")] == [1, 2]
