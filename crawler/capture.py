"""WarcCaptureMiddleware: every HTTP exchange into WARC, and a `captures` row pointing at it.

Priority 950, closest to the downloader: process_response sees the response before
HttpCompressionMiddleware (590) decodes the body and edits the headers, before
RedirectMiddleware (600) swallows 3xx and RetryMiddleware (550) swallows 5xx. So what is
written is what came over the wire, robots.txt, redirects and errors included. HTTP-cache
hits (HttpCacheMiddleware, 900) are not new exchanges and are skipped.

Order of durability: the record pair is written and flushed, then its `captures` row is
committed, then (later, in the pipeline) the article rows that name that capture.
A failure to write ends the run: an archive that silently stopped archiving is worse than
a crawl that stops.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response

from archive import __version__
from archive.errors import StoreError
from archive.store import Store
from archive.warc.exchange import Exchange
from archive.warc.files import WarcFileWriter, WarcWriteError, default_warc_dir, repair_open_files
from crawler.stop import stop_crawl

logger = logging.getLogger(__name__)

STARTED = "tag_archiver_started"  # request.meta: when the request left, WARC-Date of its records
CAPTURE_ID = "capture_id"  # request.meta: captures.id of the response, for the items


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
        self.directory = settings.get("TAG_ARCHIVER_WARC_DIR") or str(default_warc_dir(db))
        self.writer = WarcFileWriter(
            self.directory,
            prefix=settings.get("TAG_ARCHIVER_WARC_PREFIX"),
            max_size=settings.getint("TAG_ARCHIVER_WARC_MAX_SIZE"),
            fsync=settings.getbool("TAG_ARCHIVER_WARC_FSYNC"),
            warcinfo={
                "software": f"tag-archiver/{__version__} (Scrapy)",
                "format": "WARC File Format 1.1",
                "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
                "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
                "http-header-user-agent": settings.get("USER_AGENT"),
                "run-started": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )
        self.store: Store | None = None
        self.failed = False
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureMiddleware:
        return cls(crawler)

    def opened(self) -> None:
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
        if self.failed:
            raise IgnoreRequest("the WARC archive can no longer be written")
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
        try:
            location = self.writer.write(exchange)
            capture_id = self.store.add_capture(
                location,
                url=response.url,
                status=response.status,
                fetched_at=exchange.started.isoformat(timespec="seconds").replace("+00:00", "Z"),
                content_type=response.headers.get("Content-Type", b"").decode("latin-1") or None,
            )
        except (WarcWriteError, StoreError) as exc:
            self.fail(exc)
            raise IgnoreRequest(f"not archived: {exc}") from exc
        request.meta[CAPTURE_ID] = capture_id
        stats = self.crawler.stats
        stats.inc_value("warc/records_written", 2)
        stats.inc_value("warc/bytes_written", location.length)
        return response

    def fail(self, exc: Exception) -> None:
        if self.failed:
            return
        self.failed = True
        self.crawler.stats.set_value("tag_archiver/failure", f"archiving failed: {exc}")
        logger.error("archiving failed, stopping the crawl: %s", exc)
        self.closing = stop_crawl(self.crawler, "warc_error")
