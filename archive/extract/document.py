"""Turn (headers, body) into an lxml HTML tree, or say plainly why not."""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

import lxml.html
from lxml import etree
from w3lib.encoding import html_to_unicode

from archive.errors import ExtractionError

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# C0 control bytes, which text never holds (tab, newlines, form feed and ESC aside). Uniformly
# random bytes are about 10% of them, HTML none: more than 3% of the first 4 KiB is binary.
_BINARY_MARKERS = bytes(sorted(frozenset(range(0, 9)) | frozenset(range(14, 32)) - {27}))
_BINARY_HEAD = 4096
_BINARY_SHARE = 0.03
# Bytes invalid in the page's encoding become U+FFFD. A stray byte or a mis-declared accent
# is a few percent at most; random bytes read as UTF-8 are over 40%. Above a quarter of the
# first 8,000 characters the body is not text.
_DECODED_HEAD = 8000
_REPLACED_SHARE = 0.25
# Any HTML page, however broken, has a tag, a comment or a doctype somewhere.
_MARKUP = re.compile(r"<[A-Za-z!/?]")


def _parser(encoding: str | None) -> etree.HTMLParser:
    """A parser of decoded text (`encoding` None) or of bytes in `encoding`."""
    # huge_tree stays off: lxml then refuses absurdly deep trees instead of recursing into
    # them; a 300-deep page still parses, its deepest nodes dropped. No id table: nothing
    # looks elements up by id.
    parser = etree.HTMLParser(
        encoding=encoding, remove_comments=True, remove_pis=True, collect_ids=False
    )
    # Every element is an HtmlElement, looked up in C. lxml.html's own parser asks a Python
    # callback for each element touched (to make <form> and <input> FormElement...), which
    # cost more than the walks over the tree themselves; extraction uses none of those.
    parser.set_element_class_lookup(
        etree.ElementDefaultClassLookup(
            element=lxml.html.HtmlElement,
            comment=lxml.html.HtmlComment,
            pi=lxml.html.HtmlProcessingInstruction,
            entity=lxml.html.HtmlEntity,
        )
    )
    return parser


_TEXT_PARSER = _parser(None)
_UTF8_PARSER = _parser("utf-8")


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Case-insensitive header lookup over a plain mapping."""
    if not headers:
        return None
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def parse_html(headers: Mapping[str, str] | None, body: bytes) -> lxml.html.HtmlElement:
    """Decode by BOM, Content-Type charset, <meta charset>, then UTF-8 with replacement.

    Raises ExtractionError: "empty" (nothing but whitespace), "binary" (control bytes, or
    mostly bytes invalid in its encoding: uniformly random bytes are), "not-html" (text
    without a single tag), "unparseable" (lxml gives up)."""
    if not body or body.isspace():  # as `not body.strip()`, without copying the body
        raise ExtractionError("empty", "the response body is empty")
    head = body[:_BINARY_HEAD]
    markers = len(head) - len(head.translate(None, _BINARY_MARKERS))  # counted in C
    if markers > len(head) * _BINARY_SHARE:
        raise ExtractionError("binary", "the response body is binary, not HTML")
    encoding, text = html_to_unicode(header(headers, "content-type"), body)
    decoded_head = text[:_DECODED_HEAD]
    if decoded_head.count("\ufffd") > len(decoded_head) * _REPLACED_SHARE:
        raise ExtractionError(
            "binary", f"the response body is binary: most of it is not valid {encoding}"
        )
    if not _MARKUP.search(text):
        raise ExtractionError("not-html", "the response body has no HTML markup at all")
    try:
        root = _document(body, encoding, text)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError("unparseable", f"the body cannot be parsed as HTML: {exc}") from exc
    return root


def _document(body: bytes, encoding: str, text: str) -> lxml.html.HtmlElement:
    """The tree of `text`, the body as decoded. A body that is UTF-8 as it is (decoded
    without a single replacement, no BOM, no XML declaration) is parsed from its bytes,
    which gives the same tree without lxml encoding the text again."""
    if (
        codecs.lookup(encoding).name == "utf-8"
        and "\ufffd" not in text
        and not body.startswith(codecs.BOM_UTF8)
        and not _XML_DECLARATION.match(text)
    ):
        return lxml.html.document_fromstring(body, parser=_UTF8_PARSER)
    # XHTML themes open with <?xml ... encoding="..."?>, which lxml refuses in decoded text.
    text = _XML_DECLARATION.sub("", text, count=1)
    return lxml.html.document_fromstring(text, parser=_TEXT_PARSER)
