"""TagArchiveSpider: walk a WordPress blog's tag archives, page 1 to the last page.

    scrapy crawl tags -a site=https://pjfp.com -a tags=ai-scaling,scaling-laws
    scrapy crawl tags -a site=https://pjfp.com -a all_tags=1 -a articles=0

Each tag archive page yields its articles as items; when the theme prints the last page
number, page 1 hands every later page to crawler.later_pages, which asks for a window of them
ahead of their answers; otherwise each page follows its next link.
Each article's permalink is fetched once (unless articles=0) to fill what the archive block
lacks. Extraction is archive.extract's pure function, run here, in the crawling process: a
page is parsed where its bytes already are (crawler processes, not extraction workers, are
what a crawl spreads over the cores; see crawler.shares). This module only decides what to
fetch.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from archive.errors import ExtractionError
from archive.extract import tag_slug_from_url, term_slug
from archive.extract.page import extract_page
from archive.extract.urls import site_root
from archive.known_articles import KnownArticles
from archive.records import Article, ContentKind, Gone, Observed, Page, PageKind, Source
from archive.store import Store
from crawler.capture import CAPTURE_ID, CONDITIONAL, header_pairs
from crawler.conditional import NOT_MODIFIED
from crawler.database import DatabaseWriter
from crawler.discovery import TagDiscovery
from crawler.later_pages import LaterPages
from crawler.pages import PageLedger
from crawler.pipelines import StorePipeline
from crawler.runs import ArchiveRun
from crawler.shares import CrawlShares, tags_from_first_process

logger = logging.getLogger(__name__)

NOT_FOUND = (404, 410)
RESPONSES = "tag_archiver/responses"


def truthy(value: Any) -> bool:
    """Spider arguments arrive as strings from `scrapy crawl -a`."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


