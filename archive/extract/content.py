"""A post's content element -> HTML, plain text, sections with their list items, images, links.

One walk over the content in document order yields blocks of three kinds: headings, list
items (with their nesting depth) and text blocks. Plain text, sections and items all come
from that one stream, so they always agree with each other.
"""

from __future__ import annotations

import hashlib
import re

from lxml import etree
from lxml.html import HtmlElement

from archive.extract.text import absolute, squash
from archive.records import Content, Image, Link, Section, SectionItem

HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
LISTS = frozenset({"ul", "ol"})
# Elements that start a new line of text; anything else is inline.
BLOCKS = {
    "address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "header", "hr", "li", "main",
    "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "ul", *HEADINGS,
}  # fmt: skip
SKIPPED = {"script", "style", "noscript", "template", "button", "input", "select", "textarea"}


# A block is a (kind, text, level) tuple: kind "heading", "item" or "text"; level the
# heading's level, or the list depth of an item. Its text is squashed and never empty.
_Block = tuple[str, str, int]

# The walk appends to one list instead of yielding: generators nested as deep as the HTML
# would pass every block up through each level, costing more than the walk itself.


def _inline_text(element: HtmlElement, exclude: frozenset[str] = frozenset()) -> str:
    """The text a reader sees in `element`, skipping scripts, forms and `exclude` tags."""
    if not len(element):  # no children (most links, many paragraphs): its own text
        text = element.text
        return " ".join(text.split()) if text else ""
    parts: list[str] = []
    _visit_inline(element, exclude, parts)
    return " ".join("".join(parts).split())


def _visit_inline(node: HtmlElement, exclude: frozenset[str], parts: list[str]) -> None:
    text = node.text  # lxml makes a new str on every read: each is read once
    if text:
        parts.append(text)
    for child in node:
        tag = child.tag
        if isinstance(tag, str) and tag not in SKIPPED and tag not in exclude:
            if tag in BLOCKS or tag == "br":
                parts.append(" ")
                _visit_inline(child, exclude, parts)
                parts.append(" ")
            else:
                _visit_inline(child, exclude, parts)
        tail = child.tail
        if tail:
            parts.append(tail)


def _has_block_child(element: HtmlElement) -> bool:
    # a comment's tag is a function, in no set of names
    return any(child.tag in BLOCKS for child in element)


def _walk(element: HtmlElement, list_depth: int, out: list[_Block]) -> None:
    """Append the blocks of `element`'s children (its own text included), in order."""
    text = element.text
    if text:
        words = text.split()
        if words:
            out.append(("text", " ".join(words), 0))
    for child in element:
        tag = child.tag
        if isinstance(tag, str) and tag not in SKIPPED:
            _block(child, list_depth, out)
        tail = child.tail
        if tail:
            words = tail.split()
            if words:
                out.append(("text", " ".join(words), 0))


def _block(element: HtmlElement, list_depth: int, out: list[_Block]) -> None:
    tag = element.tag
    if tag in HEADINGS:
        text = _inline_text(element)
        if text:
            out.append(("heading", text, HEADINGS[tag]))
    elif tag in LISTS:
        for child in element:
            child_tag = child.tag
            if child_tag == "li":
                _list_item(child, list_depth, out)
            elif isinstance(child_tag, str) and child_tag not in SKIPPED:
                _block(child, list_depth, out)
    elif tag == "li":  # a stray <li> outside a list
        _list_item(element, list_depth, out)
    elif _has_block_child(element):
        _walk(element, list_depth, out)
    else:
        text = _inline_text(element)
        if text:
            out.append(("text", text, 0))


def _list_item(li: HtmlElement, depth: int, out: list[_Block]) -> None:
    """An item's own text (nested lists excluded), then the items nested in it."""
    text = _inline_text(li, exclude=LISTS)
    if text:
        out.append(("item", text, depth))
    for child in li.iterdescendants("ul", "ol"):
        # only the lists directly nested in this item; deeper ones come through them
        if next(child.iterancestors("li", "ul", "ol")) is li:
            _block(child, depth + 1, out)


def _sections(blocks: list[_Block]) -> tuple[Section, ...]:
    sections: list[Section] = []
    heading: str | None = None
    level: int | None = None
    texts: list[str] = []
    items: list[SectionItem] = []
    started = False  # content before the first heading only makes a section if non-empty

    def close() -> None:
        if started or texts or items:
            sections.append(Section(len(sections), heading, level, "\n".join(texts), tuple(items)))

    for kind, text, block_level in blocks:
        if kind == "heading":
            close()
            heading, level, texts, items, started = text, block_level, [], [], True
        else:
            texts.append(text)
            if kind == "item":
                items.append(SectionItem(len(items), block_level, text))
    close()
    return tuple(sections)


# What lxml.html.tostring() takes out of what it serializes (its default); etree.tostring()
# is called directly, without that wrapper's argument handling on every child.
_META_CONTENT_TYPE = re.compile(r'<meta http-equiv="Content-Type"[^>]*>')


def inner_html(element: HtmlElement) -> str:
    """The element's text as it is, then its children (and their tails) serialized as
    lxml.html.tostring() serializes them."""
    parts = [element.text or ""]
    for child in element:
        html = etree.tostring(child, method="html", encoding="unicode")
        parts.append(_META_CONTENT_TYPE.sub("", html))
    return "".join(parts).strip()


def extract_content(element: HtmlElement, base_url: str) -> Content:
    blocks: list[_Block] = []
    _walk(element, 0, blocks)
    text = "\n".join([block[1] for block in blocks])
    images = []
    for img in element.iter("img"):
        src = absolute(base_url, img.get("src")) or absolute(base_url, img.get("data-src"))
        if src:
            images.append(Image(src, squash(img.get("alt"))))
    links = []
    for anchor in element.iter("a"):
        url = absolute(base_url, anchor.get("href"))
        if url:
            links.append(Link(url, _inline_text(anchor)))
    return Content(
        html=inner_html(element),
        text=text,
        # Words are what split() finds; in `text` they are parted by one space, or by the
        # newline between two blocks (no block is empty): counted without splitting.
        word_count=text.count(" ") + text.count("\n") + 1 if text else 0,
        # Hash of the words, not the markup: a theme re-rendering the same post (lazy-load
        # attributes, ids) must not look like an edit.
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        sections=_sections(blocks),
        images=tuple(images),
        links=tuple(links),
    )
