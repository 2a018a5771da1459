"""ConditionalRequests: ask "changed since?" where the site gave validators last time.

For a URL whose latest full 200 capture came with an ETag or Last-Modified, the request
carries If-None-Match / If-Modified-Since. A 304 answer is archived as a server-not-modified
revisit of that capture (WarcCaptureMiddleware), and the spider reads the page from it.
Off with --full (TAG_ARCHIVER_FULL), which refetches everything whole.
"""

from __future__ import annotations

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from archive.store import Store
from crawler.capture import CONDITIONAL


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
        earlier = self.store.validators(request.url)
        if earlier is None:
            return
        if earlier["etag"]:
            request.headers["If-None-Match"] = earlier["etag"]
        if earlier["last_modified"]:
            request.headers["If-Modified-Since"] = earlier["last_modified"]
        request.meta[CONDITIONAL] = earlier
        self.crawler.stats.inc_value("tag_archiver/conditional_requests")
