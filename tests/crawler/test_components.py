"""Components in process, on a crawler from Scrapy's get_crawler: the run's verdict, the
off-site port and robots.txt guards, and conditional requests, each given Request and
Response objects built here. Unit tests of components: no crawl, no server."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from archive.store import Store
from archive.warc.exchange import Exchange
from archive.warc.files import WarcFileWriter
from crawler import settings as project_settings
from crawler.capture import CONDITIONAL
from crawler.conditional import NOT_MODIFIED, ConditionalRequests
from crawler.middlewares import OffsitePorts, RobotsFailClosed
from crawler.verdict import FORCED, INTERRUPTED, ExitCode, Verdict, verdict

# --- the verdict ------------------------------------------------------------------------------


def test_a_clean_finished_run_is_ok():
    assert verdict({}, close_reason="finished") == Verdict("finished", ExitCode.OK, None)


def test_pages_lost_or_callbacks_failed_make_a_finished_run_partial():
    partial = Verdict("finished", ExitCode.PARTIAL, None)
    assert verdict({"tag_archiver/errors": 2}, close_reason="finished") == partial
    exceptions = {"spider_exceptions/KeyError": 1}  # a bug in our callbacks is an error too
    assert verdict(exceptions, close_reason="finished") == partial


def test_a_component_failure_fails_the_run_with_its_reason():
    ended = verdict({"tag_archiver/errors": 5}, failure="disk full", close_reason="warc_error")
    assert ended == Verdict("failed", ExitCode.FAILED, "disk full")


def test_an_early_stop_without_a_reason_fails_and_names_the_close_reason():
    ended = verdict({}, close_reason="closespider_timeout")
    assert ended.status == "failed" and ended.exit_code is ExitCode.FAILED
    assert "closespider_timeout" in ended.message


def test_a_signal_interrupts_whatever_else_went_wrong():
    expected = Verdict("interrupted", ExitCode.INTERRUPTED, INTERRUPTED)
    assert verdict({"tag_archiver/errors": 1}, failure="x", interrupted=True) == expected
    assert verdict({}, close_reason="shutdown") == expected
    forced = verdict({}, interrupted=True, forced=True)
    assert forced == Verdict("interrupted", ExitCode.INTERRUPTED, FORCED)


def test_a_locked_database_comes_before_everything():
    ended = verdict({"tag_archiver/errors": 1}, locked="held by pid 7", interrupted=True)
    assert ended == Verdict("failed", ExitCode.LOCKED, "held by pid 7")


# --- helpers ---------------------------------------------------------------------------------


def crawler_with(settings: dict | None = None, **spider_attributes: object) -> Crawler:
    """A crawler with the project's settings (and these), its spider made, not crawling."""
    # The reactor is get_crawler's to choose: whichever the test process has installed.
    names = [n for n in dir(project_settings) if n.isupper() and n != "TWISTED_REACTOR"]
    project = {name: getattr(project_settings, name) for name in names}
    crawler = get_crawler(Spider, {**project, **(settings or {})})
    crawler.spider = Spider.from_crawler(crawler, name="test", **spider_attributes)
    return crawler


def stats(crawler: Crawler) -> dict:
    return crawler.stats.get_stats()


# --- OffsitePorts ----------------------------------------------------------------------------


@pytest.fixture
def offsite_ports() -> tuple[OffsitePorts, Crawler]:
    crawler = crawler_with(site="http://blog.test:8080/")
    return OffsitePorts.from_crawler(crawler), crawler


@pytest.mark.parametrize(
    "url",
    [
        "http://blog.test:8080/tag/a/",
        "http://other.test:9000/",  # another host: Scrapy's OffsiteMiddleware judges it
    ],
)
def test_the_sites_own_port_and_other_hosts_pass(offsite_ports, url):
    middleware, crawler = offsite_ports
    assert middleware.process_request(Request(url)) is None
    assert "tag_archiver/offsite/other_port" not in stats(crawler)


@pytest.mark.parametrize(
    "url", ["http://blog.test:9000/tag/a/", "http://blog.test/", "http://www.blog.test:9000/"]
)
def test_the_sites_host_on_another_port_is_refused_and_counted(offsite_ports, url):
    middleware, crawler = offsite_ports
    redirected = Request(url, meta={"redirect_urls": ["http://blog.test:8080/tag/a/"]})
    with pytest.raises(IgnoreRequest, match="off-site"):
        middleware.process_request(redirected)
    assert stats(crawler)["tag_archiver/offsite/other_port"] == 1
    assert stats(crawler)["offsite/filtered"] == 1


def test_the_standard_ports_are_one_site():
    middleware = OffsitePorts.from_crawler(crawler_with(site="http://blog.test/"))
    assert middleware.process_request(Request("https://blog.test/tag/a/")) is None
    with pytest.raises(IgnoreRequest):
        middleware.process_request(Request("https://blog.test:8443/tag/a/"))


