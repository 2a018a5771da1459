"""ConditionalRequests: ask "changed since?" where the site gave validators last time.

For a URL whose latest full 200 capture came with an ETag or Last-Modified, the request
carries If-None-Match / If-Modified-Since (meta CONDITIONAL names that capture). A 304
answer is archived as it came, as a server-not-modified revisit of that capture
(WarcCaptureMiddleware, 950, sees it first); then this middleware puts the archived 200 in
its place, as Scrapy's HttpCacheMiddleware puts its cached response in place of a 304. The
spider gets a page like any other, flagged NOT_MODIFIED (and "cached": it is not a new
exchange), whose items name the capture its bytes are in, CONDITIONAL's. Should that
record be unreadable, the page is asked for again, unconditionally.

Off with --full (TAG_ARCHIVER_FULL), which refetches everything whole.
"""

from __future__ import annotations

import logging

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.responsetypes import responsetypes
from warcio.exceptions import ArchiveLoadFailed

from archive.store import Store
from archive.warc.reader import read_response
from crawler.capture import CONDITIONAL, warc_dir_for
from crawler.runs import ArchiveRun

logger = logging.getLogger(__name__)

# response.flags: a 304's stand-in, the archived page it confirmed (CONDITIONAL names it)
NOT_MODIFIED = "not_modified"
VALIDATORS = ("If-None-Match", "If-Modified-Since")
# read_response gives the body with chunking and Content-Encoding undone: headers that
# describe the wire form would make HttpCompressionMiddleware (590) decode it again.
WIRE_ONLY = frozenset({"content-encoding", "transfer-encoding", "content-length"})


class ConditionalRequests:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if settings.getbool("TAG_ARCHIVER_FULL"):
            raise NotConfigured("TAG_ARCHIVER_FULL is on: everything is fetched whole")
        if not settings.getbool("TAG_ARCHIVER_CONDITIONAL"):
            raise NotConfigured("TAG_ARCHIVER_CONDITIONAL is off")
        self.db = settings.get("TAG_ARCHIVER_DB")
        if not self.db:
            raise NotConfigured("TAG_ARCHIVER_DB is not set")
        self.crawler = crawler
        self.warc_dir = warc_dir_for(settings)
        self.store: Store | None = None
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequests:
        return cls(crawler)

    def closed(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    def process_request(self, request: Request) -> None:
        if request.method != "GET" or CONDITIONAL in request.meta:
            return
        if self.store is None:
            self.store = Store(self.db)
        run = self.crawler.get_extension(ArchiveRun)
        # Only what earlier runs archived: this run's own captures may sit in a WARC file the
        # run's other crawler processes still have open.
        earlier = self.store.validators(request.url, before_run=run.capture_run_id if run else None)
        if earlier is None:
            return
        if earlier["etag"]:
            request.headers["If-None-Match"] = earlier["etag"]
        if earlier["last_modified"]:
            request.headers["If-Modified-Since"] = earlier["last_modified"]
        request.meta[CONDITIONAL] = earlier
        self.crawler.stats.inc_value("tag_archiver/conditional_requests")

    def process_response(self, request: Request, response: Response) -> Request | Response:
        """A 304 to our conditional request becomes the archived 200 it confirmed, flagged
        NOT_MODIFIED; when that record cannot be read, the request again without
        validators. Any other response passes unchanged."""
        earlier = request.meta.get(CONDITIONAL)
        if response.status != 304 or not earlier:
            return response
        try:
            _url, headers, body = read_response(
                self.warc_dir, earlier["warc_file"], earlier["warc_offset"]
            )
        except (OSError, StopIteration, ArchiveLoadFailed, ValueError) as exc:
            self.crawler.stats.inc_value("tag_archiver/conditional/unreadable")
            logger.warning(
                "%s: not modified, but its capture %s (%s at %d) cannot be read (%s): "
                "fetching it whole",
                request.url, earlier["id"], earlier["warc_file"], earlier["warc_offset"], exc,
            )  # fmt: skip
            return self.unconditional(request)
        kept = {
            _wire(name): _wire(value)
            for name, value in headers.items()
            if name.lower() not in WIRE_ONLY
        }
        archived = responsetypes.from_args(headers=kept, url=response.url, body=body)
        return archived(
            url=response.url,
            status=200,  # Store.validators offers 200 captures only
            headers=kept,
            body=body,
            flags=[*response.flags, "cached", NOT_MODIFIED],
            request=request,
            certificate=response.certificate,
            ip_address=response.ip_address,
            protocol=response.protocol,
        )

    def unconditional(self, request: Request) -> Request:
        """The request again, without validators, past the duplicate filter. CONDITIONAL
        stays in meta, as None: process_request must not add them back."""
        again = request.replace(dont_filter=True)
        for name in VALIDATORS:
            again.headers.pop(name, None)
        again.meta[CONDITIONAL] = None
        return again


def _wire(text: str) -> bytes:
    """A header as warcio decoded it (UTF-8 where it could, latin-1 otherwise), as bytes."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")
