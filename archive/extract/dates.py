"""A post's published and modified dates, by how much each kind of markup can be trusted.

Themes print dates in many ways: WordPress core's `time.entry-date.published` and
`time.updated` pair (in either order: several themes print the updated date first once a
post is edited), microdata (`itemprop=datePublished`, as an attribute or as text), a
`<span class="published">` with only text, and on single pages the SEO plugins'
`meta[property=article:published_time]` and JSON-LD. A date marked as the modified one is
never taken as the published one.

Text dates ("March 27, 2025", "27 mars 2025") are parsed with dateparser in the page's
language, absolute forms only (a relative "2 days ago" would make extraction depend on the
clock), and only when day, month and year are all there. Their time zone is the page's own
(an offset printed in another of its dates) when it shows one; otherwise the value is the
site's local time, written without an offset, as the page showed it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from lxml.html import HtmlElement

from archive.extract.elements import Elements
from archive.extract.text import classes, squash


class DateSource(StrEnum):
    """Where a date was read, most trusted first."""

    TIME_MARKED = "time-marked"  # <time class="published"> / <time class="updated">
    MICRODATA = "microdata"  # itemprop=datePublished / dateModified, attribute or text
    MARKED_TEXT = "marked-text"  # <span class="published">March 27, 2025</span>
    META = "meta"  # <meta property="article:published_time">, single pages
    JSON_LD = "json-ld"  # datePublished in the page's JSON-LD, single pages
    TIME = "time"  # any other <time datetime> not marked as the modified date


@dataclass(frozen=True)
class Dated:
    value: str  # ISO 8601; with an offset when the page gave one
    source: DateSource


@dataclass(frozen=True)
class PostDates:
    published: Dated | None = None
    modified: Dated | None = None
    unparsed: tuple[str, ...] = ()  # date texts no parser understood: reported, not guessed


_TIME_SOURCES = (DateSource.TIME_MARKED, DateSource.TIME)
_TEXT_SOURCES = (DateSource.MARKED_TEXT, DateSource.MARKED_TEXT)
_PUBLISHED_MARKS = frozenset({"published", "entry-date-published"})
_MODIFIED_MARKS = frozenset({"updated", "modified", "entry-date-modified"})


def _marks(element: HtmlElement) -> set[str]:
    names = set(classes(element))
    # The block theme's post-date block marks its wrapper, not the <time>.
    parent = element.getparent()
    if parent is not None:
        names.update(
            "modified" for c in classes(parent) if c.startswith("wp-block-post-date__modified")
        )
    return names


def _iso(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
    except ValueError:
        return None


class _Reader:
    """Parses text dates for one page: its language, and its offset once seen."""

    def __init__(self, language: str | None) -> None:
        self.language = language
        self.offset: str | None = None
        self.unparsed: list[str] = []

    def iso(self, value: str | None) -> str | None:
        found = _iso(value)
        if found and self.offset is None and len(found) > 19:
            self.offset = found[19:]  # "+00:00"
        return found

    def text(self, text: str) -> str | None:
        text = squash(text)
        if not text or not any(c.isdigit() for c in text):
            return None
        import dateparser  # loaded only for the themes that print dates as text

        parsed = dateparser.parse(
            text,
            languages=[self.language] if self.language else None,
            settings={
                "PARSERS": ["custom-formats", "absolute-time"],
                "REQUIRE_PARTS": ["day", "month", "year"],
                "RETURN_AS_TIMEZONE_AWARE": False,
            },
        )
        if parsed is None:
            self.unparsed.append(text)
            return None
        return parsed.isoformat() + (self.offset or "")


def _content_or_text(element: HtmlElement, reader: _Reader) -> str | None:
    """The ISO date of a microdata element: its content or datetime attribute, else its text."""
    for attribute in ("content", "datetime"):
        found = reader.iso(element.get(attribute))
        if found:
            return found
    return reader.text(element.text_content())


def _json_ld_dates(root: HtmlElement) -> tuple[str | None, str | None]:
    """datePublished and dateModified of the first JSON-LD object that has them."""
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        stack = [data]
        while stack:
            node = stack.pop(0)
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                if "datePublished" in node:
                    return _iso(str(node["datePublished"])), _iso(str(node.get("dateModified")))
                stack.extend(node.get("@graph", []) if isinstance(node.get("@graph"), list) else [])
    return None, None


def _meta(root: HtmlElement, prop: str) -> str | None:
    for meta in root.iter("meta"):
        if meta.get("property") == prop or meta.get("name") == prop:
            return _iso(meta.get("content"))
    return None


_LANGUAGE = re.compile(r"^([a-z]{2,3})\b", re.IGNORECASE)


def page_language(root: HtmlElement) -> str | None:
    match = _LANGUAGE.match(root.get("lang") or "")
    return match.group(1).lower() if match else None


def post_dates(
    elements: Elements, *, page: HtmlElement | None = None, language: str | None = None
) -> PostDates:
    """The dates of the post whose elements these are. `page`: the whole document, given
    for a single-post page, whose head (meta, JSON-LD) speaks for that one post."""
    reader = _Reader(language)
    published: list[tuple[DateSource, str]] = []
    modified: list[tuple[DateSource, str]] = []
    if page is not None:  # first: text dates below take the offset these print
        head = (
            (
                DateSource.META,
                _meta(page, "article:published_time"),
                _meta(page, "article:modified_time"),
            ),
            (DateSource.JSON_LD, *_json_ld_dates(page)),
        )
        for source, in_published, in_modified in head:
            for value, target in ((in_published, published), (in_modified, modified)):
                found = reader.iso(value)
                if found:
                    target.append((source, found))
    for time in elements.tagged("time"):
        # <time>March 27, 2025</time>: a time element with only text
        value = reader.iso(time.get("datetime")) or reader.text(time.text_content())
        if value is not None:
            _by_marks(_marks(time), value, _TIME_SOURCES, published, modified)
    for prop, target in (("datePublished", published), ("dateModified", modified)):
        for element in elements.with_itemprop(prop):
            if element.tag == "time" and element.get("datetime"):
                continue  # read above
            value = _content_or_text(element, reader)
            if value:
                target.append((DateSource.MICRODATA, value))
    for element in elements.with_class("published", "updated", "entry-date"):
        if element.tag in ("time", "meta") or element.get("itemprop"):
            continue
        if any(child.tag == "time" for child in element.iter()):
            continue  # a wrapper around a <time>: read above
        value = reader.text(element.text_content())
        if value:
            _by_marks(_marks(element), value, _TEXT_SOURCES, published, modified)
    return PostDates(
        published=_best(published),
        modified=_best(modified),
        unparsed=tuple(dict.fromkeys(reader.unparsed)),
    )


def _by_marks(
    names: set[str],
    value: str,
    sources: tuple[DateSource, DateSource],
    published: list,
    modified: list,
) -> None:
    """File a date by its element's classes: marked published, or updated, or both (core's
    "entry-date published updated" on a post never edited), under sources[0]; unmarked, a
    published date under sources[1]."""
    marked, unmarked = sources
    if names & _MODIFIED_MARKS:
        modified.append((marked, value))
    if names & _PUBLISHED_MARKS:
        published.append((marked, value))
    elif not names & _MODIFIED_MARKS:
        published.append((unmarked, value))


_TRUST = {source: rank for rank, source in enumerate(DateSource)}


def _best(found: list[tuple[DateSource, str]]) -> Dated | None:
    """The most trusted source's first date (document order within a source)."""
    if not found:
        return None
    source, value = min(found, key=lambda pair: _TRUST[pair[0]])
    return Dated(value, source)
