"""TagDiscovery: every tag of a site (--all-tags), learned from the site, not assumed.

Tried in order until one source names tags; each source that names none, fails or is not
what it claims hands over to the next, with a log line and a counter:
1. the sitemaps robots.txt names (`Sitemap:` lines, read by RobotsFailClosed);
2. WordPress core's sitemap index, `/wp-sitemap.xml`, and its plain-permalink form
   `/?sitemap=index`; the SEO plugins' indexes `/sitemap_index.xml` (Yoast, Rank Math) and
   `/sitemap.xml` (All in One SEO);
3. the REST API's tag list, `/wp-json/wp/v2/tags`, else `/?rest_route=/wp/v2/tags` where
   `/wp-json/` is not routed: its `link` fields are the tag archives' own URLs, in whatever
   form the site's permalink settings give them;
4. the tag links on the site's pages, followed from tag page to tag page.
A sitemap's or the REST API's URLs are taken as they are: a custom tag base (`/etiqueta/`),
or `?tag=` with plain permalinks, needs no guessing.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode, urlsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from archive.errors import ExtractionError
from archive.extract import sitemap_locations, tag_sitemaps, term_slug
from archive.extract.urls import canonical_url
from archive.wp_rest import PER_PAGE, RestAnswerError, parse_terms, read_json
from crawler.capture import header_pairs
from crawler.middlewares import RobotsFailClosed

logger = logging.getLogger(__name__)

SITEMAP_INDEXES = ("wp-sitemap.xml", "?sitemap=index", "sitemap_index.xml", "sitemap.xml")
_REST_QUERY = f"per_page={PER_PAGE}&_fields=id,slug,name,count,link"
REST_TAGS = (f"wp-json/wp/v2/tags?{_REST_QUERY}", f"?rest_route=/wp/v2/tags&{_REST_QUERY}")
NOT_FOUND = (404, 410)


class TagDiscovery:
    """A mixin for TagArchiveSpider. Needs from it: `site`, `crawler`, `answered()`,
    `tag_request(url, tag=...)`, `handed_out(url, tag)`, `discover_from_pages()`; sets
    `discovering` when it falls back on links."""

    site: str
    crawler: Any
    discovery_sources: deque[tuple[str, str]]

    def discover_tags(self) -> Iterable[scrapy.Request]:
        """The first request of discovery; each answer decides the next."""
        self.discovery_sources = deque(
            [("sitemap", self.site + path) for path in SITEMAP_INDEXES]
            + [("rest", self.site + path) for path in REST_TAGS]
        )
        self.discovery_tried: set[str] = set()
        self.robots_sitemaps_read = False
        yield from self.next_discovery_source()

    def next_discovery_source(self) -> Iterable[scrapy.Request]:
        if not self.robots_sitemaps_read:
            self.robots_sitemaps_read = True
            robots = self.crawler.get_downloader_middleware(RobotsFailClosed)
            named = robots.sitemaps.get(urlsplit(self.site).netloc, []) if robots else []
            # robots.txt is fetched before the first request goes out: named here once the
            # first source answered, they go before the defaults that remain
            self.discovery_sources.extendleft(("sitemap", url) for url in reversed(named))
        while self.discovery_sources:
            kind, url = self.discovery_sources.popleft()
            if canonical_url(url) in self.discovery_tried:
                continue
            self.discovery_tried.add(canonical_url(url))
            callback = self.parse_sitemap_index if kind == "sitemap" else self.parse_rest_tags
            # dont_filter: discovery keeps its own list of what it tried (a robots.txt line
            # naming /wp-sitemap.xml must not be dropped silently by the duplicate filter)
            yield scrapy.Request(
                url,
                callback=callback,
                errback=self.discovery_source_failed,
                dont_filter=True,
                cb_kwargs={"first": url},
            )
            return
        logger.warning(
            "no sitemap or REST API lists the tags: discovering tags from the site's pages"
        )
        yield from self.discover_from_pages()

    def discovery_source_failed(self, failure: Failure) -> Iterable[scrapy.Request]:
        logger.warning("tag discovery: %s failed (%s)", failure.request.url, failure.value)
        self.crawler.stats.inc_value("tag_archiver/discovery/failed")
        yield from self.next_discovery_source()

    # --- sitemaps -----------------------------------------------------------------------

    def parse_sitemap_index(self, response: Response, first: str) -> Iterable[scrapy.Request]:
        self.answered()
        children = tag_sitemaps(self.sitemap(response))
        if not children:
            self.crawler.stats.inc_value("tag_archiver/discovery/sitemap_without_tags")
            logger.info("%s lists no tag sitemap", response.url)
            yield from self.next_discovery_source()
            return
        for url in children:
            yield scrapy.Request(url, callback=self.parse_tag_sitemap, errback=self.sitemap_failed)

    def parse_tag_sitemap(self, response: Response) -> Iterable[scrapy.Request]:
        self.answered()
        for url in self.sitemap(response):
            slug = term_slug(url)  # every entry of a tag sitemap is a tag archive
            if slug:
                yield from self.discovered(url, slug, "sitemap")

    def sitemap(self, response: Response) -> list[str]:
        if response.status in NOT_FOUND:
            return []
        try:
            return sitemap_locations(response.body)
        except ExtractionError as exc:
            self.crawler.stats.inc_value(f"tag_archiver/sitemaps/{exc.reason}")
            logger.warning("unreadable sitemap %s: %s", response.url, exc)
            return []

    def sitemap_failed(self, failure: Failure) -> None:
        """A tag sitemap the index named did not answer: its tags are missing from the run."""
        self.crawler.stats.inc_value("tag_archiver/errors")
        self.crawler.stats.inc_value("tag_archiver/sitemaps/failed")
        logger.error("tag sitemap %s failed: %s", failure.request.url, failure.value)

    # --- the REST API -----------------------------------------------------------------------

    def parse_rest_tags(
        self, response: Response, first: str, page: int = 1
    ) -> Iterable[scrapy.Request]:
        self.answered()
        headers = dict(header_pairs(response.headers))
        try:
            content_type = response.headers.get("Content-Type", b"").decode("latin-1")
            data = read_json(response.status, content_type, response.body)
            answer = parse_terms(page, data, headers)
        except RestAnswerError as exc:
            self.crawler.stats.inc_value(f"tag_archiver/discovery/rest_{exc.reason}")
            logger.warning("tag discovery: %s %s", response.url, exc)
            if page == 1:
                yield from self.next_discovery_source()
            else:
                self.crawler.stats.inc_value("tag_archiver/errors")
            return
        for problem in answer.problems:
            logger.warning("tag discovery: %s: %s", response.url, problem)
        for term in answer.items:
            if term.count == 0:
                continue  # an empty tag's archive lists nothing
            url = term.link or f"{self.site}?{urlencode({'tag': term.slug})}"
            yield from self.discovered(url, term.slug, "rest")
        if page == 1 and answer.total_pages and answer.total_pages > 1:
            for number in range(2, answer.total_pages + 1):
                yield scrapy.Request(
                    _rest_page(first, number),
                    callback=self.parse_rest_tags,
                    errback=self.sitemap_failed,
                    cb_kwargs={"first": first, "page": number},
                )

    def discovered(self, url: str, slug: str, how: str) -> Iterable[scrapy.Request]:
        self.crawler.stats.inc_value("tag_archiver/tags/discovered")
        self.crawler.stats.inc_value(f"tag_archiver/tags/discovered_by/{how}")
        # A sitemap's or the REST API's tags may go to the run's other crawler processes;
        # tags found on pages stay here, with the pages that lead to more.
        if how == "links" or not self.handed_out(url, slug):
            yield self.tag_request(url, tag=slug)


def _rest_page(first: str, number: int) -> str:
    return f"{first}&page={number}"
