"""One URL, one term: however WordPress spelled them (archive.extract.urls)."""

from __future__ import annotations

import pytest

from archive.extract.urls import canonical_url, html_class_form, term_id, term_slug


@pytest.mark.parametrize(
    "url",
    [
        "http://b.test/café-日本/",
        "http://b.test/caf%C3%A9-%E6%97%A5%E6%9C%AC/",
        "http://b.test/caf%c3%a9-%e6%97%a5%e6%9c%ac/#comments",
    ],
)
def test_every_spelling_of_a_permalink_has_one_canonical_form(url):
    assert canonical_url(url) == "http://b.test/caf%C3%A9-%E6%97%A5%E6%9C%AC/"


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("http://b.test/tag/scaling-laws/", "scaling-laws"),
        ("http://b.test/tag/scaling-laws/page/3/", "scaling-laws"),
        ("http://b.test/etiqueta/caf%C3%A9-soci%C3%A9t%C3%A9/", "café-société"),
        ("http://b.test/etiqueta/café-société/", "café-société"),
        ("http://b.test/?tag=scaling-laws&paged=2", "scaling-laws"),
        ("http://b.test/category/news/world/", "world"),
        ("http://b.test/?category_name=news/world", "world"),
        ("http://b.test/?cat=7", None),
    ],
)
def test_term_slugs_from_pretty_custom_and_plain_permalinks(url, slug):
    assert term_slug(url) == slug


def test_plain_category_links_carry_an_id():
    assert term_id("http://b.test/?cat=7") == 7
    assert term_id("http://b.test/?tag=x") is None


def test_class_form_is_what_post_class_prints():
    assert html_class_form("café-société") == "caf-socit"
    assert html_class_form("scaling-laws") == "scaling-laws"
