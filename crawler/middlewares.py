"""Downloader middlewares."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

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


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _port(scheme: str, port: int | None) -> int | None:
    return port if port is not None else _DEFAULT_PORTS.get(scheme)


class OffsitePorts:
    """Refuse requests to the site's host on another port: another port is another service.

    Scrapy's OffsiteMiddleware (50) compares host names only, so a redirect from
    http://site:8080/ to http://site:9000/ would be followed. This one sits right after it
    (priority 51), before robots.txt is fetched for the new address (100) and before anything
    is sent, so a refused address is never connected to. The standard ports are one site: a
    redirect from http://site/ (80) to https://site/ (443) is the usual upgrade, and allowed.

    The site is the spider's `site` attribute; a spider without one is not checked. Refused
    requests fail with IgnoreRequest, so their errback counts them; `offsite/filtered` counts
    them with Scrapy's own and `tag_archiver/offsite/other_port` apart.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OffsitePorts:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        site = getattr(self.crawler.spider, "site", None)
        if not site or request.meta.get("allow_offsite"):
            return
        ours, theirs = urlsplit(site), urlparse_cached(request)
        host = ours.hostname or ""
        target = theirs.hostname or ""
        if target != host and not target.endswith(f".{host}"):
            return  # another host altogether: OffsiteMiddleware's to judge
        our_port = _port(ours.scheme, ours.port)
        their_port = _port(theirs.scheme, theirs.port)
        if their_port == our_port or (
            our_port == _DEFAULT_PORTS.get(ours.scheme)
            and their_port == _DEFAULT_PORTS.get(theirs.scheme)
        ):
            return
        stats = self.crawler.stats
        stats.inc_value("offsite/filtered")
        stats.inc_value("tag_archiver/offsite/other_port")
        redirected = request.meta.get("redirect_urls") or []
        logger.warning(
            "not following %s%s: port %s is not the site's (%s), another service",
            request.url,
            f" (redirected from {redirected[-1]})" if redirected else "",
            their_port,
            our_port,
        )
        raise IgnoreRequest(f"off-site: {theirs.netloc} is another port than the site's")
