"""Downloader middlewares."""

from __future__ import annotations

import logging

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

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