def test_allow_offsite_and_a_spider_without_a_site_are_not_checked(offsite_ports):
    middleware, _crawler = offsite_ports
    allowed = Request("http://blog.test:9000/", meta={"allow_offsite": True})
    assert middleware.process_request(allowed) is None
    siteless = OffsitePorts.from_crawler(crawler_with())
    assert siteless.process_request(Request("http://blog.test:9000/")) is None


# --- RobotsFailClosed ------------------------------------------------------------------------


def robots_fetch(netloc: str = "blog.test") -> Request:
    # How Scrapy's RobotsTxtMiddleware asks for it.
    return Request(f"http://{netloc}/robots.txt", meta={"dont_obey_robotstxt": True})


@pytest.fixture
def robots() -> tuple[RobotsFailClosed, Crawler]:
    crawler = crawler_with({"ROBOTSTXT_OBEY": True})
    return RobotsFailClosed.from_crawler(crawler), crawler


def test_robots_fail_closed_is_off_when_robots_txt_is_not_obeyed():
    with pytest.raises(NotConfigured, match="ROBOTSTXT_OBEY"):
        RobotsFailClosed.from_crawler(crawler_with({"ROBOTSTXT_OBEY": False}))


def test_a_robots_txt_answering_5xx_disallows_its_site_only(robots):
    middleware, crawler = robots
    fetch = robots_fetch()
    answer = Response(fetch.url, status=503, request=fetch)
    assert middleware.process_response(fetch, answer) is answer
    with pytest.raises(IgnoreRequest, match="RFC 9309"):
        middleware.process_request(Request("http://blog.test/tag/a/"))
    assert middleware.process_request(Request("http://other.test/tag/a/")) is None
    assert middleware.process_request(robots_fetch()) is None  # asking again stays possible
    assert stats(crawler)["tag_archiver/robots/status"] == 503
    assert stats(crawler)["tag_archiver/robots/refused"] == 1
    assert "answered 503" in stats(crawler)["tag_archiver/robots/unavailable"]


def test_a_robots_txt_that_cannot_be_fetched_disallows_its_site(robots):
    middleware, crawler = robots
    middleware.process_exception(robots_fetch(), TimeoutError("timed out"))
    with pytest.raises(IgnoreRequest):
        middleware.process_request(Request("http://blog.test/tag/a/"))
    assert "TimeoutError" in stats(crawler)["tag_archiver/robots/unavailable"]


def test_a_robots_txt_refused_on_purpose_or_missing_allows_the_site(robots):
    middleware, crawler = robots
    middleware.process_exception(robots_fetch(), IgnoreRequest("off-site"))
    fetch = robots_fetch()
    middleware.process_response(fetch, Response(fetch.url, status=404, request=fetch))
    assert middleware.process_request(Request("http://blog.test/tag/a/")) is None
    assert "tag_archiver/robots/unavailable" not in stats(crawler)


def test_a_robots_txt_that_answers_keeps_its_sitemaps(robots):
    middleware, _crawler = robots
    fetch = robots_fetch()
    body = b"User-agent: *\nDisallow:\nSitemap: http://blog.test/wp-sitemap.xml\n"
    middleware.process_response(fetch, Response(fetch.url, status=200, body=body, request=fetch))
    assert middleware.sitemaps == {"blog.test": ["http://blog.test/wp-sitemap.xml"]}
    assert middleware.process_request(Request("http://blog.test/tag/a/")) is None


# --- ConditionalRequests ---------------------------------------------------------------------

TAG_PAGE = "http://blog.test/tag/a/"
PAGE = b"<html><body><article class='post-1 hentry'>archived</article></body></html>"
ETAG = '"v1"'
LAST_MODIFIED = "Thu, 01 Jan 2026 00:00:00 GMT"


@pytest.fixture
def archived(tmp_path) -> Path:
    """A database whose one capture, the tag page gzipped as it came, has validators."""
    db = tmp_path / "a.db"
    warc_dir = tmp_path / "a-warc"
    warc_dir.mkdir()
    writer = WarcFileWriter(warc_dir)
    exchange = Exchange(
        url=TAG_PAGE,
        method="GET",
        request_headers=(("Host", "blog.test"),),
        status=200,
        response_headers=(
            ("Content-Type", "text/html; charset=UTF-8"),
            ("Content-Encoding", "gzip"),
            ("ETag", ETAG),
            ("Last-Modified", LAST_MODIFIED),
        ),
        body=gzip.compress(PAGE),
        started=datetime(2026, 1, 1, tzinfo=UTC),
    )
    location = writer.write(exchange)
    writer.close()
    with Store(db) as store:
        store.add_capture(
            location, url=TAG_PAGE, status=200, fetched_at="2026-01-01T00:00:00Z",
            content_type="text/html; charset=UTF-8", warc_date=location.warc_date,
            etag=ETAG, last_modified=LAST_MODIFIED,
        )  # fmt: skip
    return db


