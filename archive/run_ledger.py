"""What one crawl has stored so far: a ledger beside the store, not in the crawler's memory.

A crawl counts the distinct articles it stored as new, changed or unchanged, counts the
articles its tag pages listed more than once, and once every tag is walked asks which stored
articles those pages should have listed but did not. That state grows with the run, so it is
not kept in the crawler's memory: it is a temporary table on the store's connection. SQLite
keeps temporary tables in a file behind its bounded page cache, so the ledger costs disk, not
memory, and it is gone when the connection closes, as a run's state should be.

The functions take the store first: they are the database writer's "save_observed" and
"unlisted_under" operations (archive.writer.OPERATIONS), run in its process in order with
everything else the crawl stores.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from archive.records import Observed, Source
from archive.store import Outcome, Store
from archive.warc.files import RecordLocation

_LEDGER = """CREATE TABLE IF NOT EXISTS {schema}.run_articles (
    article_id INTEGER PRIMARY KEY,
    outcome TEXT NOT NULL,
    listed INTEGER NOT NULL  -- seen on one of the run's tag archive pages
)"""
# The stores whose ledger is a file the run's crawler processes share (share_ledger()), by
# the schema it is attached as; any other store's is its connection's temporary table.
_SHARED: weakref.WeakKeyDictionary[Store, str] = weakref.WeakKeyDictionary()
SHARED_SCHEMA = "run_ledger"


def share_ledger(store: Store, path: str) -> None:
    """Keep this store's ledger in the SQLite file at `path`, which the run's other crawler
    processes (crawler.shares) keep theirs in too: an article stored by two of them is
    counted once, and an article one of them listed is listed for all. Its writes are in
    the same transactions as the store's, which SQLite serialises across processes."""
    with store.writing():
        store.conn.execute(f"ATTACH DATABASE ? AS {SHARED_SCHEMA}", [path])
        store.conn.execute(f"PRAGMA {SHARED_SCHEMA}.journal_mode = WAL")
        store.conn.execute(f"PRAGMA {SHARED_SCHEMA}.synchronous = OFF")  # scratch of one run
        store.conn.execute(_LEDGER.format(schema=SHARED_SCHEMA))
    _SHARED[store] = SHARED_SCHEMA


def _ledger(store: Store) -> str:
    """The ledger table's name, created if need be."""
    schema = _SHARED.get(store, "temp")
    store.conn.execute(_LEDGER.format(schema=schema))
    return f"{schema}.run_articles"


# Bound parameters per statement: well under SQLite's limit (32,766 since 3.32).
_IDS_PER_QUERY = 500


@dataclass
class Tally:
    """What one batch changed in the run's counts of distinct articles. Each is counted under
    one outcome, so their sum is how many articles the run has stored."""

    outcomes: Counter[Outcome] = field(default_factory=Counter)  # may go down as well as up
    listed_again: int = 0  # listed by a tag page after an earlier one of this run listed it
    conflicts: list[str] = field(default_factory=list)  # permalinks claimed by another post


def save_observed(
    store: Store,
    batch: list[Observed],
    seen_at: str,
    captures: Iterable[tuple[RecordLocation, dict]] = (),
) -> Tally:
    """Store.add_captures(captures) (the captures the batch's articles name, and any other
    written since the last batch), Store.save(batch, seen_at), and the batch entered in the
    run's ledger, in one transaction. An article's outcome in the run is its first one,
    except that an article first seen unchanged and later changed (its own page differs
    from its archive block) counts as changed; one seen new stays new."""
    tally = Tally()
    # store.writing(): a failure here rolls back the save too, and the store must forget
    # what it cached in that transaction, as when the save itself fails.
    with store.writing(), store.transaction():
        store.add_captures(captures)
        saved = store.save(batch, seen_at)
        conn = store.conn
        ledger = _ledger(store)
        # The batch's ledger rows read at once, settled here, and written back at once.
        ids = list({result.article_id for result in saved})
        entries: dict[int, tuple[Outcome, bool]] = {}
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            for article_id, outcome, listed in conn.execute(
                f"SELECT article_id, outcome, listed FROM {ledger} "
                f"WHERE article_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            ):
                entries[article_id] = (Outcome(outcome), bool(listed))
        written: dict[int, tuple[Outcome, bool]] = {}
        for observed, result in zip(batch, saved, strict=True):
            if result.outcome is Outcome.CONFLICT:
                tally.conflicts.append(result.url)
                continue
            listed = observed.article.source is Source.ARCHIVE
            entry = entries.get(result.article_id)
            if entry is None:
                entries[result.article_id] = written[result.article_id] = (
                    result.outcome,
                    listed,
                )
                tally.outcomes[result.outcome] += 1
                continue
            before, was_listed = entry
            after = result.outcome if before is Outcome.UNCHANGED else before
            tally.listed_again += listed and was_listed
            if after is not before:
                tally.outcomes[before] -= 1
                tally.outcomes[after] += 1
            if after is not before or (listed and not was_listed):
                entries[result.article_id] = written[result.article_id] = (
                    after,
                    listed or was_listed,
                )
        conn.executemany(
            f"INSERT INTO {ledger} (article_id, outcome, listed) VALUES (?, ?, ?) "
            "ON CONFLICT (article_id) DO UPDATE SET outcome = excluded.outcome, "
            "listed = excluded.listed",
            [(article_id, outcome, listed) for article_id, (outcome, listed) in written.items()],
        )
    return tally


def unlisted_under(store: Store, walked: Iterable[tuple[str, str]]) -> list[str]:
    """Permalinks of the stored articles under each (tag slug, oldest publication date) that
    the run's tag pages did not list, in order: those the run should check one by one."""
    missing: set[str] = set()
    with store.writing():
        ledger = _ledger(store)
        for slug, since in walked:
            missing.update(
                url
                for (url,) in store.conn.execute(
                    "SELECT a.url FROM articles a JOIN article_tags l ON l.article_id = a.id "
                    "JOIN tags t ON t.id = l.tag_id WHERE t.slug = ? AND a.published >= ? "
                    "AND a.gone_at IS NULL AND a.id NOT IN "
                    f"(SELECT article_id FROM {ledger} WHERE listed)",
                    [slug, since],
                )
            )
    return sorted(missing)
