"""extract_page(url, headers, body) -> Page: the one entry point for HTML.

A pure function of its arguments (no network, no clock, no Scrapy), so archived responses
give the same records years later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from archive.extract.article import (
    CATEGORY_CONTAINERS,
    EXCERPT_CLASSES,
    MORE_LINK_CLASSES,
    author_of,
    extract_article,
    post_id,
)
from archive.extract.dates import page_language
from archive.extract.document import parse_html
from archive.extract.elements import Elements, has_rel, links
from archive.extract.pagination import extract_pagination, first_page_url
from archive.extract.text import absolute, classes, squash
from archive.extract.urls import canonical_url, html_class_form, tag_slug_from_url, term_slug
from archive.records import Article, ContentKind, Page, PageKind, Skipped, Source, Term

# Bumped whenever extraction output changes, so rows can say which extractor made them.
EXTRACTOR_VERSION = "2"

# A post in a list: block themes' query loop items, classic themes' post_class() elements.
POST_BLOCK_CLASSES = ("wp-block-post", "hentry", "type-post")


def _outermost(elements: list[HtmlElement]) -> list[HtmlElement]:
    """Drop elements nested in another candidate (an <article class=hentry> inside an <li>)."""
    chosen = set(elements)
    return [el for el in elements if not any(a in chosen for a in el.iterancestors())]


def _archive_tag(elements: Elements, url: str, body_classes: list[str]) -> Term | None:
    """The tag whose archive this page is. Its slug is in the URL, whatever the tag base
    (`/tag/x/`, `/etiqueta/x/`, `?tag=x`); body_class() (tag-<slug>, printed lossily for
    non-ASCII slugs) only confirms it, or stands in when the URL is not the archive's own."""
    first = canonical_url(first_page_url(url))
    printed = [c[4:] for c in body_classes if c.startswith("tag-") and not c[4:].isdigit()]
    slug = tag_slug_from_url(url) or term_slug(first)
    if slug is None or (printed and html_class_form(slug) not in printed and slug not in printed):
        slug = printed[0] if printed else slug
    if slug is None:
        return None
    name = None
    for anchor in links(elements.tagged("a")):
        if not has_rel(anchor, "tag"):
            continue
        href = absolute(url, anchor.get("href"))
        if href and term_slug(href) == slug:
            name = squash(anchor.text_content())
            break
    if name is None:
        # get_the_archive_title(): "Tag: <span>name</span>"
        title = elements.with_class("page-title", "wp-block-query-title")
        if title:
            span = title[0].find(".//span")
            text = squash((span if span is not None else title[0]).text_content())
            name = text.split(":", 1)[-1].strip() if span is None else text
    return Term(slug, name or None, first)


def _shows_excerpts(elements: Elements) -> bool:
    """Excerpt markup (the_excerpt()'s entry-summary, the post-excerpt block) or an excerpt's
    "Continue reading" link. A `<!--more-->` teaser's link, to `#more-ID`, says only that
    one post is cut short."""
    if elements.with_class(*EXCERPT_CLASSES):
        return True
    return any(
        "#more-" not in (link.get("href") or "") for link in elements.with_class(*MORE_LINK_CLASSES)
    )


def _is_tag_term_link(anchor: HtmlElement) -> bool:
    """A rel=tag link that is not a category's: a tag archive, whatever the tag base."""
    if not has_rel(anchor, "tag") or has_rel(anchor, "category"):
        return False
    return not any(set(classes(a)) & set(CATEGORY_CONTAINERS) for a in anchor.iterancestors())


def _tag_links(elements: Elements, url: str) -> tuple[str, ...]:
    """The page's links to tag archives on its own site, each once, in document order."""
    found: dict[str, None] = {}
    netloc = None  # the page's own host, read at the first link
    for anchor in elements.tagged("a"):
        href = absolute(url, anchor.get("href"))
        if not href:
            continue
        host = urlsplit(href).netloc
        if netloc is None:
            netloc = urlsplit(url).netloc
        if host == netloc and (tag_slug_from_url(href) or _is_tag_term_link(anchor)):
            found[href] = None
    return tuple(found)


