"""The benchmark's site: pages the extractor reads as WordPress tag archives, every article
distinct, every page reachable by the product's pagination and by the plain spider's."""

from __future__ import annotations

from collections import Counter

import pytest
from scrapy.http import HtmlResponse

from archive.extract.page import extract_page
from tests.bench.plain_spider import PAGINATION
from tests.bench.site import PAGINATION_FORMS, PER_PAGE, build_site, paginate_links

ORIGIN = "http://127.0.0.1:8080"
HEADERS = {"Content-Type": "text/html; charset=UTF-8"}
PAGES = 9


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site(tmp_path_factory.mktemp("site"), len(PAGINATION_FORMS), PAGES)


def body(site, path: str) -> bytes:
    return (site.root / path.strip("/") / "index.html").read_bytes()


def test_every_article_is_distinct_and_complete(site):
    digests, titles, urls, ids = Counter(), Counter(), Counter(), Counter()
    for path in site.paths:
        page = extract_page(ORIGIN + path, HEADERS, body(site, path))
        assert page.tag is not None and page.tag.slug == path.split("/")[2]
        assert len(page.articles) == PER_PAGE and not page.skipped, path
        for article in page.articles:
            assert article.title and article.published and article.wp_post_id
            assert article.content and article.content.word_count > 300
            assert page.tag.slug in {t.slug for t in article.tags}
            digests[article.content.sha256] += 1
            titles[article.title] += 1
            urls[article.url] += 1
            ids[article.wp_post_id] += 1
    posts = len(site.paths) * PER_PAGE
    for seen in (digests, titles, urls, ids):
        assert len(seen) == posts


def test_pages_are_about_80_kb(site):
    sizes = [len(body(site, path)) for path in site.paths]
    assert min(sizes) > 70_000 and max(sizes) < 95_000
    assert 75_000 < sum(sizes) / len(sizes) < 85_000


def test_half_the_tags_have_numbers_the_others_only_older_posts(site):
    for tag, form in site.forms.items():
        page = extract_page(
            ORIGIN + f"/tag/{tag}/page/5/", HEADERS, body(site, f"/tag/{tag}/page/5/")
        )
        assert page.page_number == 5
        assert page.next_url == f"{ORIGIN}/tag/{tag}/page/6/"
        if form.endswith("numbers"):
            assert page.last_page == PAGES and len(page.page_urls) == PAGES
            assert "…" in body(site, f"/tag/{tag}/page/5/").decode()
        else:
            assert page.last_page is None and page.page_urls == ()
            assert (
                f'<link rel="next" href="/tag/{tag}/page/6/">'
                in body(site, f"/tag/{tag}/page/5/").decode()
            )


def walk(site, tag: str, links) -> set[str]:
    seen, todo = set(), [f"/tag/{tag}/"]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(p.removeprefix(ORIGIN) for p in links(path))
    return seen


def test_the_product_and_the_plain_spider_reach_every_page(site):
    def product(path):
        page = extract_page(ORIGIN + path, HEADERS, body(site, path))
        return [*page.page_urls, *([page.next_url] if page.next_url else [])]

    def plain(path):
        response = HtmlResponse(ORIGIN + path, body=body(site, path), headers=HEADERS)
        return [response.urljoin(href) for href in response.css(PAGINATION).getall()]

    for tag in site.tags:
        expected = {p for p in site.paths if p.startswith(f"/tag/{tag}/")}
        assert len(expected) == PAGES
        assert walk(site, tag, product) == expected
        assert walk(site, tag, plain) == expected


def test_paginate_links_prints_wordpress_gaps():
    assert paginate_links(1, 100, mid_size=2) == [1, 2, 3, None, 100]
    assert paginate_links(50, 100, mid_size=2) == [1, None, 48, 49, 50, 51, 52, None, 100]
    assert paginate_links(2, 4, mid_size=0) == [1, 2, None, 4]
    assert paginate_links(3, 5, mid_size=2) == [1, 2, 3, 4, 5]
