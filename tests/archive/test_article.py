"""One post's block: its terms in any permalink form, its content and what kind of text it is."""

from __future__ import annotations

import pytest

from archive.extract import extract_page
from archive.records import ContentKind


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


def test_on_an_excerpt_archive_a_short_post_shown_whole_is_still_an_excerpt():
    # the_excerpt() of a short post has every word but no "Continue reading" link
    short = post(
        "tag-news post-6", TITLE + '<div class="entry-content"><p>Short, flattened.</p></div>'
    )
    cut = post("tag-news", TITLE + '<div class="entry-content"><p>Teaser… <a class="more-link" '
               'href="http://b.test/café/">Continue reading</a></p></div>')  # fmt: skip
    result = page("http://b.test/tag/news/", "archive tag", short + cut)
    assert [a.content_kind for a in result.articles] == [ContentKind.EXCERPT] * 2


def test_a_more_teaser_on_a_full_content_archive_is_that_posts_alone():
    full = post("tag-news post-6", TITLE + '<div class="entry-content"><p>All of it.</p></div>')
    teaser = post("tag-news", TITLE + '<div class="entry-content"><p>Teaser… <a class="more-link" '
                  'href="http://b.test/café/#more-5">Continue reading</a></p></div>')  # fmt: skip
    result = page("http://b.test/tag/news/", "archive tag", full + teaser)
    assert [a.content_kind for a in result.articles] == [ContentKind.FULL, ContentKind.EXCERPT]


def test_full_content_is_full():
    html = post("tag-news", TITLE + '<div class="entry-content"><p>All of it.</p></div>')
    (article,) = page("http://b.test/tag/news/", "archive tag", html).articles
    assert article.content_kind is ContentKind.FULL
