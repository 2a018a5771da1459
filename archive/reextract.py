"""Rebuild the database from WARC files alone: the same extraction over the archived bytes.

Every response record becomes a `captures` row (same WARC record ids as the live crawl);
every 200 tag archive page and single-post page is extracted again and stored. Rows get the
current EXTRACTOR_VERSION, so a better extractor can be re-run over old captures.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_datetime

from archive.errors import ExtractionError
from archive.extract import extract_page
from archive.records import Observed, PageKind
from archive.store import Store
from archive.warc.files import RecordLocation

logger = logging.getLogger(__name__)

EXTRACTED_KINDS = (PageKind.TAG_ARCHIVE, PageKind.SINGLE)


def iso_seconds(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def reextract(warc_files: Iterable[Path], db_path: Path) -> Counter:
    """Returns counts: responses, pages extracted, articles, unreadable pages."""
    counts: Counter = Counter()
    with Store(db_path) as store:
        for path in sorted(Path(p) for p in warc_files):
            with open(path, "rb") as handle:
                iterator = ArchiveIterator(handle)
                for record in iterator:
                    if record.rec_type != "response" or record.http_headers is None:
                        continue
                    counts["responses"] += 1
                    _one(store, path, iterator, record, counts)
    return counts


def _one(store: Store, path: Path, iterator: ArchiveIterator, record, counts: Counter) -> None:
    url = record.rec_headers.get_header("WARC-Target-URI")
    record_id = record.rec_headers.get_header("WARC-Record-ID")
    try:
        when = iso_date_to_datetime(record.rec_headers.get_header("WARC-Date") or "")
    except ValueError:
        counts["unreadable/warc-date"] += 1
        logger.warning("record %s in %s has no valid WARC-Date: skipped", record_id, path.name)
        return
    status = int(record.http_headers.get_statuscode())
    headers = dict(record.http_headers.headers)
    body = record.content_stream().read()  # Content-Encoding and chunking undone
    location = RecordLocation(
        warc_file=path.name,
        offset=iterator.get_record_offset(),
        length=iterator.get_record_length(),
        record_id=record_id,
        payload_digest=record.rec_headers.get_header("WARC-Payload-Digest"),
    )
    existing = list(store.db["captures"].rows_where("warc_record_id = ?", [record_id], limit=1))
    capture_id = (
        existing[0]["id"]
        if existing
        else store.add_capture(
            location,
            url=url,
            status=status,
            fetched_at=iso_seconds(when),
            content_type=record.http_headers.get_header("Content-Type"),
        )
    )
    content_type = (record.http_headers.get_header("Content-Type") or "").lower()
    if (
        status != 200
        or record.rec_headers.get_header("WARC-Truncated")
        or "html" not in content_type
    ):
        return  # the live crawl extracts complete HTML pages only; so does this
    try:
        page = extract_page(url, headers, body)
    except ExtractionError as exc:
        counts[f"unreadable/{exc.reason}"] += 1
        logger.warning("cannot extract %s from %s: %s", url, path.name, exc)
        return
    if page.kind not in EXTRACTED_KINDS:
        return
    counts[f"pages/{page.kind}"] += 1
    counts["articles"] += len(page.articles)
    store.save([Observed(a, capture_id) for a in page.articles], iso_seconds(when))
