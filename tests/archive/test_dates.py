"""Published and modified dates by trust, whatever markup the theme prints them in."""

from __future__ import annotations

import pytest

from archive.extract import extract_page
from archive.extract.dates import DateSource

URL = "http://b.test/tag/news/"


def archive_page(post_markup: str, lang: str = "en-US") -> bytes:
    return (
        f'<html lang="{lang}"><body class="archive tag tag-news">'
        '<article class="post-3 post type-post hentry tag-news">'
        '<h2 class="entry-title"><a href="http://b.test/a/">A</a></h2>'
        f'{post_markup}<div class="entry-content"><p>Text.</p></div></article></body></html>'
    ).encode()


def dates_of(markup: str, lang: str = "en-US"):
    (article,) = extract_page(URL, {}, archive_page(markup, lang)).articles
    return article.published, article.published_source, article.modified, article.modified_source


def test_the_updated_time_printed_first_is_the_modified_date_not_the_published_one():
    markup = (
        '<time class="updated" datetime="2025-06-01T10:00:00+00:00">June 1</time>'
        '<time class="entry-date published" datetime="2025-03-27T09:30:00+00:00">March 27</time>'
    )
    assert dates_of(markup) == (
        "2025-03-27T09:30:00+00:00", "time-marked", "2025-06-01T10:00:00+00:00", "time-marked"
    )  # fmt: skip


def test_core_published_updated_time_on_an_unedited_post_is_both_dates():
    markup = (
        '<time class="entry-date published updated" datetime="2025-03-27T09:30:00+00:00">x</time>'
    )
    assert dates_of(markup) == (
        "2025-03-27T09:30:00+00:00", "time-marked", "2025-03-27T09:30:00+00:00", "time-marked"
    )  # fmt: skip


def test_an_unmarked_time_after_a_modified_one_is_taken_not_the_modified():
    markup = (
        '<span class="modified"><time class="modified" datetime="2025-06-01T10:00:00+02:00">'
        '</time></span><time datetime="2025-03-27T09:30:00+02:00">March 27</time>'
    )
    assert dates_of(markup)[:2] == ("2025-03-27T09:30:00+02:00", "time")


def test_microdata_content_attribute():
    markup = '<meta itemprop="datePublished" content="2025-03-27T09:30:00Z">'
    assert dates_of(markup)[:2] == ("2025-03-27T09:30:00+00:00", "microdata")


@pytest.mark.parametrize(
    ("markup", "lang", "expected"),
    [
        (
            '<span class="published" itemprop="datePublished">March 27, 2025</span>',
            "en",
            "2025-03-27T00:00:00",
        ),
        ('<span class="published">March 27, 2025 2:05 pm</span>', "en", "2025-03-27T14:05:00"),
        ('<span class="published">27 mars 2025</span>', "fr-FR", "2025-03-27T00:00:00"),
        ('<span class="published">27. März 2025</span>', "de-DE", "2025-03-27T00:00:00"),
    ],
)
def test_dates_printed_only_as_text_are_parsed_in_the_page_language(markup, lang, expected):
    published, source, _, _ = dates_of(markup, lang)
    assert published == expected
    assert source in (DateSource.MICRODATA, DateSource.MARKED_TEXT)


def test_a_text_date_takes_the_offset_another_date_of_the_page_shows():
    markup = (
        '<time class="updated" datetime="2025-06-01T10:00:00+02:00">June 1</time>'
        '<span class="published">March 27, 2025 2:05 pm</span>'
    )
    assert dates_of(markup)[:2] == ("2025-03-27T14:05:00+02:00", "marked-text")


def test_a_date_no_parser_knows_is_a_note_never_a_guess():
    page = extract_page(
        URL, {}, archive_page('<span class="published">the 5th of Smarch, 20x5</span>')
    )
    (article,) = page.articles
    assert article.published is None
    assert article.notes == ("date-unparsed: the 5th of Smarch, 20x5",)


def test_relative_dates_are_not_read_they_depend_on_the_clock():
    page = extract_page(URL, {}, archive_page('<span class="published">2 days ago</span>'))
    assert page.articles[0].published is None


def test_single_pages_fall_back_on_meta_and_json_ld():
    body = (
        b'<html><head><meta property="article:published_time" content="2025-03-27T09:30:00+00:00">'
        b'<script type="application/ld+json">{"@graph": [{"@type": "Article", '
        b'"datePublished": "2025-03-27T09:30:00+00:00", "dateModified": "2025-04-02T08:00:00+00:00"}]}'
        b"</script></head>"
        b'<body class="single single-post postid-3"><article class="post-3 post hentry">'
        b'<h1 class="entry-title">A</h1><div class="entry-content"><p>Text.</p></div></article>'
        b"</body></html>"
    )
    (article,) = extract_page("http://b.test/a/", {}, body).articles
    assert (article.published, article.published_source) == ("2025-03-27T09:30:00+00:00", "meta")
    assert (article.modified, article.modified_source) == ("2025-04-02T08:00:00+00:00", "json-ld")
