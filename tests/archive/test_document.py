"""parse_html: what is not an HTML page is a typed error, never an empty page."""

from __future__ import annotations

import random
import re

import lxml.html
import pytest
from w3lib.encoding import html_to_unicode

from archive.errors import ExtractionError
from archive.extract import extract_page
from archive.extract.document import parse_html
from archive.records import PageKind

URL = "https://blog.example/tag/news/"
CONTROL = set(range(0, 9)) | set(range(14, 32)) - {27}


def random_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def few_controls(size: int) -> bytes:
    """Uniformly random bytes whose first KiB holds no more than a tenth of control bytes,
    as about half of all random bodies do: the old check (10% of the first KiB) let them by."""
    seed = 0
    while True:
        body = random_bytes(seed, size)
        if sum(b in CONTROL for b in body[:1024]) <= 102:
            return body
        seed += 1


@pytest.mark.parametrize("content_type", ["text/html", "text/html; charset=UTF-8",
                                          "text/html; charset=ISO-8859-1", None])  # fmt: skip
@pytest.mark.parametrize("size", [200, 5000, 100_000])
def test_uniformly_random_bytes_are_binary(content_type, size):
    headers = {"Content-Type": content_type} if content_type else {}
    for seed in range(20):
        with pytest.raises(ExtractionError) as caught:
            parse_html(headers, random_bytes(seed, size))
        assert caught.value.reason == "binary"


def test_random_bytes_on_a_tag_url_are_never_an_empty_tag_archive():
    with pytest.raises(ExtractionError) as caught:
        extract_page(URL, {"Content-Type": "text/html"}, few_controls(20_000))
    assert caught.value.reason == "binary"


def test_text_without_any_markup_is_not_html():
    body = b"Internal Server Error\n\nThe server could not complete your request.\n"
    with pytest.raises(ExtractionError) as caught:
        extract_page(URL, {"Content-Type": "text/html"}, body)
    assert caught.value.reason == "not-html"


def test_a_page_with_stray_invalid_bytes_and_misdeclared_accents_still_parses():
    text = "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, d\u00e9j\u00e0 vu. " * 40
    body = (
        b'<!doctype html><html><head><meta charset="utf-8"></head><body class="archive tag">'
        + b"<p>\xff\xfe</p><p>" + text.encode("cp1252") + b"</p></body></html>"
    )  # fmt: skip
    root = parse_html({"Content-Type": "text/html; charset=UTF-8"}, body)
    assert "vu." in root.text_content()
    assert extract_page(URL, {}, body).kind is PageKind.TAG_ARCHIVE


def test_a_php_warning_before_the_doctype_is_still_html():
    body = (
        b"Warning: Cannot modify header information in /var/www/wp-config.php on line 9\n"
        b'<!doctype html><html><body class="archive tag"><p>x</p></body></html>'
    )
    assert extract_page(URL, {}, body).kind is PageKind.TAG_ARCHIVE


PAGE = (
    '<!doctype html><html lang="fr"><head><meta charset="{charset}"><title>Caf\u00e9</title>'
    '</head><body class="archive tag"><p>D\u00e9j\u00e0 vu \u2019 \U0001f600 &amp; '
    "\x0b\x7f\u2028 <b>cr\u00e8me</b></p><!-- gone --><script>a = '<p>'</script></body></html>"
)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html; charset=UTF-8", PAGE.format(charset="utf-8").encode()),  # from its bytes
        (None, b"\xef\xbb\xbf" + PAGE.format(charset="utf-8").encode()),  # a BOM
        (None, b"<?xml version='1.0' encoding='utf-8'?>\n" + PAGE.format(charset="utf-8").encode()),
        ("text/html; charset=UTF-8", PAGE.format(charset="utf-8").encode() + b"\xff"),  # invalid
        ("text/html; charset=ISO-8859-1", "<p>Caf\u00e9 cr\u00e8me</p>".encode("latin-1")),
    ],
)
def test_a_body_parses_as_its_decoded_text_does(content_type, body):
    """Valid UTF-8 is parsed from the bytes, anything else from the decoded text: one tree."""
    headers = {"Content-Type": content_type} if content_type else {}
    _, text = html_to_unicode(content_type, body)
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True)
    expected = lxml.html.document_fromstring(text, parser=parser)
    assert lxml.html.tostring(parse_html(headers, body)) == lxml.html.tostring(expected)
