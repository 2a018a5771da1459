"""Rebuild the database from WARC files alone: the same extraction over the archived bytes.

Every response record becomes a `captures` row (same WARC record ids as the live crawl);
every 200 tag archive page and single-post page is extracted again and stored. Rows get the
current EXTRACTOR_VERSION, so a better extractor can be re-run over old captures.

Records are stored in the order of the files (sorted by name) and of the records in each,
whatever the number of processes: the rows, their ids and the search index are the same.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from pathlib import Path

from archive.extract.workers import (
    EXTRACTED_KINDS,
    ExtractedRecord,
    WarcExtractors,
    read_warc_files,
)
from archive.records import Observed
from archive.store import Store
from archive.warc.reader import file_site

logger = logging.getLogger(__name__)

# Responses per transaction. Re-extraction can be run again, so it commits in large steps:
# each commit also indexes the new rows for search, which costs less the more at once.
TRANSACTION_RESPONSES = 500


def reextract(
    warc_files: Iterable[Path], db_path: Path, workers: int | None = None, site: str | None = None
) -> Counter:
    """Returns counts: responses, pages extracted (pages/KIND), articles, unreadable pages
    (unreadable/REASON).

    Each file's rows are stored as the site's it belongs to (archive.warc.reader.file_site),
    or as `site`'s when given.

    `workers` reader-extractor processes (default: one per core) each read whole WARC files
    and extract them (archive.extract.workers.WarcExtractors), while this process stores
    what they extracted; 0, one core, or a single file: all of it in this process. Their
    spools go beside the database, in a directory removed at the end.
    """
    paths = sorted(Path(p) for p in warc_files)
    processes = reextract_workers(len(paths)) if workers is None else min(workers, len(paths))
    counts: Counter = Counter()
    sites = {path.name: site or file_site(path) for path in paths}
    with Store(db_path) as store:
        if processes == 0:
            _store_all(store, read_warc_files(paths), counts, sites)
        else:
            with WarcExtractors(paths, processes, Path(db_path).parent) as extractors:
                _store_all(store, extractors.records(), counts, sites)
    return counts


def reextract_workers(files: int) -> int:
    """One reader-extractor process per core, no more than there are files; none (all in
    this process) on a single core. A single file still gets its reader: reading and
    extracting beside the storing measured 0.87x the time of doing both in turn."""
    cores = os.cpu_count() or 1
    return min(cores, files) if cores > 1 else 0


def _store_all(
    store: Store,
    records: Iterator[ExtractedRecord],
    counts: Counter,
    sites: Mapping[str, str | None],
) -> None:
    counted = _counted(records, counts)
    while store_reextracted(store, islice(counted, TRANSACTION_RESPONSES), sites):
        pass


def store_reextracted(
    store: Store,
    records: Iterable[ExtractedRecord],
    sites: Mapping[str, str | None] | None = None,
) -> int:
    """Store the records' capture rows (those not stored already; none for a record without
    a valid WARC-Date) and the articles read from them, in one transaction, its new rows
    indexed once; `sites`: WARC file name -> the site its rows are stored as (else the
    store's). Returns how many records there were. Also the writer's "store_reextracted"
    operation (archive.writer)."""
    stored = 0
    # Records fetched in the same second share their seen_at, and their articles go to the
    # store as one batch (what the store does per batch, it does once): in record order,
    # after their capture rows, so the rows are those that storing record by record gives.
    batch: list[Observed] = []
    seen_at = None
    store_site = None
    with store.bulk():
        for record in records:
            stored += 1
            if record.fetched_at is None:
                continue
            site = sites.get(record.location.warc_file) if sites else None
            if batch and (record.fetched_at != seen_at or (site and site != store_site)):
                store.save(batch, seen_at)
                batch = []
            if site and site != store_site:
                store.use_site(site)
                store_site = site
            seen_at = record.fetched_at
            location = record.location
            existing = store.conn.execute(
                "SELECT id FROM captures WHERE warc_record_id = ?", [location.record_id]
            ).fetchone()
            if existing:
                capture_id = existing[0]
            else:
                capture_id = store.add_capture(
                    location,
                    url=record.url,
                    status=record.status,
                    fetched_at=record.fetched_at,
                    content_type=record.content_type,
                )
            batch.extend(Observed(article, capture_id) for article in record.articles)
        if batch:
            store.save(batch, seen_at)
    return stored


def _counted(records: Iterable[ExtractedRecord], counts: Counter) -> Iterator[ExtractedRecord]:
    """The records, each counted and its trouble logged as it goes by."""
    for record in records:
        counts["responses"] += 1
        name = record.location.warc_file
        if record.fetched_at is None:
            counts["unreadable/warc-date"] += 1
            logger.warning(
                "record %s in %s has no valid WARC-Date: skipped", record.location.record_id, name
            )
        elif record.unreadable is not None:
            counts[f"unreadable/{record.unreadable}"] += 1
            logger.warning("cannot extract %s from %s: %s", record.url, name, record.problem)
        elif record.kind in EXTRACTED_KINDS:
            counts[f"pages/{record.kind}"] += 1
            counts["articles"] += len(record.articles)
        yield record
