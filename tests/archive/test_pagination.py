"""Page URLs from WordPress's pagination markup."""

from __future__ import annotations

import lxml.html
import pytest

from archive.extract.pagination import extract_pagination, first_page_url


def pagination(html: str, url: str):
    return extract_pagination(
        lxml.html.document_fromstring(f"<html><body>{html}</body></html>"), url
    )


def test_classic_paginate_links_with_dots_give_every_page():
    html = (
        '<nav class="navigation pagination"><span class="page-numbers current">1</span>'
        '<span class="page-numbers dots">…</span>'
        '<a class="page-numbers" href="/tag/x/page/6/"><span>Page</span> 6</a>'
        '<a class="next page-numbers" href="/tag/x/page/2/">Next</a></nav>'
    )
    p = pagination(html, "http://b.test/tag/x/")
    assert p.last_page == 6
    assert p.page_urls == tuple(
        ["http://b.test/tag/x/"] + [f"http://b.test/tag/x/page/{n}/" for n in range(2, 7)]
    )


def test_block_theme_previous_next_only():
    html = '<nav class="wp-block-query-pagination"><a class="wp-block-query-pagination-next" href="/tag/x/page/3/">Next</a></nav>'
    p = pagination(html, "http://b.test/tag/x/page/2/")
    assert p.page_number == 2
    assert p.next_url == "http://b.test/tag/x/page/3/"
    assert (p.last_page, p.page_urls) == (None, ())  # unknown: the spider follows next_url


@pytest.mark.parametrize(
    ("url", "first"),
    [
        ("http://b.test/tag/x/page/4/", "http://b.test/tag/x/"),
        ("http://b.test/?tag=x&paged=4", "http://b.test/?tag=x"),
        ("http://b.test/tag/x/?query-2-page=4", "http://b.test/tag/x/"),
    ],
)
def test_first_page_url(url, first):
    assert first_page_url(url) == first


def test_plain_permalinks():
    html = '<div class="nav-links"><a class="page-numbers" href="/?tag=x&amp;paged=3">3</a></div>'
    p = pagination(html, "http://b.test/?tag=x")
    assert p.page_urls == (
        "http://b.test/?tag=x",
        "http://b.test/?tag=x&paged=2",
        "http://b.test/?tag=x&paged=3",
    )


def test_single_page_archive_has_no_more_pages():
    p = pagination("<p>no pagination</p>", "http://b.test/tag/x/")
    assert (p.last_page, p.page_urls, p.next_url) == (1, (), None)
