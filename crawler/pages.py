"""PageLedger: every tag page and article page the run asked for gets a verdict.

A page ends as one of: stored (an answer the spider read: 2xx, or 404/410, which say
"gone" or "past the last page"), not_modified (304), failed (with a reason: after retries,
a timeout, a redirect limit or cycle), or skipped on purpose (robots.txt, off-site, a
redirect to a page the run fetches anyway). Each is counted under
`tag_archiver/pages/verdict/...`; failures count as errors, so a run that lost pages exits 3.

Scrapy drops some requests without calling their errback: the duplicate filter
(`request_dropped`) and the off-site filter (which refuses at `request_scheduled`). A
redirect hop dropped by the duplicate filter is handed to the request's errback as a
failure (RedirectCycle when it leads back into its own chain, a → b → a; RedirectToKnown
when it leads to a page the run asked for anyway), exactly as a failed download would be,
so the spider accounts for it like any other. Pages still without a verdict when the spider
closes are logged and counted: as failed after a finished crawl, as unfinished after a stop.

Which requests are pages: the spider's `page_callbacks`, callback name -> kind ("tag",
"article"). A page is known by the URL it was first asked as (redirect hops and retries
carry it along); only pages in flight are held, never the run's whole history.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.conditional import NOT_MODIFIED

logger = logging.getLogger(__name__)

STATS = "tag_archiver/pages/verdict"


class RedirectCycle(IgnoreRequest):
    """A redirect led back to a URL already in its own chain."""


class RedirectToKnown(IgnoreRequest):
    """A redirect led to a page the run asked for anyway: that page has its own verdict."""


@dataclass
class _Open:
    kind: str
    reached: bool = False  # reached the downloader (a refused redirect hop never does)
    hop: bool = False  # the last request seen for it was a redirect hop


def first_url(request: Request) -> str:
    chain = request.meta.get("redirect_urls")
    return chain[0] if chain else request.url


class PageLedger:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.open: dict[str, _Open] = {}
        self._just_opened: Request | None = None
        crawler.signals.connect(self.scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(self.dropped, signal=signals.request_dropped)
        crawler.signals.connect(self.reached, signal=signals.request_reached_downloader)
        crawler.signals.connect(self.received, signal=signals.response_received)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageLedger:
        return cls(crawler)

    def kind(self, request: Request) -> str | None:
        kinds = getattr(self.crawler.spider, "page_callbacks", None)
        callback = getattr(request.callback, "__name__", None)
        return kinds.get(callback) if kinds and callback else None

    # --- a page is asked for, and travels -------------------------------------------------

    def scheduled(self, request: Request) -> None:
        kind = self.kind(request)
        self._just_opened = None
        if kind is None:
            return
        key = first_url(request)
        page = self.open.get(key)
        if page is None:
            page = self.open[key] = _Open(kind)
            self._just_opened = request
        page.hop = "redirect_urls" in request.meta
        page.reached = False

    def reached(self, request: Request) -> None:
        page = self.open.get(first_url(request)) if self.kind(request) else None
        if page is not None:
            page.reached = True

    def dropped(self, request: Request) -> None:
        """The duplicate filter refused it. A page asked for twice is one page; a redirect
        hop refused is that page's end, which must not pass unnoticed."""
        if self.kind(request) is None:
            return
        key = first_url(request)
        chain = request.meta.get("redirect_urls")
        if not chain:
            if self._just_opened is request:
                del self.open[key]  # asked for again while the first is done: not a page
            self.crawler.stats.inc_value("tag_archiver/pages/duplicate")
            return
        path = " -> ".join([*chain, request.url])
        if request.url in chain:
            error: IgnoreRequest = RedirectCycle(f"redirect cycle: {path}")
        else:
            error = RedirectToKnown(f"redirects to a page fetched anyway: {path}")
        engine = self.crawler.engine
        if engine is None or engine.scraper.slot is None:
            self.settle(request, "failed", str(error))
            return
        # Into the errback, as if the download had failed: the spider accounts for it (and
        # a tag whose first page it is) like for any failed page.
        engine.scraper.enqueue_scrape(Failure(error), request)

    def received(self, response: Response, request: Request) -> None:
        """An answer the spider reads; answers it refuses reach its errback instead."""
        if self.kind(request) is None:
            return
        # A 304 arrives with the archived page in its place (crawler.conditional).
        if NOT_MODIFIED in response.flags or response.status == 304:
            self.settle(request, "not_modified")
        elif 200 <= response.status < 300 or response.status in self.read_statuses():
            self.settle(request, "stored")

    def read_statuses(self) -> set[int]:
        allowed = set(self.crawler.settings.getlist("HTTPERROR_ALLOWED_CODES"))
        return allowed | set(getattr(self.crawler.spider, "handle_httpstatus_list", ()))

    # --- verdicts ---------------------------------------------------------------------------

    def settle(self, request: Request, verdict: str, reason: str | None = None) -> None:
        """The page's verdict: stored, not_modified, failed or skipped (with the reason)."""
        page = self.open.pop(first_url(request), None)
        if page is None:
            return  # settled already (a retry's answer after a failure was counted)
        stats = self.crawler.stats
        stats.inc_value(f"{STATS}/{verdict}")
        stats.inc_value(f"{STATS}/{verdict}/{page.kind}")
        if verdict == "failed":
            logger.error("%s page %s failed: %s", page.kind, first_url(request), reason)
        elif verdict == "skipped":
            logger.info("%s page %s skipped: %s", page.kind, first_url(request), reason)

    def failure_verdict(self, failure: Failure) -> tuple[str, str]:
        """("failed" or "skipped", reason) for what reached a page's errback."""
        error = failure.value
        reason = f"{type(error).__name__}: {failure.getErrorMessage()}"
        if isinstance(error, RedirectToKnown):
            return "skipped", str(error)
        if isinstance(error, IgnoreRequest):
            message = str(error)
            lowered = message.lower()
            if "robots.txt" in lowered or "offsite" in lowered or "off-site" in lowered:
                return "skipped", message
        return "failed", reason

    def closed(self, reason: str) -> None:
        stats = self.crawler.stats
        for url, page in self.open.items():
            if page.hop and not page.reached:
                # Refused at scheduling, which only the off-site filter does to our pages.
                stats.inc_value(f"{STATS}/skipped")
                stats.inc_value(f"{STATS}/skipped/{page.kind}")
                logger.warning("%s page %s: its redirect was refused (off-site)", page.kind, url)
            elif reason == "finished":
                stats.inc_value(f"{STATS}/failed")
                stats.inc_value(f"{STATS}/failed/{page.kind}")
                stats.inc_value("tag_archiver/errors")
                logger.error("%s page %s ended without an answer or an error", page.kind, url)
            else:
                stats.inc_value(f"{STATS}/unfinished")
                stats.inc_value(f"{STATS}/unfinished/{page.kind}")
        if self.open and reason != "finished":
            logger.warning("%d pages were not reached before the stop (%s)", len(self.open), reason)
        self.open.clear()
