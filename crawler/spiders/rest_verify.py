"""RestVerifySpider: read what a WordPress site's REST API says about its tags and posts, and
hold the archive against it (archive.verify).

    scrapy crawl verify -a site=https://pjfp.com -a tags=ai-scaling,scaling-laws
    tag-archiver verify https://pjfp.com --db pjfp.db [--tag SLUG ...]

Its exchanges go through the same middlewares as a crawl's, so robots.txt is obeyed, 5xx are
retried, and every answer is archived in the WARC files with a `captures` row. It runs in
phases, each started when the last has nothing left in flight (spider_idle):

1. the tag list, /wp-json/wp/v2/tags (every tag, or the slugs asked for), the first request
   also probing the API: when /wp-json/ is not routed (plain permalinks) or answers anything
   but JSON, the same route is asked as ?rest_route=/wp/v2/tags;
2. the posts under each tag to verify, every page (X-WP-TotalPages);
3. the terms those posts name and the tag list did not, by id (include=).

Then archive.verify.compare() turns what was read into findings, which go to the
`verifications` table through the database writer, tied to the run (its own, or with
run_id=N the crawl's it verifies). It never writes an article.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Response
from scrapy.settings import Settings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from archive.extract.urls import normal_slug, site_root
from archive.verify import (
    ArchiveIndex,
    Finding,
    RestRecord,
    compare,
    read_only,
    summary,
    tags_to_verify,
    unavailable,
)
from archive.wp_rest import (
    PER_PAGE,
    POST_FIELDS,
    TERM_FIELDS,
    Collection,
    RestAnswerError,
    parse_posts,
    parse_terms,
    read_json,
)
from crawler.capture import header_pairs
from crawler.database import DatabaseWriter
from crawler.runs import ArchiveRun

logger = logging.getLogger(__name__)

WP_JSON = "/wp-json/"
REST_ROUTE = "?rest_route="
STATS = "tag_archiver/verify"
# A lying X-WP-TotalPages must not send us after a million pages: 1,000 pages are 100,000
# posts under one tag.
MAX_PAGES = 1000


class RestVerifySpider(scrapy.Spider):
    name = "verify"

    @classmethod
    def update_settings(cls, settings: Settings) -> None:
        super().update_settings(settings)
        # Verification reads what the API says now: no conditional requests, whose 304 would
        # stand for what was archived, not what the API says (crawler.conditional).
        # custom_settings would replace the project's middlewares, not amend them.
        middlewares = settings.getdict("DOWNLOADER_MIDDLEWARES")
        middlewares["crawler.conditional.ConditionalRequests"] = None
        settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority="spider")

    # These reach the callbacks and are read there: WordPress explains them in an error
    # object (rest_no_route, rest_forbidden, rest_post_invalid_page_number), and 401/403/404
    # on the first request mean the API is unavailable, not that a page failed.
    handle_httpstatus_list: ClassVar[list[int]] = [400, 401, 403, 404, 410]

    def __init__(
        self,
        site: str | None = None,
        tags: str | Iterable[str] | None = None,
        run_id: int | str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.site = site_root(site or "")
        self.allowed_domains = [urlsplit(self.site).hostname]
        if isinstance(tags, str):
            tags = [t for t in (part.strip() for part in tags.split(",")) if t]
        slugs = tuple(dict.fromkeys(s for s in (normal_slug(t) for t in tags or ()) if s))
        self.record = RestRecord(site=self.site, requested=slugs or None)
        # ArchiveRun reads these: the run's tags and options, or the run to attach to.
        self.tag_args = list(slugs)
        self.run_options = {"verify": True, "all_tags": not slugs}
        self.attach_to_run = int(run_id) if run_id not in (None, "") else None
        self.findings: list[Finding] | None = None
        self.phase = "tags"
        self.responses = 0
        self.first_answer: str | None = None  # why /wp-json/ did not do, before the fallback
        self.archive: ArchiveIndex | None = None

    # --- requests ---------------------------------------------------------------------------

    def api_url(self, route: str, params: dict[str, Any], api: str | None = None) -> str:
        query = urlencode(params, safe=",")
        if (api or self.record.api or WP_JSON) == WP_JSON:
            return f"{self.site}wp-json/wp/v2/{route}?{query}"
        return f"{self.site}?rest_route=/wp/v2/{route}&{query}"

    def page_request(
        self,
        collection: Collection,
        route: str,
        params: dict[str, Any],
        number: int,
        *,
        api: str | None = None,
        probe: bool = False,
    ) -> scrapy.Request:
        # Ordered by id, oldest first: a post published while the list is read lands on its
        # last page instead of pushing every later page's posts along by one.
        full = {**params, "per_page": PER_PAGE, "page": number, "orderby": "id", "order": "asc"}
        return scrapy.Request(
            self.api_url(route, full, api),
            headers={"Accept": "application/json"},
            callback=self.parse_page,
            errback=self.page_failed,
            cb_kwargs={
                "collection": collection,
                "route": route,
                "params": params,
                "number": number,
                "api": api or self.record.api or WP_JSON,
                "probe": probe,
            },
        )

    def tags_request(self, api: str = WP_JSON) -> scrapy.Request:
        params: dict[str, Any] = {"_fields": TERM_FIELDS}
        requested = self.record.requested
        if requested is not None and len(requested) <= PER_PAGE:
            params["slug"] = ",".join(requested)  # else: every tag, filtered here
        return self.page_request(self.record.tags, "tags", params, 1, api=api, probe=True)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        db = self.crawler.settings.get("TAG_ARCHIVER_DB")
        with read_only(db) as conn:
            self.archive = ArchiveIndex(conn, self.site)
        self.crawler.signals.connect(self.idle, signal=signals.spider_idle)
        yield self.tags_request()

    # --- answers ----------------------------------------------------------------------------

    def parse_page(
        self,
        response: Response,
        collection: Collection,
        route: str,
        params: dict[str, Any],
        number: int,
        api: str,
        probe: bool,
    ) -> Iterable[scrapy.Request]:
        self.responses += 1
        stats = self.crawler.stats
        headers = dict(header_pairs(response.headers))
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        parse = parse_posts if route == "posts" else parse_terms
        try:
            data = read_json(response.status, content_type, response.body)
            page = parse(number, data, headers)
        except RestAnswerError as exc:
            if collection.headerless and number > 1 and response.status == 400:
                return  # past the last page of a list that did not say how many it has
            stats.inc_value(f"{STATS}/answers/{exc.reason}")
            if probe:
                yield from self.probe_failed(api, str(exc), fallback=True)
            else:
                self.page_unreadable(collection, number, response.url, str(exc))
            return
        stats.inc_value(f"{STATS}/pages")
        if probe:
            self.record.api = api
            logger.info("the REST API answers at %s (%s)", response.url, api)
            if api == REST_ROUTE:
                stats.inc_value(f"{STATS}/fallback_rest_route")
        collection.pages[number] = page
        for problem in page.problems:
            stats.inc_value(f"{STATS}/entries_dropped")
            logger.warning("%s: %s", response.url, problem)
        if number == 1:
            yield from self.more_pages(collection, route, params, page.total_pages, response.url)
        elif collection.headerless and len(data) >= PER_PAGE and number < MAX_PAGES:
            yield self.page_request(collection, route, params, number + 1)

    def more_pages(
        self,
        collection: Collection,
        route: str,
        params: dict[str, Any],
        total_pages: int | None,
        url: str,
    ) -> Iterable[scrapy.Request]:
        page = collection.pages[1]
        if total_pages is None:
            collection.headerless = True
            self.crawler.stats.inc_value(f"{STATS}/no_pagination_headers")
            logger.warning("%s: no X-WP-TotalPages header; following pages until a short one", url)
            if len(page.items) + len(page.problems) >= PER_PAGE:
                yield self.page_request(collection, route, params, 2)
            return
        last = total_pages
        if total_pages > MAX_PAGES:
            last = MAX_PAGES
            collection.failures[MAX_PAGES + 1] = (
                f"X-WP-TotalPages claims {total_pages} pages; only the first {MAX_PAGES} were read"
            )
            self.crawler.stats.inc_value(f"{STATS}/pages_capped")
            logger.warning("%s: %s", url, collection.failures[MAX_PAGES + 1])
        for number in range(2, last + 1):
            yield self.page_request(collection, route, params, number)

    def page_failed(self, failure: Failure) -> Iterable[scrapy.Request]:
        request = failure.request
        kwargs = request.cb_kwargs
        if failure.check(HttpError):
            self.responses += 1
            reason = f"answered HTTP {failure.value.response.status} (after retries)"
            answered = True
        elif failure.check(IgnoreRequest):
            reason = f"not fetched: {failure.getErrorMessage()}"
            answered = False
        else:
            reason = f"{failure.type.__name__}: {failure.getErrorMessage()}"
            answered = False
        self.crawler.stats.inc_value(f"{STATS}/pages_failed")
        if kwargs["probe"]:
            # Only an answer from the site is worth asking again another way: robots.txt's
            # refusal of /wp-json/ is a refusal of the API, and a dead host stays dead.
            yield from self.probe_failed(kwargs["api"], reason, answered)
        else:
            self.page_unreadable(kwargs["collection"], kwargs["number"], request.url, reason)

    def probe_failed(self, api: str, why: str, fallback: bool) -> Iterable[scrapy.Request]:
        answer = f"{api} {why}"
        if api == WP_JSON and fallback:
            self.first_answer = answer
            logger.info("%s; trying ?rest_route=", answer)
            yield self.tags_request(REST_ROUTE)
            return
        reason = f"{self.first_answer}; {answer}" if self.first_answer else answer
        self.record.unavailable = reason
        self.crawler.stats.set_value(f"{STATS}/unavailable", reason)
        logger.error("the REST API of %s is unavailable: %s", self.site, reason)

    def page_unreadable(self, collection: Collection, number: int, url: str, why: str) -> None:
        collection.failures[number] = why
        self.crawler.stats.inc_value("tag_archiver/errors")
        logger.error("REST page %s could not be read: %s", url, why)

    # --- phases -----------------------------------------------------------------------------

    def idle(self) -> None:
        """Start the next phase once the last has nothing in flight; compare after the last."""
        while self.phase != "done":
            requests = self.next_phase()
            if requests:
                for request in requests:
                    self.crawler.engine.crawl(request)
                raise DontCloseSpider

    def next_phase(self) -> list[scrapy.Request]:
        record = self.record
        if record.unavailable is not None or not record.tags.pages:
            self.finish()
            return []
        if self.phase == "tags":
            self.phase = "posts"
            selected = tags_to_verify(record, self.archive.tag_slugs if self.archive else set())
            requests = []
            for _slug, term in selected:
                if term is not None and term.id not in record.posts:
                    collection = record.posts[term.id] = Collection()
                    params = {"tags": term.id, "_fields": POST_FIELDS}
                    requests.append(self.page_request(collection, "posts", params, 1))
            return requests
        if self.phase == "posts":
            self.phase = "terms"
            return self.term_lookups()
        self.finish()
        return []

    def term_lookups(self) -> list[scrapy.Request]:
        """The terms the posts name that the tag list did not hold, 100 ids a request."""
        posts = [post for c in self.record.posts.values() for post in c.items()]
        wanted = {
            "tag": {i for p in posts for i in p.tags or ()},
            "category": {i for p in posts for i in p.categories or ()},
        }
        requests = []
        for taxonomy, route in (("tag", "tags"), ("category", "categories")):
            unknown = sorted(wanted[taxonomy] - set(self.record.known_terms(taxonomy)))
            for start in range(0, len(unknown), PER_PAGE):
                chunk = unknown[start : start + PER_PAGE]
                collection = Collection()
                self.record.lookups.setdefault(taxonomy, []).append(collection)
                params = {"include": ",".join(map(str, chunk)), "_fields": TERM_FIELDS}
                requests.append(self.page_request(collection, route, params, 1))
        return requests

    def finish(self) -> None:
        """Compare, count, log and store the findings: once, when everything is read."""
        self.phase = "done"
        if self.findings is not None:
            return
        stats = self.crawler.stats
        db = self.crawler.settings.get("TAG_ARCHIVER_DB")
        with read_only(db) as conn:
            self.findings = compare(self.record, conn, self.archive)
        for finding in self.findings:
            stats.inc_value(f"{STATS}/findings/{finding.kind}")
        run = self.crawler.get_extension(ArchiveRun)
        if unavailable(self.findings) and run is not None:
            run.fail(self.findings[0].message)
        logger.info("%s", summary(self.findings))
        run_id = run.capture_run_id if run is not None else None
        database = self.crawler.get_extension(DatabaseWriter)
        if run_id is not None and database is not None:
            database.submit("save_findings", run_id, self.findings)
        else:
            logger.warning("no run to tie the findings to: they are not stored")

    def closed(self, reason: str) -> None:
        if self.findings is None:
            logger.warning("verification stopped before comparing (%s): nothing stored", reason)
