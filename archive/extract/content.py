"""A post's content element -> HTML, plain text, sections with their list items, images, links.

One walk over the content in document order yields blocks of three kinds: headings, list
items (with their nesting depth) and text blocks. Plain text, sections and items all come
from that one stream, so they always agree with each other.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import lxml.html
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


class _Block(NamedTuple):
    kind: str  # "heading" | "item" | "text"
    text: str
    level: int = 0  # heading level, or list depth for items


# The walk appends to one list instead of yielding: generators nested as deep as the HTML
# would pass every block up through each level, costing more than the walk itself.


def _inline_text(element: HtmlElement, exclude: frozenset[str] = frozenset()) -> str:
    """The text a reader sees in `element`, skipping scripts, forms and `exclude` tags."""
    parts: list[str] = []
    _visit_inline(element, exclude, parts)
    return squash("".join(parts))


def _visit_inline(node: HtmlElement, exclude: frozenset[str], parts: list[str]) -> None:
    parts.append(node.text or "")
    for child in node:
        tag = child.tag
        if isinstance(tag, str) and tag not in SKIPPED and tag not in exclude:
            spaced = tag in BLOCKS or tag == "br"
            parts.append(" " if spaced else "")
            _visit_inline(child, exclude, parts)
            parts.append(" " if spaced else "")
        parts.append(child.tail or "")


def _has_block_child(element: HtmlElement) -> bool:
    return any(isinstance(child.tag, str) and child.tag in BLOCKS for child in element)


def _walk(element: HtmlElement, list_depth: int, out: list[_Block]) -> None:
    """Append the blocks of `element`'s children (its own text included), in order."""
    if element.text and element.text.strip():
        out.append(_Block("text", squash(element.text)))
    for child in element:
        if isinstance(child.tag, str) and child.tag not in SKIPPED:
            _block(child, list_depth, out)
        if child.tail and child.tail.strip():
            out.append(_Block("text", squash(child.tail)))


def _block(element: HtmlElement, list_depth: int, out: list[_Block]) -> None:
    tag = element.tag
    if tag in HEADINGS:
        text = _inline_text(element)
        if text:
            out.append(_Block("heading", text, HEADINGS[tag]))
    elif tag in LISTS:
        for child in element:
            if isinstance(child.tag, str) and child.tag == "li":
                _list_item(child, list_depth, out)
            elif isinstance(child.tag, str) and child.tag not in SKIPPED:
                _block(child, list_depth, out)
    elif tag == "li":  # a stray <li> outside a list
        _list_item(element, list_depth, out)
    elif _has_block_child(element):
        _walk(element, list_depth, out)
    else:
        text = _inline_text(element)
        if text:
            out.append(_Block("text", text))


def _list_item(li: HtmlElement, depth: int, out: list[_Block]) -> None:
    """An item's own text (nested lists excluded), then the items nested in it."""
    text = _inline_text(li, exclude=LISTS)
    if text:
        out.append(_Block("item", text, depth))
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

    for block in blocks:
        if block.kind == "heading":
            close()
            heading, level, texts, items, started = block.text, block.level, [], [], True
        else:
            texts.append(block.text)
            if block.kind == "item":
                items.append(SectionItem(len(items), block.level, block.text))
    close()
    return tuple(sections)


def inner_html(element: HtmlElement) -> str:
    parts = [element.text or ""]
    parts.extend(lxml.html.tostring(child, encoding="unicode") for child in element)
    return "".join(parts).strip()


def extract_content(element: HtmlElement, base_url: str) -> Content:
    blocks: list[_Block] = []
    _walk(element, 0, blocks)
    text = "\n".join(block.text for block in blocks)
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
        word_count=len(text.split()),
        # Hash of the words, not the markup: a theme re-rendering the same post (lazy-load
        # attributes, ids) must not look like an edit.
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        sections=_sections(blocks),
        images=tuple(images),
        links=tuple(links),
    )