def _is_tag_archive(url: str, body_classes: list[str]) -> bool:
    """body_class() says so on any theme (`archive tag`); without it, the URL's shape."""
    if "tag" in body_classes and "archive" in body_classes:
        return True
    # Themes that drop body_class(): fall back on the URL WordPress uses for tag archives.
    return not body_classes and tag_slug_from_url(url) is not None


def extract_page(url: str, headers: Mapping[str, str] | None, body: bytes) -> Page:
    root = parse_html(headers, body)
    elements = Elements(root, include_root=True)
    language = page_language(root)
    body_el = root.find("body")
    body_classes = classes(body_el) if body_el is not None else []
    tag_links = _tag_links(elements, url)

    if _is_tag_archive(url, body_classes):
        tag = _archive_tag(elements, url, body_classes)
        articles: list[Article] = []
        skipped: list[Skipped] = []
        for element in _outermost(elements.with_class(*POST_BLOCK_CLASSES)):
            found = extract_article(
                element, url, Source.ARCHIVE, page_elements=elements, language=language
            )
            if isinstance(found, Skipped):
                skipped.append(found)
                continue
            if tag is not None:
                found = _with_tag(found, tag)
            articles.append(found)
        if _shows_excerpts(elements):
            # A theme prints every post of an archive the same way: where some are excerpts,
            # the others are too, though short enough to show every word (flattened).
            articles = [replace(a, content_kind=ContentKind.EXCERPT) for a in articles]
        pagination = extract_pagination(root, url, elements)
        return Page(
            url=url,
            kind=PageKind.TAG_ARCHIVE,
            tag=tag,
            page_number=pagination.page_number,
            last_page=pagination.last_page,
            page_urls=pagination.page_urls,
            next_url=pagination.next_url,
            articles=tuple(articles),
            skipped=tuple(skipped),
            tag_links=tag_links,
        )

    if "single-post" in body_classes or ("single" in body_classes and post_id(body_el)):
        canonical = [
            link.get("href")
            for link in links(elements.tagged("link"))
            if link.get("rel") == "canonical"
        ]
        permalink = absolute(url, canonical[0]) if canonical else url
        wp_id = post_id(body_el)
        blocks = _outermost(elements.with_class(*POST_BLOCK_CLASSES))
        element = next((b for b in blocks if post_id(b) == wp_id), None)
        if element is None:
            # Block themes print no post_class() wrapper on single pages: the post is <main>.
            element = root.find(".//main") if root.find(".//main") is not None else body_el
        found = extract_article(
            element,
            url,
            Source.SINGLE,
            permalink=permalink,
            page_elements=elements,
            single_page=root,
            language=language,
        )
        if isinstance(found, Article):
            if found.wp_post_id is None and wp_id is not None:
                found = replace(found, wp_post_id=wp_id)
            if found.author is None:
                # Some themes print the byline in the page header, outside the post element;
                # on a single-post page it can only be this post's author.
                found = replace(found, author=author_of(body_el, elements.within(body_el)))
        if isinstance(found, Skipped):
            return Page(url, PageKind.SINGLE, skipped=(found,), tag_links=tag_links)
        return Page(url, PageKind.SINGLE, articles=(found,), tag_links=tag_links)

    return Page(url, PageKind.OTHER, tag_links=tag_links)


def _with_tag(article: Article, tag: Term) -> Article:
    """Listed under this tag is WordPress's own word that the post has it. The archive
    names the tag (its heading) where the post's own markup may only have its class."""
    same = (tag.slug, html_class_form(tag.slug))
    mine = next((t for t in article.tags if t.slug == tag.slug), None)
    merged = Term(
        tag.slug,
        (mine.name if mine else None) or tag.name,
        (mine.url if mine else None) or tag.url,
    )
    tags: list[Term] = []
    for term in article.tags:
        if term.slug not in same:
            tags.append(term)
        elif merged not in tags:
            tags.append(merged)
    if merged not in tags:
        tags.append(merged)
    if tuple(tags) == article.tags:
        return article  # as it was: the post's own link named the tag in full
    return replace(article, tags=tuple(tags))
