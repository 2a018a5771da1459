"""What extraction produces: plain dataclasses, no Scrapy, no SQLite.

The crawler yields them as items and the store writes them, so the same records come out of
a live crawl and out of re-extraction from archived pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class PageKind(StrEnum):
    TAG_ARCHIVE = "tag_archive"
    SINGLE = "single"  # one post on its own permalink
    OTHER = "other"


class Source(StrEnum):
    """Where an article record was read: its block on a tag archive, or its own page."""

    ARCHIVE = "archive"
    SINGLE = "single"


class ContentKind(StrEnum):
    """What text a post's block gave: all of it, or an excerpt (the_excerpt(), a post-excerpt
    block, or a teaser cut at <!--more--> with a "Continue reading" link)."""

    FULL = "full"
    EXCERPT = "excerpt"
    NONE = "none"


@dataclass(frozen=True)
class Term:
    """A tag or a category. The slug identifies it; name and url are filled when shown.

    `from_class`: known only from a `tag-…` / `category-…` class, which WordPress prints
    lossily for non-ASCII slugs (archive.extract.urls.html_class_form): the store matches
    it to the term whose slug prints that way."""

    slug: str
    name: str | None = None
    url: str | None = None
    from_class: bool = False


@dataclass(frozen=True)
class SectionItem:
    position: int
    depth: int  # 0 for a top-level bullet, 1 for a bullet nested in it, ...
    text: str


@dataclass(frozen=True)
class Section:
    position: int
    heading: str | None  # None for the content before the first heading
    level: int | None
    text: str
    items: tuple[SectionItem, ...] = ()


@dataclass(frozen=True)
class Image:
    src: str
    alt: str


@dataclass(frozen=True)
class Link:
    url: str
    text: str


@dataclass(frozen=True)
class Content:
    html: str
    text: str
    word_count: int
    sha256: str
    sections: tuple[Section, ...]
    images: tuple[Image, ...]
    links: tuple[Link, ...]


@dataclass(frozen=True)
class Article:
    url: str
    source: Source
    title: str | None
    wp_post_id: int | None
    published: str | None  # ISO 8601, with the offset the site printed
    author: str | None
    tags: tuple[Term, ...]
    categories: tuple[Term, ...]
    content: Content | None
    modified: str | None = None  # the "updated" date, when the page shows one
    published_source: str | None = None  # archive.extract.dates.DateSource
    modified_source: str | None = None
    content_kind: ContentKind = ContentKind.FULL
    # What extraction could not settle and did not guess (a date no parser knows, a
    # `?cat=ID` link it could not tie to a slug): counted and logged by the crawl.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Observed:
    """An article as read from one archived response: what the crawl's items are."""

    article: Article
    capture_id: int | None = None  # captures.id of the response it was extracted from


@dataclass(frozen=True)
class Gone:
    """An archived article whose permalink now answers 404/410."""

    url: str
    status: int


@dataclass(frozen=True)
class Skipped:
    """A post block seen on a page and deliberately not recorded."""

    url: str | None
    wp_post_id: int | None
    reason: str  # "password-protected", "no-permalink", ...


@dataclass(frozen=True)
class Page:
    url: str
    kind: PageKind
    tag: Term | None = None  # the tag whose archive this is
    page_number: int = 1
    last_page: int | None = None
    page_urls: tuple[str, ...] = ()  # every page of this archive, 1..last, when derivable
    next_url: str | None = None
    articles: tuple[Article, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    tag_links: tuple[str, ...] = field(default=())  # tag archive URLs linked from the page
