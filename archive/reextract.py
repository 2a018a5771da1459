"""Rebuild the database from WARC files alone: the same extraction over the archived bytes.

Every response record becomes a `captures` row (same WARC record ids as the live crawl);
every 200 tag archive page and single-post page is extracted again and stored. Rows get the
current EXTRACTOR_VERSION, so a better extractor can be re-run over old captures.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_datetime

from archive.errors import ExtractionError
from archive.extract.workers import ExtractionWorkers
from archive.records import Observed, PageKind
from archive.store import Store
from archive.warc.files import RecordLocation

logger = logging.getLogger(__name__)

EXTRACTED_KINDS = (PageKind.TAG_ARCHIVE, PageKind.SINGLE)


def iso_seconds(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class _Pending:
    """A page handed to the extraction workers, with what storing its result needs."""

    url: str
    warc_file: str
    capture_id: int
    seen_at: str
    page: Future


@dataclass(frozen=True)
class _Response:
    """A response record, read whole: its stream ends when the iterator moves on."""

    url: str
    warc_file: str
    when: datetime
    status: int
    headers: dict[str, str]
    body: bytes  # Content-Encoding and chunking undone
    location: RecordLocation
    content_type: str | None
    truncated: bool


# Responses per transaction. Re-extraction can be run again, so it commits in large steps.
TRANSACTION_RESPONSES = 100


def reextract(warc_files: Iterable[Path], db_path: Path, workers: int | None = None) -> Counter:
    """Returns counts: responses, pages extracted, articles, unreadable pages.

    Records are read in file order and extracted by `workers` processes (default: all cores
    but one); results are stored in that same order, so the rows are the same as with one.
    """
    counts: Counter = Counter()
    extraction = ExtractionWorkers(workers)
    # Enough pages in flight to keep every worker busy while this process stores.
    window = max(1, extraction.workers) * 8
    pending: deque[_Pending] = deque()
    try:
        with Store(db_path) as store:
            responses = _read(sorted(Path(p) for p in warc_files), counts)
            while chunk := list(islice(responses, TRANSACTION_RESPONSES)):
                with store.bulk():
                    for response in chunk:
                        submitted = _submit(store, extraction, response)
                        if submitted is not None:
                            pending.append(submitted)
                        while len(pending) > window:
                            _store(store, extraction, pending.popleft(), counts)
            with store.bulk():
                while pending:
                    _store(store, extraction, pending.popleft(), counts)
    finally:
        extraction.close()
    return counts


def _read(paths: list[Path], counts: Counter) -> Iterator[_Response]:
    for path in paths:
        with open(path, "rb") as handle:
            iterator = ArchiveIterator(handle)
            for record in iterator:
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                counts["responses"] += 1
                record_id = record.rec_headers.get_header("WARC-Record-ID")
                try:
                    when = iso_date_to_datetime(record.rec_headers.get_header("WARC-Date") or "")
                except ValueError:
                    counts["unreadable/warc-date"] += 1
                    logger.warning(
                        "record %s in %s has no valid WARC-Date: skipped", record_id, path.name
                    )
                    continue
                body = record.content_stream().read()
                yield _Response(
                    url=record.rec_headers.get_header("WARC-Target-URI"),
                    warc_file=path.name,
                    when=when,
                    status=int(record.http_headers.get_statuscode()),
                    headers=dict(record.http_headers.headers),
                    body=body,
                    location=RecordLocation(
                        warc_file=path.name,
                        offset=iterator.get_record_offset(),
                        length=iterator.get_record_length(),
                        record_id=record_id,
                        payload_digest=record.rec_headers.get_header("WARC-Payload-Digest"),
                    ),
                    content_type=record.http_headers.get_header("Content-Type"),
                    truncated=bool(record.rec_headers.get_header("WARC-Truncated")),
                )


def _submit(store: Store, extraction: ExtractionWorkers, response: _Response) -> _Pending | None:
    """Record the capture; hand a complete HTML page to the extraction workers."""
    existing = store.conn.execute(
        "SELECT id FROM captures WHERE warc_record_id = ?", [response.location.record_id]
    ).fetchone()
    capture_id = (
        existing[0]
        if existing
        else store.add_capture(
            response.location,
            url=response.url,
            status=response.status,
            fetched_at=iso_seconds(response.when),
            content_type=response.content_type,
        )
    )
    if (
        response.status != 200
        or response.truncated
        or "html" not in (response.content_type or "").lower()
    ):
        return None  # the live crawl extracts complete HTML pages only; so does this
    page = extraction.submit(response.url, response.headers, response.body)
    return _Pending(response.url, response.warc_file, capture_id, iso_seconds(response.when), page)


def _store(store: Store, extraction: ExtractionWorkers, pending: _Pending, counts: Counter) -> None:
    try:
        page = pending.page.result()
    except BrokenProcessPool as exc:
        page, error = None, extraction.crashed(exc)
    except ExtractionError as exc:
        page, error = None, exc
    if page is None:
        counts[f"unreadable/{error.reason}"] += 1
        logger.warning("cannot extract %s from %s: %s", pending.url, pending.warc_file, error)
        return
    if page.kind not in EXTRACTED_KINDS:
        return
    counts[f"pages/{page.kind}"] += 1
    counts["articles"] += len(page.articles)
    store.save([Observed(a, pending.capture_id) for a in page.articles], pending.seen_at)