class TagArchiveSpider(TagDiscovery, scrapy.Spider):
    name = "tags"
    # The pages whose every request must end with a verdict (crawler.pages.PageLedger).
    page_callbacks: ClassVar[dict[str, str]] = {"parse_tag_page": "tag", "parse_article": "article"}

    def __init__(
        self,
        site: str | None = None,
        tags: str | Iterable[str] | None = None,
        all_tags: Any = False,
        articles: Any = True,
        full: Any = False,
        refresh_articles: Any = False,
        share: Any = False,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.site = site_root(site or "")
        self.allowed_domains = [urlsplit(self.site).hostname]
        if isinstance(tags, str):
            tags = [t for t in (part.strip() for part in tags.split(",")) if t]
        self.tag_args = list(tags or [])
        self.all_tags = truthy(all_tags)
        self.fetch_articles = truthy(articles)
        self.full = truthy(full)  # walk every page, even where nothing is new
        self.refresh_articles = truthy(refresh_articles)  # refetch known, unchanged permalinks
        # One of a run's other crawler processes: its tags come from the first (crawler.shares).
        self.share = truthy(share)
        if not self.tag_args and not self.all_tags and not self.share:
            raise ValueError("name at least one tag (tags=a,b) or ask for all_tags=1")
        self.unknown_tags: list[str] = []
        self.discovering = False  # --all-tags without a tag sitemap: follow tag links
        # Every tag whose first page was asked for, and those that got any answer at all:
        # a request dropped on the way (an off-site redirect) must not vanish silently.
        self.tags_asked: set[str] = set()
        self.tags_answered: set[str] = set()
        # Incremental runs: what the database already holds (permalink -> content hash), and
        # per tag walked, its slug and the oldest publication date seen on the pages read.
        self.known = KnownArticles()
        self.walked: dict[str, tuple[str, str]] = {}
        self.verified = False
        self.shares: CrawlShares | None = None
        self.later = LaterPages(1)  # from_crawler() gives it the window the settings ask

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> TagArchiveSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.later = LaterPages(crawler.settings.getint("TAG_ARCHIVER_PAGES_AHEAD"))
        return spider

    # --- start -----------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        run = self.crawler.get_extension(ArchiveRun)
        db = self.crawler.settings.get("TAG_ARCHIVER_DB")
        if db and not self.full:
            with Store(db) as store:
                self.known.close()
                # what the database held when the run began: the run's other processes may
                # have stored articles by now
                self.known = store.known_articles(
                    before=run.started_at if run else None, site=self.site
                )
                run_id = run.capture_run_id if run is not None else None
                if self.known and not store.previous_run_finished(run_id):
                    # What an interrupted run did not reach may sit on any page.
                    logger.warning("the previous run did not finish: walking every page")
                    self.full = True
        self.full = self.full or self.crawler.settings.getbool("TAG_ARCHIVER_FULL")
        self.crawler.signals.connect(self.idle, signal=signals.spider_idle)
        self.shares = self.crawler.get_extension(CrawlShares)
        if self.share:
            async for url, tag, named in tags_from_first_process():
                if named:
                    self.tag_args.append(tag)
                yield self.tag_request(url, tag=tag)
            return
        if self.shares is not None and run is not None and run.run_id is not None:
            database = self.crawler.get_extension(DatabaseWriter)
            self.shares.start(run.run_id, database.first_capture_id)
        for tag in self.tag_args:
            url = self.tag_url(tag)
            if not self.handed_out(url, tag, named=True):
                yield self.tag_request(url, tag=tag)
        if self.all_tags:
            for request in self.discover_tags():
                yield request

    def tag_url(self, tag: str) -> str:
        if "://" in tag:
            return tag
        return f"{self.site}tag/{quote(tag.strip('/'), safe='')}/"

    def tag_request(self, url: str, tag: str, **cb_kwargs: Any) -> scrapy.Request:
        if cb_kwargs.get("page_number", 1) == 1:
            self.tags_asked.add(tag)
        return scrapy.Request(
            url,
            callback=self.parse_tag_page,
            errback=self.failed,
            cb_kwargs={"tag": tag, **cb_kwargs},
        )

    # --- tag discovery (--all-tags): crawler.discovery, then links on pages ----------------

    def discover_from_pages(self) -> Iterable[scrapy.Request]:
        self.discovering = True
        yield scrapy.Request(self.site, callback=self.parse_front_page, errback=self.failed)

    async def parse_front_page(self, response: Response) -> AsyncIterator[scrapy.Request]:
        self.answered()
        page = self.extract(response)
        if page is not None:
            for request in self.follow_tag_links(page):
                yield request

    def follow_tag_links(self, page: Page) -> Iterable[scrapy.Request]:
        for url in page.tag_links:
            slug = tag_slug_from_url(url) or term_slug(url)
            if slug and "/page/" not in url and "paged=" not in url:
                yield from self.discovered(url, slug, "links")

    # --- tag archives -----------------------------------------------------------------------

    async def parse_tag_page(
        self, response: Response, tag: str, page_number: int = 1, fallback: bool = False
    ) -> AsyncIterator[Any]:
        self.answered()
        if page_number == 1:
            self.tags_answered.add(tag)
        else:
            for request in self.next_later_page(tag):
                yield request
        if response.status in NOT_FOUND:
            for request in self.tag_page_not_found(response, tag, page_number, fallback):
                yield request
            return
        page, capture_id = self.read(response)
        if page is None:
            return
        if page.kind is not PageKind.TAG_ARCHIVE and page_number == 1 and tag in self.tag_args:
            # /tag/<slug>/ is a guess: with plain permalinks WordPress answers it with the
            # front page, with another tag base it may redirect to a post of that name.
            self.crawler.stats.inc_value("tag_archiver/pages/not_tag_archive")
            logger.warning("%s is not a tag archive (it looks like: %s)", response.url, page.kind)
            if page.kind is PageKind.SINGLE and self.fetch_articles:
                # That post's page is fetched now; asked for again, the duplicate filter
                # would drop it.
                for item in self.single_page_items(page, capture_id):
                    yield item
            for request in self.tag_page_not_found(response, tag, page_number, fallback):
                yield request
            return
        for output in self.walk_tag_page(response, page, capture_id, tag, page_number):
            yield output

    def tag_page_not_found(
        self, response: Response, tag: str, page_number: int, fallback: bool
    ) -> Iterable[scrapy.Request]:
        """404/410 on a tag page, or a named tag's first page that is no tag archive: past the
        last page, a dead link, or a tag to retry as ?tag=."""
        stats = self.crawler.stats
        if page_number > 1:
            stats.inc_value("tag_archiver/pages/past_last")
            logger.info("%s: past the last page of tag %r", response.url, tag)
        elif tag not in self.tag_args:
            # Found in a sitemap or a link, not named by the user: the site's dead link.
            stats.inc_value("tag_archiver/tags/dead_link")
            logger.warning("tag %r linked from the site answers %d", tag, response.status)
        elif not fallback and "://" not in tag:
            # Sites with a custom tag base or plain permalinks: ?tag= is always understood,
            # and WordPress redirects it to the canonical archive URL.
            yield self.tag_request(f"{self.site}?tag={quote(tag)}", tag=tag, fallback=True)
        else:
            self.unknown_tags.append(tag)
            stats.inc_value("tag_archiver/tags/unknown")
            logger.error(
                "unknown tag %r: %s answered %d%s", tag, response.url, response.status,
                " with no tag archive" if response.status == 200 else "",
            )  # fmt: skip

    def walk_tag_page(
        self, response: Response, page: Page, capture_id: int | None, tag: str, page_number: int
    ) -> Iterable[Any]:
        """The page's articles as items, and the requests it calls for."""
        stats = self.crawler.stats
        if page.kind is not PageKind.TAG_ARCHIVE:
            stats.inc_value("tag_archiver/pages/not_tag_archive")
            logger.warning("%s is not a tag archive (it looks like: %s)", response.url, page.kind)
            return
        stats.inc_value("tag_archiver/pages/tag_archive")
        if not page.articles and not page.skipped:
            stats.inc_value(
                "tag_archiver/tags/empty" if page_number == 1 else "tag_archiver/pages/empty"
            )
            logger.info("%s: tag %r lists no posts", response.url, tag)
        for skipped in page.skipped:
            stats.inc_value(f"tag_archiver/articles/skipped/{skipped.reason}")
            logger.info(
                "skipped %s (%s)", skipped.url or f"post {skipped.wp_post_id}", skipped.reason
            )
        news = False
        for article in page.articles:
            stats.inc_value("tag_archiver/articles/listed")  # "listed_again": StorePipeline
            self.count_notes(article)
            if article.content_kind is ContentKind.EXCERPT:
                stats.inc_value("tag_archiver/articles/listed_as_excerpt")
                if not self.fetch_articles:
                    stats.inc_value("tag_archiver/articles/excerpt_only")
            yield Observed(article, capture_id)
            known_sha, source = self.known.get(article.url) or (None, None)
            unchanged = article.content is not None and known_sha == article.content.sha256
            news = news or not unchanged
            if article.published and page.tag is not None:
                slug, oldest = self.walked.get(tag, (page.tag.slug, article.published))
                self.walked[tag] = (slug, min(oldest, article.published))
            # an article whose own page was never read (an interrupted run) is still wanted
            wanted = self.refresh_articles or not unchanged or source != Source.SINGLE
            if self.fetch_articles and wanted and self.on_site(article.url) and self.first(article):
                yield scrapy.Request(article.url, callback=self.parse_article, errback=self.failed)
        if self.walk_all or news:
            yield from self.more_pages(page, tag, page_number)
        elif page.next_url or page_number < len(page.page_urls):
            stats.inc_value("tag_archiver/tags/stopped_early")
            logger.info(
                "tag %r: page %d lists only stored, unchanged articles; stopping there "
                "(--full walks every page)", tag, page_number,
            )  # fmt: skip
        if self.discovering:
            yield from self.follow_tag_links(page)

    @property
    def walk_all(self) -> bool:
        """--full, or a first run: nothing is stored yet, so every page is news."""
        return self.full or not self.known

    def more_pages(self, page: Page, tag: str, page_number: int) -> Iterable[scrapy.Request]:
        if self.walk_all and page_number == 1 and len(page.page_urls) > 1:
            # The theme printed the last page number: the later pages are fetched side by
            # side instead of one after another, a window of them at a time.
            yield from self.later_page_requests(tag, self.later.start(tag, page.page_urls[1:]))
        following = page.next_url
        if following is None and page_number < len(page.page_urls):
            following = page.page_urls[page_number]
        if following and not self.later.waiting(tag, page_number + 1) and self.on_site(following):
            # Themes with only older/newer links, incremental runs (one page at a time), and
            # archives that grew since page 1 was read. Pages already asked for are dropped
            # by the duplicate filter.
            yield self.tag_request(following, tag=tag, page_number=page_number + 1)

    def next_later_page(self, tag: str) -> Iterable[scrapy.Request]:
        """One of the tag's later pages was answered, or failed: ask for the next one held."""
        following = self.later.next(tag)
        return self.later_page_requests(tag, [following] if following else [])

    def later_page_requests(
        self, tag: str, pages: list[tuple[int, str]]
    ) -> Iterable[scrapy.Request]:
        while pages:
            number, url = pages.pop(0)
            if self.on_site(url):
                yield self.tag_request(url, tag=tag, page_number=number)
            elif (following := self.later.next(tag)) is not None:
                pages.append(following)  # no answer will come to ask for the next

    # --- articles ---------------------------------------------------------------------------

    async def parse_article(self, response: Response) -> AsyncIterator[Any]:
        self.answered()
        if response.status in NOT_FOUND:
            self.crawler.stats.inc_value("tag_archiver/pages/article_gone")
            logger.warning("article %s answered %d", response.url, response.status)
            yield Gone(response.url, response.status)
            return
        page, capture_id = self.read(response)
        if page is None:
            return
        if page.kind is not PageKind.SINGLE:
            self.crawler.stats.inc_value("tag_archiver/pages/not_single")
            logger.warning("%s is not a single post page", response.url)
            return
        for item in self.single_page_items(page, capture_id):
            yield item

    def single_page_items(self, page: Page, capture_id: int | None) -> Iterable[Observed]:
        self.crawler.stats.inc_value("tag_archiver/pages/single")
        for skipped in page.skipped:
            self.crawler.stats.inc_value(f"tag_archiver/articles/skipped/{skipped.reason}")
        for article in page.articles:
            self.count_notes(article)
            yield Observed(article, capture_id)

    def count_notes(self, article: Article) -> None:
        """What extraction could not settle (archive.records.Article.notes): never guessed,
        each counted and logged so the run's totals show it."""
        for note in article.notes:
            kind = note.split(":", 1)[0]
            self.crawler.stats.inc_value(f"tag_archiver/extraction/notes/{kind}")
            logger.warning("%s: %s", article.url, note)

    def idle(self) -> None:
        """Nothing in flight: ask for the later pages still held (crawler.later_pages), if
        any; once every tag is walked, check the stored articles that should have been listed
        on the pages read but were not. 404/410 marks one gone; 200 means it left the tag."""
        if self.later:
            for tag, number, url in self.later.drain():
                for request in self.later_page_requests(tag, [(number, url)]):
                    self.crawler.engine.crawl(request)
            raise DontCloseSpider
        if self.verified or not self.fetch_articles or not self.walked:
            return
        self.verified = True
        pipeline = self.crawler.get_item_pipeline(StorePipeline)
        missing = pipeline.unlisted_under(self.walked.values()) if pipeline else []
        missing = [url for url in missing if self.shares is None or self.shares.claim(url)]
        for url in missing:
            self.crawler.stats.inc_value("tag_archiver/articles/missing_from_tag")
            request = scrapy.Request(url, callback=self.parse_article, errback=self.failed)
            self.crawler.engine.crawl(request)
        if missing:
            raise DontCloseSpider

    def answered(self) -> None:
        """Any answer from the site at all, errors included (counted over the whole run)."""
        self.crawler.stats.inc_value(RESPONSES)

    async def closed(self, reason: str) -> None:
        """Tell the run's owner (crawler.runs.ArchiveRun) why the crawl failed, if it did:
        once the run's other crawler processes, if any, have ended and their counts are in."""
        self.known.close()
        if self.shares is not None:
            await self.shares.finish()
        stats = self.crawler.stats
        if stats.get_value("tag_archiver/articles/excerpt_only"):
            logger.warning(
                "the tag archives show excerpts, and --no-articles kept the crawl from the "
                "article pages: %d articles are stored as excerpts only "
                "(articles.archive_content = 'excerpt'); crawl without --no-articles for "
                "their full text",
                stats.get_value("tag_archiver/articles/excerpt_only"),
            )
        for tag in sorted(self.tags_asked - self.tags_answered):
            stats.inc_value("tag_archiver/errors")
            stats.inc_value("tag_archiver/tags/unread")
            logger.error("tag %r: its archive was never read (refused redirect or dropped)", tag)
        run = self.crawler.get_extension(ArchiveRun)
        if run is None or run.failure or reason == "shutdown":
            return
        message = self.failure_message()
        if message:
            run.fail(message)
            logger.error("crawl failed: %s", message)

    def failure_message(self) -> str | None:
        """Why the crawl archived nothing useful, if it did not."""
        stats = self.crawler.stats
        robots = stats.get_value("tag_archiver/robots/unavailable")
        robots_answered = stats.get_value("tag_archiver/robots/status") is not None
        if self.share:
            # One of the run's other crawler processes: whether the site answered, or any tag
            # page could be read, is the run's question, answered by its first process.
            return self.unknown_tags_message()
        if not stats.get_value(RESPONSES) and not robots_answered:
            return f"site unreachable: no answer from {self.site}"
        if robots and not stats.get_value("tag_archiver/pages/tag_archive"):
            return f"{robots}: under RFC 9309 the site is disallowed until robots.txt answers"
        if self.unknown_tags:
            return self.unknown_tags_message()
        if not stats.get_value("tag_archiver/pages/tag_archive"):
            if (
                self.all_tags
                and not self.tag_args
                and not stats.get_value("tag_archiver/tags/discovered")
            ):
                return (
                    "--all-tags found no tags: no tag sitemap in wp-sitemap.xml and no tag links "
                    "on the front page; name tags with --tag"
                )
            return "no tag archive page could be read"
        return None

    def unknown_tags_message(self) -> str | None:
        if not self.unknown_tags:
            return None
        names = ", ".join(repr(t) for t in self.unknown_tags)
        return f"unknown tag: {names} (no such tag archive)"

    # --- shared -----------------------------------------------------------------------------

    def read(self, response: Response) -> tuple[Page | None, int | None]:
        """The page and the capture its content is in. For a 304, the conditional-request
        middleware (crawler.conditional) has put the archived page in its place: its
        capture is the one the request asked about."""
        if NOT_MODIFIED in response.flags:
            self.crawler.stats.inc_value("tag_archiver/pages/not_modified")
            return self.extract(response), response.meta[CONDITIONAL]["id"]
        return self.extract(response), response.meta.get(CAPTURE_ID)

    def extract(self, response: Response) -> Page | None:
        """extract_page of the response; None (counted, logged) when it cannot be read."""
        # latin-1, not Scrapy's to_unicode_dict(): a non-UTF-8 header byte must not crash
        headers = dict(header_pairs(response.headers))
        try:
            return extract_page(response.url, headers, response.body)
        except ExtractionError as exc:
            self.crawler.stats.inc_value(f"tag_archiver/extraction/{exc.reason}")
            self.crawler.stats.inc_value("tag_archiver/errors")
            logger.error("cannot extract %s: %s", response.url, exc)
            return None

    def first(self, article: Article) -> bool:
        """Whether no other crawler process of the run has asked for the article's page."""
        return self.shares is None or self.shares.claim(article.url)

    def handed_out(self, url: str, tag: str, named: bool = False) -> bool:
        """Whether another of the run's crawler processes walks this tag (crawler.shares)."""
        return self.shares is not None and self.shares.take(url, tag, named)

    def on_site(self, url: str) -> bool:
        if urlsplit(url).hostname == self.allowed_domains[0]:
            return True
        self.crawler.stats.inc_value("tag_archiver/links/offsite")
        return False

    def failed(self, failure: Failure) -> list[scrapy.Request]:
        """Settle and count a failed page; the requests that follow from it (the next of a
        tag's later pages)."""
        request = failure.request
        tag = request.cb_kwargs.get("tag")
        following: list[scrapy.Request] = []
        if tag is not None and request.cb_kwargs.get("page_number", 1) == 1:
            self.tags_answered.add(tag)  # an answer of sorts: the failure is counted below
        elif tag is not None:
            following = list(self.next_later_page(tag))
        if failure.check(HttpError):
            self.answered()
            reason = f"HTTP {failure.value.response.status}"
        else:
            reason = f"{failure.type.__name__}: {failure.getErrorMessage()}"
        verdict = "failed"
        ledger = self.crawler.get_extension(PageLedger)
        if ledger is not None:
            verdict, _why = ledger.failure_verdict(failure)
            ledger.settle(request, verdict, reason)
        if verdict == "skipped":
            logger.info("not fetched on purpose: %s (%s)", request.url, reason)
            return following
        self.crawler.stats.inc_value("tag_archiver/errors")
        self.crawler.stats.inc_value("tag_archiver/errors/download")
        logger.error("failed to fetch %s (%s)", request.url, reason)
        return following
