"""A tag's numbered pages are asked for a window at a time (crawler.later_pages), never all
at once, and none is lost: each answer or failure asks for the next."""

from __future__ import annotations

import pytest

from crawler.later_pages import LaterPages
from crawler.verdict import ExitCode
from tests.crawler.changing_site import Blog, changing_site
from tests.helpers import crawl, crawl_or_fail, rows

URLS = [f"/tag/t/page/{n}/" for n in range(2, 12)]  # pages 2..11


def test_the_first_window_then_one_page_per_answer():
    later = LaterPages(window=3)
    assert later.start("t", URLS) == [(2, URLS[0]), (3, URLS[1]), (4, URLS[2])]
    assert later.next("t") == (5, URLS[3])
    assert len(later) == 6
    assert later.next("other") is None


def test_every_page_is_handed_out_once_in_order():
    later = LaterPages(window=4)
    handed = later.start("t", URLS)
    while (page := later.next("t")) is not None:
        handed.append(page)
    assert handed == list(enumerate(URLS, start=2))
    assert not later


def test_waiting_is_true_only_for_pages_not_yet_handed_out():
    later = LaterPages(window=2)
    later.start("t", URLS)  # hands out 2 and 3
    assert not later.waiting("t", 3)
    assert later.waiting("t", 4)
    assert later.waiting("t", 11)
    assert not later.waiting("t", 12)  # past the pages page 1 named
    assert not later.waiting("u", 4)


def test_drain_hands_out_a_window_of_every_tag():
    later = LaterPages(window=2)
    later.start("a", URLS)
    later.start("b", URLS[:3])
    assert later.drain() == [("a", 4, URLS[2]), ("a", 5, URLS[3]), ("b", 4, URLS[2])]
    assert later.drain()[:1] == [("a", 6, URLS[4])]
    assert later.waiting("a", 8) and not later.waiting("b", 4)


def test_a_window_holds_at_least_one_page():
    with pytest.raises(ValueError, match="at least one page"):
        LaterPages(window=0)


# --- in a crawl ------------------------------------------------------------------------------

WINDOW = 4
PAGES = 40  # two posts a page (changing_site.PER_PAGE)


def big_tag_blog() -> Blog:
    blog = Blog()
    for post_id in range(1, 2 * PAGES + 1):
        blog.add(post_id, f"Post {post_id}", f"Text of post {post_id}.", "big")
    return blog


def page_number(path: str) -> int:
    parts = [p for p in path.split("/") if p]
    return int(parts[3]) if len(parts) == 4 else 1


def tag_pages_fetched(blog: Blog) -> list[int]:
    return sorted(page_number(path) for path in blog.paths() if path.startswith("/tag/"))


def furthest_ahead(blog: Blog) -> int:
    """How far past the later pages the site had answered whole the crawl ever asked: page
    m asked for after k of them were answered is m - 1 - k pages ahead. (What waits in the
    crawler's scheduler never reaches the site; the page numbers it asks for show it.)"""
    events = sorted(
        [(at, 0, path) for at, path in blog.answers] + [(at, 1, path) for at, path in blog.requests]
    )
    answered = furthest = 0
    for _at, is_request, path in events:
        if not path.startswith("/tag/") or page_number(path) == 1:
            continue
        if is_request:
            furthest = max(furthest, page_number(path) - 1 - answered)
        else:
            answered += 1
    return furthest


def test_a_crawl_asks_no_further_ahead_than_the_window_and_fetches_every_page(tmp_path):
    blog = big_tag_blog()
    with changing_site(blog) as origin:
        crawl_or_fail(origin, tmp_path / "a.db", "--tag", "big", "--no-articles",
                      "--set", f"TAG_ARCHIVER_PAGES_AHEAD={WINDOW}")  # fmt: skip
    assert tag_pages_fetched(blog) == list(range(1, PAGES + 1))  # each page once
    assert furthest_ahead(blog) <= WINDOW
    assert rows(tmp_path / "a.db", "SELECT count(*) FROM articles") == [(2 * PAGES,)]


def test_the_window_is_what_keeps_the_crawl_from_asking_for_every_page_at_once(tmp_path):
    """The control for the test above: with a window as large as the tag, the crawl asks for
    pages far past those answered (Scrapy's scheduler is last in, first out)."""
    blog = big_tag_blog()
    with changing_site(blog) as origin:
        crawl_or_fail(origin, tmp_path / "a.db", "--tag", "big", "--no-articles",
                      "--set", f"TAG_ARCHIVER_PAGES_AHEAD={PAGES}")  # fmt: skip
    assert furthest_ahead(blog) > WINDOW


def test_failed_later_pages_still_ask_for_the_next(tmp_path):
    blog = big_tag_blog()
    broken = {f"/tag/big/page/{n}/" for n in range(3, 3 + WINDOW + 2)}  # a whole window fails
    blog.errors = dict.fromkeys(broken, 403)
    with changing_site(blog) as origin:
        result = crawl(origin, tmp_path / "a.db", "--tag", "big", "--no-articles",
                       "--set", f"TAG_ARCHIVER_PAGES_AHEAD={WINDOW}")  # fmt: skip
    assert result.returncode == ExitCode.PARTIAL, result.stderr[-2000:]
    assert tag_pages_fetched(blog) == list(range(1, PAGES + 1))
    stored = rows(tmp_path / "a.db", "SELECT count(*) FROM articles")
    assert stored == [(2 * (PAGES - len(broken)),)]
    for path in broken:
        assert f"failed to fetch {origin}{path} (HTTP 403)" in result.stderr
