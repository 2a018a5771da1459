"""Sections and list items from post content."""

from __future__ import annotations

import lxml.html

from archive.extract.content import extract_content


def content(html: str):
    return extract_content(
        lxml.html.fragment_fromstring(html, create_parent="div"), "http://b.test/p/"
    )


def test_content_before_the_first_heading_is_a_section_without_heading():
    c = content("<p>Intro.</p><h2>TL;DR</h2><p>Short.</p><h3>Detail</h3><p>More.</p>")
    assert [(s.position, s.heading, s.level, s.text) for s in c.sections] == [
        (0, None, None, "Intro."),
        (1, "TL;DR", 2, "Short."),
        (2, "Detail", 3, "More."),
    ]


def test_no_intro_section_when_content_starts_with_a_heading():
    c = content("<h2>Summary</h2><p>Text.</p>")
    assert [s.heading for s in c.sections] == ["Summary"]


def test_a_post_without_headings_is_one_section():
    c = content("<p>One.</p><p>Two.</p>")
    assert [(s.heading, s.text) for s in c.sections] == [(None, "One.\nTwo.")]
    assert c.text == "One.\nTwo." and c.word_count == 2


def test_list_items_keep_order_and_depth():
    c = content(
        "<h2>Q&amp;A</h2><ul><li>Q1?<ul><li><strong>Answer:</strong> A1<ol><li>deep</li></ol></li></ul></li>"
        "<li>Q2?</li></ul>"
    )
    (section,) = c.sections
    assert [(i.position, i.depth, i.text) for i in section.items] == [
        (0, 0, "Q1?"),
        (1, 1, "Answer: A1"),
        (2, 2, "deep"),
        (3, 0, "Q2?"),
    ]
    assert section.text == "Q1?\nAnswer: A1\ndeep\nQ2?"


def test_headings_inside_wrappers_still_split():
    c = content(
        '<div class="wp-block-group"><h2>A</h2><p>a</p></div><div><h2>B</h2><ul><li>b</li></ul></div>'
    )
    assert [(s.heading, [i.text for i in s.items]) for s in c.sections] == [("A", []), ("B", ["b"])]


def test_images_and_links_are_absolute():
    c = content(
        '<p><img src="/i.png" alt=" An  image "><a href="../x">x</a><a href="javascript:alert(1)">j</a></p>'
    )
    assert [(i.src, i.alt) for i in c.images] == [("http://b.test/i.png", "An image")]
    assert [(link.url, link.text) for link in c.links] == [("http://b.test/x", "x")]


def test_hash_follows_words_not_markup():
    assert (
        content("<p>Same <b>words</b></p>").sha256 == content('<p class="x">Same words</p>').sha256
    )
    assert content("<p>Same words</p>").sha256 != content("<p>Other words</p>").sha256
