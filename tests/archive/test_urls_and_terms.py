"""One URL, one term, one post: however WordPress spelled them."""

from __future__ import annotations

import pytest

from archive.extract import extract_page
from archive.extract.urls import canonical_url, html_class_form, term_id, term_slug
from archive.records import ContentKind


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


def post(classes: str, inner: str) -> str:
    return f'<article class="post-5 post type-post hentry {classes}">{inner}</article>'


def page(url: str, body_classes: str, posts: str, heading: str = "") -> list:
    html = f'<html><body class="{body_classes}">{heading}{posts}</body></html>'
    return extract_page(url, {}, html.encode())


TITLE = '<h2 class="entry-title"><a href="http://b.test/café/">Café</a></h2>'


def test_a_non_ascii_tag_is_one_term_from_link_and_class():
    html = post(
        "tag-caf-socit category-news",
        TITLE + '<div class="entry-content"><p>x</p></div><footer><span class="tags-links">'
        '<a href="http://b.test/tag/caf%C3%A9-soci%C3%A9t%C3%A9/" rel="tag">Café Société</a>'
        "</span></footer>",
    )
    (article,) = page(
        "http://b.test/tag/caf%C3%A9-soci%C3%A9t%C3%A9/", "archive tag", html
    ).articles
    assert [(t.slug, t.name) for t in article.tags] == [("café-société", "Café Société")]
    assert article.url == "http://b.test/caf%C3%A9/"


def test_a_theme_without_term_links_gets_the_tag_name_from_the_archive_heading():
    html = post("tag-caf-socit tag-plain", TITLE + '<div class="entry-content"><p>x</p></div>')
    heading = '<h1 class="page-title">Tag: <span>Café Société</span></h1>'
    result = page(
        "http://b.test/etiqueta/café-société/", "archive tag tag-caf-socit", html, heading
    )
    assert result.tag.slug == "café-société"
    (article,) = result.articles
    assert {(t.slug, t.name, t.from_class) for t in article.tags} == {
        ("café-société", "Café Société", False), ("plain", None, True)
    }  # fmt: skip


def test_plain_permalink_category_ids_are_tied_to_the_one_class_left():
    html = post(
        "tag-news category-world",
        TITLE + '<div class="entry-content"><p>x</p></div>'
        '<span class="cat-links"><a href="http://b.test/?cat=7" rel="category">World</a></span>'
        '<span class="tags-links"><a href="http://b.test/?tag=news" rel="tag">News</a></span>',
    )
    (article,) = page("http://b.test/?tag=news", "archive tag tag-news", html).articles
    assert [(c.slug, c.name) for c in article.categories] == [("world", "World")]
    assert [(t.slug, t.name) for t in article.tags] == [("news", "News")]


def test_a_category_id_that_cannot_be_tied_is_a_note_not_a_guess():
    html = post(
        "tag-news category-world category-asia",
        TITLE + '<div class="entry-content"><p>x</p></div>'
        '<span class="cat-links"><a href="http://b.test/?cat=7" rel="category">World</a>'
        '<a href="http://b.test/?cat=9" rel="category">Asia</a></span>',
    )
    (article,) = page("http://b.test/?tag=news", "archive tag tag-news", html).articles
    assert article.notes == ("category-id-unresolved", "category-id-unresolved")
    assert {c.slug for c in article.categories} == {"world", "asia"}  # from the classes


def test_content_is_the_innermost_container_never_the_title_or_meta():
    html = post(
        "tag-news",
        '<div class="post-content">' + TITLE + '<div class="entry-meta">By Ann</div>'
        '<div class="entry-content"><h2>Summary</h2><p>Body.</p></div></div>',
    )
    (article,) = page("http://b.test/tag/news/", "archive tag", html).articles
    assert article.content.text == "Summary\nBody."


def test_title_and_meta_inside_the_only_content_container_are_left_out():
    html = post(
        "tag-news",
        '<div class="entry-content">' + TITLE + '<div class="entry-meta">By Ann</div>'
        "<h2>Summary</h2><p>Body.</p></div>",
    )
    (article,) = page("http://b.test/tag/news/", "archive tag", html).articles
    assert [s.heading for s in article.content.sections] == ["Summary"]
    assert article.content.text == "Summary\nBody."


@pytest.mark.parametrize(
    "inner",
    [
        '<div class="entry-summary"><p>Teaser…</p></div>',
        '<div class="wp-block-post-excerpt"><p class="wp-block-post-excerpt__excerpt">Teaser…</p>'
        '<p class="wp-block-post-excerpt__more-text"><a class="wp-block-post-excerpt__more-link" '
        'href="http://b.test/café/">Read more</a></p></div>',
        '<div class="entry-content"><p>Teaser…</p><div class="more-link-container">'
        '<a class="more-link" href="http://b.test/café/">Continue reading</a></div></div>',
    ],
)
def test_excerpts_are_known_as_excerpts(inner):
    (article,) = page(
        "http://b.test/tag/news/", "archive tag", post("tag-news", TITLE + inner)
    ).articles
    assert article.content_kind is ContentKind.EXCERPT
    assert article.content.text == "Teaser…"


def test_full_content_is_full():
    html = post("tag-news", TITLE + '<div class="entry-content"><p>All of it.</p></div>')
    (article,) = page("http://b.test/tag/news/", "archive tag", html).articles
    assert article.content_kind is ContentKind.FULL
