"""WarcCaptureMiddleware: every HTTP exchange into WARC, and a `captures` row pointing at it.

Priority 950, closest to the downloader: process_response sees the response before
HttpCompressionMiddleware (590) decodes the body and edits the headers, before
RedirectMiddleware (600) swallows 3xx and RetryMiddleware (550) swallows 5xx. So what is
written is what came over the wire, robots.txt, redirects and errors included. HTTP-cache
hits (HttpCacheMiddleware, 900) are not new exchanges and are skipped.

Order of durability: the record pair is written and flushed, then its `captures` row goes
to the database writer (crawler.database), which commits it before the article rows that
name that capture. A failure to write ends the run: an archive that silently stopped
archiving is worse than a crawl that stops.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response

from archive import __version__
from archive.clock import iso_seconds
from archive.store import Store
from archive.warc.exchange import IDENTICAL_PAYLOAD, NOT_MODIFIED, Exchange, Revisit, payload_digest
from archive.warc.files import (
    WarcFileWriter,
    WarcWriteError,
    check_writable_dir,
    default_warc_dir,
    repair_open_files,
)
from crawler.database import DatabaseWriter
from crawler.runs import ArchiveRun
from crawler.stop import stop_crawl

logger = logging.getLogger(__name__)

STARTED = "tag_archiver_started"  # request.meta: when the request left, WARC-Date of its records
CAPTURE_ID = "capture_id"  # request.meta: captures.id of the response, for the items
# request.meta: the earlier capture a conditional request asked about (see ConditionalRequests)
CONDITIONAL = "tag_archiver_conditional"


def warc_dir_for(settings) -> str:
    configured = settings.get("TAG_ARCHIVER_WARC_DIR")
    return configured or str(default_warc_dir(settings.get("TAG_ARCHIVER_DB")))


def header_pairs(headers) -> tuple[tuple[str, str], ...]:
    """Every value of every header (Set-Cookie twice stays twice), decoded as latin-1."""
    return tuple(
        (name.decode("latin-1"), value.decode("latin-1"))
        for name in headers
        for value in headers.getlist(name)
    )


class WarcCaptureMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        db = settings.get("TAG_ARCHIVER_DB")
        if not db:
            raise NotConfigured("TAG_ARCHIVER_DB is not set")
        self.crawler = crawler
        self.db_path = db
        self.directory = warc_dir_for(settings)
        self.writer = WarcFileWriter(
            self.directory,
            prefix=settings.get("TAG_ARCHIVER_WARC_PREFIX"),
            max_size=settings.getint("TAG_ARCHIVER_WARC_MAX_SIZE"),
            fsync=settings.getbool("TAG_ARCHIVER_FSYNC"),
            warcinfo={
                "software": f"tag-archiver/{__version__} (Scrapy)",
                "format": "WARC File Format 1.1",
                "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
                "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
                "http-header-user-agent": settings.get("USER_AGENT"),
                "run-started": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )
        self.database = crawler.get_extension(DatabaseWriter)
        if self.database is None:
            raise NotConfigured("the crawler.database.DatabaseWriter extension is disabled")
        self.store: Store | None = None  # reads only: the revisit check
        self.failed = False
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureMiddleware:
        return cls(crawler)

    def opened(self) -> None:
        run = self.crawler.get_extension(ArchiveRun)
        if run is not None and run.locked:
            # Another run holds this database: its open WARC file is not ours to repair.
            self.failed = True
            return
        try:
            # Refused before the first request: a page fetched and not archived is lost.
            check_writable_dir(self.directory)
        except WarcWriteError as exc:
            self.fail(exc)
            return
        site = getattr(self.crawler.spider, "site", None)
        if site:  # the site its files belong to, as re-extraction reads it (archive.warc.reader)
            self.writer.warcinfo["isPartOf"] = site
        if self.crawler.settings.getdict("TAG_ARCHIVER_SHARE"):
            # One of the run's other crawler processes: the files open now are the run's
            # own (repaired, if a crash left any, by its first process before they began).
            self.store = Store(self.db_path)
            return
        for name, _kept, cut in repair_open_files(self.directory):
            self.crawler.stats.inc_value("warc/repaired_files")
            logger.warning("a crash left %s open: cut %d bytes after its last record", name, cut)
        self.store = Store(self.db_path)

    def closed(self) -> None:
        try:
            self.writer.close()
        except WarcWriteError as exc:
            self.fail(exc)
        stats = self.crawler.stats
        stats.set_value("warc/files", list(self.writer.files_written))
        if self.store is not None:
            self.store.close()

    def process_request(self, request: Request) -> None:
        if self.failed or self.database.failed:
            raise IgnoreRequest("the archive can no longer be written")
        request.meta[STARTED] = datetime.now(UTC)

    def process_response(self, request: Request, response: Response) -> Response:
        if "cached" in response.flags:
            return response
        # Serialize now: later middlewares change these headers and this body in place.
        exchange = Exchange(
            url=response.url,
            method=request.method,
            request_headers=header_pairs(request.headers),
            status=response.status,
            response_headers=header_pairs(response.headers),
            body=response.body,
            started=request.meta.get(STARTED) or datetime.now(UTC),
            protocol=response.protocol or "HTTP/1.1",
            ip_address=str(response.ip_address) if response.ip_address else None,
            truncated="length" if "dataloss" in response.flags else None,
        )
        # hashed once: for the revisit check and for the record's WARC-Payload-Digest
        digest = payload_digest(response.body) if response.status == 200 else None
        try:
            revisit, revisit_of = self.revisit_for(request, response, digest)
            location = self.writer.write(exchange, revisit, payload_digest=digest)
        except WarcWriteError as exc:
            self.fail(exc)
            raise IgnoreRequest(f"not archived: {exc}") from exc
        capture_id = self.database.add_capture(
            location,
            url=response.url,
            status=response.status,
            fetched_at=iso_seconds(exchange.started),
            content_type=response.headers.get("Content-Type", b"").decode("latin-1") or None,
            run_id=self.run_id(),
            revisit_of=revisit_of,
            warc_date=location.warc_date,
            etag=_header(response, "ETag"),
            last_modified=_header(response, "Last-Modified"),
        )
        request.meta[CAPTURE_ID] = capture_id
        stats = self.crawler.stats
        stats.inc_value("warc/records_written", 2)
        stats.inc_value("warc/bytes_written", location.length)
        if revisit is not None:
            stats.inc_value("warc/revisits")
        return response

    def revisit_for(
        self, request: Request, response: Response, digest: str | None
    ) -> tuple[Revisit | None, int | None]:
        """A 304 refers to the capture the conditional request named; a 200 whose bytes equal
        an earlier capture of the same URL refers to that one. Anything else is stored whole."""
        original = request.meta.get(CONDITIONAL)
        if response.status == 304 and original:
            revisit = Revisit(
                NOT_MODIFIED,
                original["url"],
                original["warc_date"],
                original["warc_record_id"],
                None,
            )
            return revisit, original["id"]
        if response.status == 200 and response.body and "dataloss" not in response.flags:
            prior = self.store.original_capture(response.url, digest)
            if prior is not None:
                revisit = Revisit(
                    IDENTICAL_PAYLOAD,
                    prior["url"],
                    prior["warc_date"],
                    prior["warc_record_id"],
                    digest,
                )
                return revisit, prior["id"]
        return None, None

    def run_id(self) -> int | None:
        """The run this crawl's captures name (crawler.runs.ArchiveRun)."""
        run = self.crawler.get_extension(ArchiveRun)
        return run.capture_run_id if run is not None else None

    def fail(self, exc: Exception) -> None:
        if self.failed:
            return
        self.failed = True
        run = self.crawler.get_extension(ArchiveRun)
        if run is not None:
            run.fail(f"archiving failed: {exc}")
        logger.error("archiving failed, stopping the crawl: %s", exc)
        stop_crawl(self.crawler, "warc_error")


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