def conditional(db: Path, **settings: object) -> tuple[ConditionalRequests, Crawler]:
    crawler = crawler_with({"TAG_ARCHIVER_DB": str(db), **settings})
    return ConditionalRequests.from_crawler(crawler), crawler


def asked(middleware: ConditionalRequests, url: str = TAG_PAGE) -> Request:
    request = Request(url)
    middleware.process_request(request)
    return request


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"TAG_ARCHIVER_FULL": True}, "TAG_ARCHIVER_FULL"),
        ({"TAG_ARCHIVER_CONDITIONAL": False}, "TAG_ARCHIVER_CONDITIONAL"),
        ({"TAG_ARCHIVER_DB": None}, "TAG_ARCHIVER_DB"),
    ],
)
def test_conditional_requests_are_off_when_told_or_without_a_database(tmp_path, settings, reason):
    with pytest.raises(NotConfigured, match=reason):
        conditional(tmp_path / "a.db", **settings)


def test_a_page_archived_with_validators_is_asked_for_conditionally(archived):
    middleware, crawler = conditional(archived)
    request = asked(middleware)
    assert request.headers["If-None-Match"] == ETAG.encode()
    assert request.headers["If-Modified-Since"] == LAST_MODIFIED.encode()
    assert request.meta[CONDITIONAL]["url"] == TAG_PAGE
    assert stats(crawler)["tag_archiver/conditional_requests"] == 1
    middleware.closed()


def test_other_pages_and_other_methods_are_asked_for_whole(archived):
    middleware, crawler = conditional(archived)
    for request in (asked(middleware, "http://blog.test/tag/b/"), Request(TAG_PAGE, method="POST")):
        middleware.process_request(request)
        assert b"If-None-Match" not in request.headers and CONDITIONAL not in request.meta
    assert "tag_archiver/conditional_requests" not in stats(crawler)
    middleware.closed()


def test_a_304_becomes_the_archived_page_it_confirmed(archived):
    middleware, _crawler = conditional(archived)
    request = asked(middleware)
    not_modified = Response(TAG_PAGE, status=304, headers={"ETag": ETAG}, request=request)
    page = middleware.process_response(request, not_modified)
    assert isinstance(page, HtmlResponse)
    assert (page.status, page.url, page.body) == (200, TAG_PAGE, PAGE)
    assert NOT_MODIFIED in page.flags and "cached" in page.flags  # not a new exchange
    assert page.request is request
    # The body is decoded already: nothing may decode it again.
    assert b"Content-Encoding" not in page.headers
    assert page.headers["ETag"] == ETAG.encode()
    assert page.text.endswith("</html>")
    middleware.closed()


def test_other_answers_pass_unchanged(archived):
    middleware, _crawler = conditional(archived)
    request = asked(middleware)
    changed = HtmlResponse(TAG_PAGE, status=200, body=b"<html>new</html>", request=request)
    assert middleware.process_response(request, changed) is changed
    unasked = Request(TAG_PAGE, meta={CONDITIONAL: None})  # a 304 we did not ask for
    stray = Response(TAG_PAGE, status=304, request=unasked)
    assert middleware.process_response(unasked, stray) is stray
    middleware.closed()


def test_a_304_whose_archived_page_is_gone_is_asked_for_again_whole(archived):
    middleware, crawler = conditional(archived)
    request = asked(middleware)
    for warc in (archived.parent / "a-warc").iterdir():
        warc.unlink()
    again = middleware.process_response(request, Response(TAG_PAGE, status=304, request=request))
    assert isinstance(again, Request) and again.url == TAG_PAGE and again.dont_filter
    assert b"If-None-Match" not in again.headers and b"If-Modified-Since" not in again.headers
    middleware.process_request(again)  # on its way out again: no validators added back
    assert b"If-None-Match" not in again.headers
    assert stats(crawler)["tag_archiver/conditional/unreadable"] == 1
    middleware.closed()


def test_the_capture_sees_the_304_before_it_is_replaced():
    # process_response runs from the highest priority down: the WARC capture must archive
    # the 304 as it came, before ConditionalRequests puts the archived page in its place,
    # and the archived page (its body decoded) must never reach HttpCompressionMiddleware
    # with its Content-Encoding.
    order = project_settings.DOWNLOADER_MIDDLEWARES
    assert order["crawler.capture.WarcCaptureMiddleware"] > order[
        "crawler.conditional.ConditionalRequests"
    ] > 590  # fmt: skip
