"""Turn (headers, body) into an lxml HTML tree, or say plainly why not."""

from __future__ import annotations

import re
from collections.abc import Mapping

import lxml.html
from lxml import etree
from w3lib.encoding import html_to_unicode

from archive.errors import ExtractionError

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# Bytes that never occur in text: a body with them in its first KiB is not HTML.
_BINARY_MARKERS = bytes(sorted(frozenset(range(0, 9)) | frozenset(range(14, 32)) - {27}))


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
    """Decode by BOM, Content-Type charset, <meta charset>, then UTF-8 with replacement."""
    if not body or not body.strip():
        raise ExtractionError("empty", "the response body is empty")
    head = body[:1024]
    markers = len(head) - len(head.translate(None, _BINARY_MARKERS))  # counted in C
    if markers > len(head) // 10:
        raise ExtractionError("binary", "the response body is binary, not HTML")
    _encoding, text = html_to_unicode(header(headers, "content-type"), body)
    # XHTML themes open with <?xml ... encoding="..."?>, which lxml refuses in decoded text.
    text = _XML_DECLARATION.sub("", text, count=1)
    # huge_tree stays off: lxml then refuses absurdly deep trees instead of recursing into
    # them; a 300-deep page still parses, its deepest nodes dropped.
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True)
    try:
        root = lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError("unparseable", f"the body cannot be parsed as HTML: {exc}") from exc
    return root
