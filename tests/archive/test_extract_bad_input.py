"""Malformed, truncated, deep, empty, binary and mis-encoded pages: records or a typed error."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.errors import ExtractionError
from archive.extract import extract_page
from archive.records import PageKind

URL = "http://blog.test/tag/news/"
TAG_PAGE = """<html><head><meta charset="utf-8"></head>
<body class="archive tag tag-news tag-3">
<h1 class="page-title">Tag: <span>News</span></h1>
<article class="post-7 post type-post hentry tag-news category-misc">
 <h2 class="entry-title">
  <a href="http://blog.test/2024/01/02/hello/" rel="bookmark">{title}</a></h2>
 <time class="entry-date published" datetime="2024-01-02T10:00:00+01:00">Jan 2</time>
 <div class="entry-content"><h2>TL;DR</h2><p>{body}</p></div>
</article>
</body></html>"""


def page(title: str = "Hello", body: str = "Words here.") -> bytes:
    return TAG_PAGE.format(title=title, body=body).encode()


def test_a_plain_classic_block():
    result = extract_page(URL, {}, page())
    (article,) = result.articles
    assert (article.title, article.wp_post_id, article.published) == (
        "Hello",
        7,
        "2024-01-02T10:00:00+01:00",
    )
    assert [t.slug for t in article.tags] == ["news"]
    assert [(c.slug, c.name) for c in article.categories] == [("misc", None)]
    assert result.tag.name == "News"


@pytest.mark.parametrize(
    ("body", "reason"), [(b"", "empty"), (b"  \n\t ", "empty"), (bytes(range(256)) * 8, "binary")]
)
def test_unreadable_bodies_raise_a_typed_error(body, reason):
    with pytest.raises(ExtractionError) as caught:
        extract_page(URL, {}, body)
    assert caught.value.reason == reason


def test_truncated_page_gives_what_it_can():
    body = page(body="A paragraph that is cut")
    truncated = body[: body.index(b"cut") + 3]
    (article,) = extract_page(URL, {}, truncated).articles
    assert article.content.text.endswith("A paragraph that is cut")


def test_malformed_markup_is_repaired_not_fatal():
    body = page(title="<b>Bold <i>title</b>", body="<div><p>unclosed <span>tags</p></td></tr>")
    (article,) = extract_page(URL, {}, body).articles
    assert article.title == "Bold title"
    assert "unclosed tags" in article.content.text


def test_a_link_that_is_no_url_is_left_out_not_fatal():
    # urljoin() raises ValueError on an unclosed IPv6 bracket; the page's articles still count.
    body = page(body='See <a href="http://[oops/x">this</a> and <a href="/ok/">that</a>.')
    (article,) = extract_page(URL, {}, body).articles
    assert [link.url for link in article.content.links] == ["http://blog.test/ok/"]


def test_300_deep_nesting_does_not_crash():
    deep = "<div>" * 300 + "deep text" + "</div>" * 300
    result = extract_page(URL, {}, page(body=deep))
    assert result.kind is PageKind.TAG_ARCHIVE  # lxml drops what is past its depth limit


def test_charset_from_the_content_type_header():
    body = (
        page(title="Caf\u00e9").replace(b'<meta charset="utf-8">', b"").decode().encode("latin-1")
    )
    (article,) = extract_page(URL, {"Content-Type": "text/html; charset=ISO-8859-1"}, body).articles
    assert article.title == "Café"


def test_windows_1252_page_declared_in_meta():
    body = (
        page(title="\u201cQuoted\u201d").decode().replace("utf-8", "windows-1252").encode("cp1252")
    )
    (article,) = extract_page(URL, {"Content-Type": "text/html"}, body).articles
    assert article.title == "“Quoted”"


def test_invalid_utf8_is_replaced_not_fatal():
    body = page(title="ok").replace(b"ok", b"ok \xff\xfe")
    (article,) = extract_page(URL, {}, body).articles
    assert article.title.startswith("ok")


def test_script_and_style_are_not_text():
    body = page(body="visible<script>alert('x')</script><style>p{}</style>")
    (article,) = extract_page(URL, {}, body).articles
    assert "alert" not in article.content.text and "visible" in article.content.text


def test_a_page_that_is_not_a_tag_archive():
    result = extract_page(
        "http://blog.test/about/", {}, b"<html><body class='page'><p>About</p></body></html>"
    )
    assert result.kind is PageKind.OTHER and result.articles == ()


def test_password_protected_posts_are_skipped():
    body = page().replace(b"hentry", b"post-password-required hentry")
    result = extract_page(URL, {}, body)
    assert result.articles == ()
    assert [s.reason for s in result.skipped] == ["password-protected"]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000) | st.text(max_size=2000).map(str.encode))
def test_any_bytes_give_a_page_or_a_typed_error(body):
    with contextlib.suppress(ExtractionError):
        extract_page(URL, {"Content-Type": "text/html"}, body)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=80))
def test_any_title_text_survives(title):
    from html import escape

    result = extract_page(URL, {}, page(title=escape(title)))
    expected = " ".join(title.split())
    if expected and "\x00" not in title:
        assert result.articles[0].title == expected


def test_xhtml_with_an_xml_declaration():
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + page(title="Xé")
    (article,) = extract_page(URL, {"Content-Type": "application/xhtml+xml"}, body).articles
    assert article.title == "Xé"
