"""One post's element (an archive block, or the single-post page) -> an Article.

Relies on WordPress's own markers, which themes keep because core prints them:
`post_class()` (post-N, hentry, tag-<slug>, category-<slug>, post-password-required),
`rel="tag"` term links, `time[datetime]`, and the `entry-*` / `wp-block-post-*` classes.
"""

from __future__ import annotations

import re
from datetime import datetime

from lxml.html import HtmlElement

from archive.extract.content import extract_content
from archive.extract.elements import Elements, has_rel, links
from archive.extract.text import absolute, classes, last_path_segment, squash
from archive.records import Article, Skipped, Source, Term

_POST_ID = re.compile(r"^(?:post|postid)-(\d+)$")

TITLE_CLASSES = ("wp-block-post-title", "entry-title", "post-title")
CONTENT_CLASSES = ("wp-block-post-content", "entry-content", "post-content")
AUTHOR_CLASSES = ("wp-block-post-author__name", "wp-block-post-author-name")
# Term link containers: block themes' post-terms block, classic themes' footer spans.
TAG_CONTAINERS = ("taxonomy-post_tag", "tags-links", "tag-links")
CATEGORY_CONTAINERS = ("taxonomy-category", "cat-links", "category-links")


def post_id(element: HtmlElement, *more: HtmlElement) -> int | None:
    for el in (element, *more):
        for name in classes(el):
            match = _POST_ID.match(name)
            if match:
                return int(match.group(1))
    return None


def author_of(element: HtmlElement, elements: Elements | None = None) -> str | None:
    """The byline: a post-author block, a rel=author link, or an hCard `.author .fn`."""
    elements = elements or Elements(element)
    hcard_names = [
        fn
        for fn in elements.with_class("fn")
        if any("author" in classes(a) for a in _ancestors_below(fn, element))
    ]
    found = elements.first(
        [
            *elements.with_class(*AUTHOR_CLASSES),
            *(a for a in elements.tagged("a") if has_rel(a, "author")),
            *hcard_names,
        ]
    )
    return (squash(found.text_content()) or None) if found is not None else None


def _ancestors_below(element: HtmlElement, top: HtmlElement) -> list[HtmlElement]:
    """`element`'s ancestors up to, not including, `top`."""
    found = []
    for ancestor in element.iterancestors():
        if ancestor is top:
            break
        found.append(ancestor)
    return found


def _published(elements: Elements) -> str | None:
    """The first parseable `time[datetime]`: themes print the publication date first."""
    for time in elements.tagged("time"):
        value = time.get("datetime")
        if value is None:
            continue
        value = value.strip()
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
        except ValueError:
            continue
    return None


def _terms(
    element: HtmlElement, elements: Elements, content: HtmlElement | None, base: str
) -> tuple[list, list]:
    """Tags and categories from the element's term links, completed from its classes."""
    tags: dict[str, Term] = {}
    categories: dict[str, Term] = {}
    # The classes of every ancestor of a link: those below the post, read per link, and
    # those of the post and above it, the same for every link, read once.
    above: set[str] | None = None
    for anchor in links(elements.tagged("a")):
        if not has_rel(anchor, "tag"):
            continue
        below = _ancestors_below(anchor, element)
        if content is not None and any(a is content for a in below):
            continue  # a rel=tag link written into the post body is not a term of the post
        url = absolute(base, anchor.get("href"))
        if not url:
            continue
        if above is None:
            above = {c for a in (element, *element.iterancestors()) for c in classes(a)}
        container = above.union(*(classes(a) for a in below))
        rel = anchor.get("rel", "").split()
        if container & set(CATEGORY_CONTAINERS) or "category" in rel:
            target = categories
        elif container & set(TAG_CONTAINERS):
            target = tags
        else:
            target = categories if "/category/" in url else tags
        slug = last_path_segment(url)
        if slug:
            target.setdefault(slug, Term(slug, squash(anchor.text_content()) or None, url))
    # post_class() names every term; a class is the only trace of terms a theme doesn't print.
    # Numeric values are term ids (WordPress's fallback for non-ASCII slugs), not slugs.
    for name in classes(element):
        for prefix, target in (("tag-", tags), ("category-", categories)):
            if name.startswith(prefix):
                slug = name[len(prefix) :]
                if slug and not slug.isdigit() and slug not in target:
                    target[slug] = Term(slug)
    return list(tags.values()), list(categories.values())


def extract_article(
    element: HtmlElement,
    page_url: str,
    source: Source,
    *,
    permalink: str | None = None,
    page_elements: Elements | None = None,
) -> Article | Skipped:
    """`permalink` is given for single pages (the canonical URL); archive blocks link to it.
    `page_elements`: the whole page's, which hold the post's unless it is an unclassed
    element (a block theme's bare <main>)."""
    wp_id = post_id(element)
    if page_elements is not None and element in page_elements.position:
        elements = page_elements.within(element)
    else:
        elements = Elements(element)
    title_el = elements.first(elements.with_class(*TITLE_CLASSES))
    if permalink is None and title_el is not None:
        anchor = (
            title_el
            if title_el.tag == "a"
            else next((a for a in title_el.iterdescendants("a") if a.get("href") is not None), None)
        )
        if anchor is not None:
            permalink = absolute(page_url, anchor.get("href"))
    if permalink is None:
        bookmark = next((a for a in links(elements.tagged("a")) if has_rel(a, "bookmark")), None)
        if bookmark is not None:
            permalink = absolute(page_url, bookmark.get("href"))
    if permalink is None:
        return Skipped(None, wp_id, "no-permalink")
    if "post-password-required" in classes(element) or any(
        form.tag == "form" for form in elements.with_class("post-password-form")
    ):
        return Skipped(permalink, wp_id, "password-protected")

    content_el = elements.first(elements.with_class(*CONTENT_CLASSES))
    tags, categories = _terms(element, elements, content_el, page_url)
    return Article(
        url=permalink,
        source=source,
        title=squash(title_el.text_content()) if title_el is not None else None,
        wp_post_id=wp_id,
        published=_published(elements),
        author=author_of(element, elements),
        tags=tuple(tags),
        categories=tuple(categories),
        content=extract_content(content_el, page_url) if content_el is not None else None,
    )
