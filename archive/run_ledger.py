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

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from archive.records import Observed, Source
from archive.store import Outcome, Store

_LEDGER = """CREATE TEMP TABLE IF NOT EXISTS run_articles (
    article_id INTEGER PRIMARY KEY,
    outcome TEXT NOT NULL,
    listed INTEGER NOT NULL  -- seen on one of the run's tag archive pages
)"""


@dataclass
class Tally:
    """What one batch changed in the run's counts of distinct articles. Each is counted under
    one outcome, so their sum is how many articles the run has stored."""

    outcomes: Counter[Outcome] = field(default_factory=Counter)  # may go down as well as up
    listed_again: int = 0  # listed by a tag page after an earlier one of this run listed it
    conflicts: list[str] = field(default_factory=list)  # permalinks claimed by another post


def save_observed(store: Store, batch: list[Observed], seen_at: str) -> Tally:
    """Store.save(batch, seen_at), and the batch entered in the run's ledger, in one
    transaction. An article's outcome in the run is its first one, except that an article
    first seen unchanged and later changed (its own page differs from its archive block)
    counts as changed; one seen new stays new."""
    tally = Tally()
    # store.writing(): a failure here rolls back the save too, and the store must forget
    # what it cached in that transaction, as when the save itself fails.
    with store.writing(), store.transaction():
        saved = store.save(batch, seen_at)
        conn = store.conn
        conn.execute(_LEDGER)
        for observed, result in zip(batch, saved, strict=True):
            if result.outcome is Outcome.CONFLICT:
                tally.conflicts.append(result.url)
                continue
            listed = observed.article.source is Source.ARCHIVE
            row = conn.execute(
                "SELECT outcome, listed FROM temp.run_articles WHERE article_id = ?",
                [result.article_id],
            ).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO temp.run_articles (article_id, outcome, listed) VALUES (?, ?, ?)",
                    [result.article_id, result.outcome, listed],
                )
                tally.outcomes[result.outcome] += 1
                continue
            before, was_listed = Outcome(row[0]), bool(row[1])
            after = result.outcome if before is Outcome.UNCHANGED else before
            tally.listed_again += listed and was_listed
            if after is not before:
                tally.outcomes[before] -= 1
                tally.outcomes[after] += 1
            if after is not before or (listed and not was_listed):
                conn.execute(
                    "UPDATE temp.run_articles SET outcome = ?, listed = ? WHERE article_id = ?",
                    [after, listed or was_listed, result.article_id],
                )
    return tally


def unlisted_under(store: Store, walked: Iterable[tuple[str, str]]) -> list[str]:
    """Permalinks of the stored articles under each (tag slug, oldest publication date) that
    the run's tag pages did not list, in order: those the run should check one by one."""
    missing: set[str] = set()
    with store.writing():
        store.conn.execute(_LEDGER)
        for slug, since in walked:
            missing.update(
                url
                for (url,) in store.conn.execute(
                    "SELECT a.url FROM articles a JOIN article_tags l ON l.article_id = a.id "
                    "JOIN tags t ON t.id = l.tag_id WHERE t.slug = ? AND a.published >= ? "
                    "AND a.gone_at IS NULL AND a.id NOT IN "
                    "(SELECT article_id FROM temp.run_articles WHERE listed)",
                    [slug, since],
                )
            )
    return sorted(missing)
