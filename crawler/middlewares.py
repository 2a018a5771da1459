"""Downloader middlewares."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.task import deferLater

from archive.extract import robots_sitemaps

logger = logging.getLogger(__name__)


def _is_robots_fetch(request: Request) -> bool:
    path = urlparse_cached(request).path
    return bool(request.meta.get("dont_obey_robotstxt")) and path == "/robots.txt"


class RobotsFailClosed:
    """Treat a site whose robots.txt answers 5xx, or cannot be fetched, as fully disallowed.

    RFC 9309 §2.3.1.4: an unreachable robots.txt means "disallow all" for now. Scrapy's
    RobotsTxtMiddleware fails open instead: it parses the 5xx error page as rules, and
    allows everything after a network error. This middleware sits just after
    it (priority 101 > 100) in process_request, and below RetryMiddleware (550) so that it
    sees robots.txt's final answer, after retries.
    """

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured("ROBOTSTXT_OBEY is off")
        self.crawler = crawler
        self.blocked: dict[str, str] = {}  # netloc -> why
        # netloc -> robots.txt's Sitemap: lines, where tag discovery looks first
        self.sitemaps: dict[str, list[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsFailClosed:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if _is_robots_fetch(request) or request.meta.get("dont_obey_robotstxt"):
            return
        why = self.blocked.get(urlparse_cached(request).netloc)
        if why is not None:
            self.crawler.stats.inc_value("tag_archiver/robots/refused")
            raise IgnoreRequest(f"robots.txt {why}: the site is disallowed for now (RFC 9309)")

    def process_response(self, request: Request, response: Response) -> Response:
        if _is_robots_fetch(request) and response.status == 200:
            self.sitemaps[urlparse_cached(request).netloc] = robots_sitemaps(response.body)
        if _is_robots_fetch(request) and response.status >= 500:
            self.crawler.stats.set_value("tag_archiver/robots/status", response.status)
            self.block(request, f"answered {response.status}")
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if _is_robots_fetch(request) and not isinstance(exception, IgnoreRequest):
            self.block(request, f"could not be fetched ({type(exception).__name__})")

    def block(self, request: Request, why: str) -> None:
        self.blocked[urlparse_cached(request).netloc] = why
        self.crawler.stats.set_value("tag_archiver/robots/unavailable", f"{request.url} {why}")
        logger.error("%s %s: treating the site as disallowed (RFC 9309)", request.url, why)


def retry_after_seconds(value: bytes | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfter:
    """Honour Retry-After on 429 and 503 before RetryMiddleware retries (Scrapy ignores it).

    Priority 551: its process_response runs just before RetryMiddleware's (550), waits the
    time the server asked for without blocking the reactor, then lets the retry happen.
    Waits longer than TAG_ARCHIVER_RETRY_AFTER_MAX are not honoured: the page fails instead,
    as a nightly run must end.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.limit = crawler.settings.getfloat("TAG_ARCHIVER_RETRY_AFTER_MAX")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfter:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in (429, 503):
            return response
        delay = retry_after_seconds(response.headers.get("Retry-After"))
        if delay is None:
            return response
        stats = self.crawler.stats
        if delay > self.limit:
            stats.inc_value("tag_archiver/retry_after/too_long")
            logger.warning(
                "%s asks to wait %.0f s (TAG_ARCHIVER_RETRY_AFTER_MAX is %.0f): not waiting",
                request.url, delay, self.limit,
            )  # fmt: skip
            return response
        stats.inc_value("tag_archiver/retry_after/waits")
        stats.inc_value("tag_archiver/retry_after/seconds", delay)
        logger.info(
            "%s answered %d: waiting %.1f s as Retry-After asks",
            request.url,
            response.status,
            delay,
        )
        from twisted.internet import reactor  # the one Scrapy installed, not a default one

        await maybe_deferred_to_future(deferLater(reactor, delay, lambda: None))
        return response
