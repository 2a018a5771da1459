"""One post's element (an archive block, or the single-post page) -> an Article.

Relies on WordPress's own markers, which themes keep because core prints them:
`post_class()` (post-N, hentry, tag-<slug>, category-<slug>, post-password-required),
`rel="tag"` term links, `time[datetime]`, and the `entry-*` / `wp-block-post-*` classes.
"""

from __future__ import annotations

import copy
import re

from lxml.html import HtmlElement

from archive.extract.content import extract_content
from archive.extract.dates import post_dates
from archive.extract.elements import Elements, has_rel, links
from archive.extract.text import absolute, classes, squash
from archive.extract.urls import canonical_url, html_class_form, term_id, term_slug
from archive.records import Article, ContentKind, Skipped, Source, Term

_POST_ID = re.compile(r"^(?:post|postid)-(\d+)$")

TITLE_CLASSES = ("wp-block-post-title", "entry-title", "post-title")
CONTENT_CLASSES = ("wp-block-post-content", "entry-content", "post-content")
# An excerpt in place of the content: the_excerpt() in classic themes, the post-excerpt block.
EXCERPT_CLASSES = ("entry-summary", "wp-block-post-excerpt", "post-excerpt")
# The link that ends an excerpt or a <!--more--> teaser: the post goes on elsewhere.
MORE_LINK_CLASSES = ("more-link", "wp-block-post-excerpt__more-link", "read-more")
# What a theme prints around a post's text, never part of it (when it sits inside the
# content container, as some themes have it).
META_CLASSES = (
    "entry-header", "entry-meta", "entry-footer", "post-meta", "byline", "posted-on",
    "cat-links", "tags-links", "wp-block-post-terms", "wp-block-post-date",
    "wp-block-post-author", "wp-block-post-excerpt__more-text", "more-link-container",
)  # fmt: skip
AUTHOR_CLASSES = ("wp-block-post-author__name", "wp-block-post-author-name")
# Term link containers: block themes' post-terms block, classic themes' footer spans.
TAG_CONTAINERS = ("taxonomy-post_tag", "tags-links", "tag-links")
CATEGORY_CONTAINERS = ("taxonomy-category", "cat-links", "category-links")
_TAG_CONTAINER_SET = frozenset(TAG_CONTAINERS)
_CATEGORY_CONTAINER_SET = frozenset(CATEGORY_CONTAINERS)
_EXCERPT_CLASS_SET = frozenset(EXCERPT_CLASSES)


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


def _terms(
    element: HtmlElement, elements: Elements, content: HtmlElement | None, base: str
) -> tuple[list[Term], list[Term], list[str]]:
    """Tags and categories from the element's term links, completed from its classes, and
    notes on what could not be settled. Slugs come from every permalink form
    (archive.extract.urls.term_slug); a plain-permalink `?cat=ID` link is tied to the one
    `category-<slug>` class no link accounts for."""
    tags: dict[str, Term] = {}
    categories: dict[str, Term] = {}
    by_id: dict[str, list[tuple[str, str | None]]] = {"tag": [], "category": []}
    # The classes of every ancestor of a link: those below the post, read per link, and
    # those of the post and above it, the same for every link, read once.
    above: set[str] | None = None
    for anchor in elements.tagged("a"):
        href = anchor.get("href")
        rel = anchor.get("rel")
        if href is None or not rel:
            continue
        # get_the_category_list() prints rel="category" alone with plain permalinks;
        # words split on spaces only, as has_rel() reads them
        words = rel.split(" ")
        if "tag" not in words and "category" not in words:
            continue
        below = _ancestors_below(anchor, element)
        if content is not None and any(a is content for a in below):
            continue  # a rel=tag link written into the post body is not a term of the post
        url = absolute(base, href)
        if not url:
            continue
        url = canonical_url(url)
        if above is None:
            above = {c for a in (element, *element.iterancestors()) for c in classes(a)}
        container = above.union(*(classes(a) for a in below))
        name = squash(anchor.text_content()) or None
        if not container.isdisjoint(_CATEGORY_CONTAINER_SET) or "category" in rel.split():
            taxonomy, target = "category", categories
        elif not container.isdisjoint(_TAG_CONTAINER_SET):
            taxonomy, target = "tag", tags
        elif "cat=" in url or "/category/" in url or "category_name=" in url:
            taxonomy, target = "category", categories
        else:
            taxonomy, target = "tag", tags
        slug = term_slug(url)
        if slug:
            target.setdefault(slug, Term(slug, name, url))
        elif term_id(url) is not None:
            by_id[taxonomy].append((url, name))
    # post_class() names every term; a class is the only trace of terms a theme doesn't print.
    # Numeric values are term ids (WordPress's fallback for slugs with nothing ASCII left).
    notes: list[str] = []
    for prefix, taxonomy, target in (("tag-", "tag", tags), ("category-", "category", categories)):
        printed = {html_class_form(slug) for slug in target} | set(target)
        from_classes = [
            name[len(prefix) :]
            for name in classes(element)
            if name.startswith(prefix) and name[len(prefix) :] not in printed
        ]
        from_classes = [slug for slug in from_classes if slug and not slug.isdigit()]
        unresolved = by_id[taxonomy]
        if len(unresolved) == 1 and len(from_classes) == 1:
            url, name = unresolved.pop()
            slug = from_classes.pop()
            target[slug] = Term(slug, name, url)
        notes.extend(f"{taxonomy}-id-unresolved" for _ in unresolved)
        for slug in from_classes:
            target.setdefault(slug, Term(slug, from_class=True))
    return list(tags.values()), list(categories.values()), notes


def _innermost(candidates: list[HtmlElement]) -> HtmlElement | None:
    """The first candidate that holds no other: a theme may wrap title, meta and text in an
    element with a content class, around the real content container."""
    for candidate in candidates:
        # looked up from the others (a few ancestors each), not down the candidate's text
        if not any(
            any(a is candidate for a in other.iterancestors())
            for other in candidates
            if other is not candidate
        ):
            return candidate
    return None


def _without(element: HtmlElement, inside: list[HtmlElement]) -> HtmlElement:
    """A copy of `element` without the elements `inside` it (their tails kept); `element`
    itself when there are none."""
    if not inside:
        return element
    paths = [element.getroottree().getpath(u) for u in inside]
    base = element.getroottree().getpath(element)
    clone = copy.deepcopy(element)
    for path in sorted(paths, key=len, reverse=True):
        found = clone.xpath("." + path[len(base) :])
        for node in found:
            node.drop_tree()
    return clone


def extract_article(
    element: HtmlElement,
    page_url: str,
    source: Source,
    *,
    permalink: str | None = None,
    page_elements: Elements | None = None,
    single_page: HtmlElement | None = None,
    language: str | None = None,
) -> Article | Skipped:
    """`permalink` is given for single pages (the canonical URL); archive blocks link to it.
    `page_elements`: the whole page's, of which `element` is one. `single_page`: the
    document, when it is this post's own page (its head's dates speak for the post).
    `language`: the page's, for dates printed as text."""
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

    content_el = _innermost(elements.with_class(*CONTENT_CLASSES, *EXCERPT_CLASSES))
    tags, categories, notes = _terms(element, elements, content_el, page_url)
    kind = ContentKind.NONE
    content = None
    if content_el is not None:
        inner = elements.within(content_el)
        more = inner.with_class(*MORE_LINK_CLASSES)
        excerpt = not _EXCERPT_CLASS_SET.isdisjoint(classes(content_el)) or bool(more)
        kind = ContentKind.EXCERPT if excerpt else ContentKind.FULL
        # What is not the post's text, in this order: the title, the meta, the more link.
        unwanted = [
            *([title_el] if title_el is not None and inner.holds(title_el) else []),
            *inner.with_class(*META_CLASSES),
            *(more if excerpt else ()),
        ]
        content = extract_content(_without(content_el, unwanted), page_url)
    dates = post_dates(elements, page=single_page, language=language)
    notes.extend(f"date-unparsed: {text}" for text in dates.unparsed)
    return Article(
        url=canonical_url(permalink),
        source=source,
        title=squash(title_el.text_content()) if title_el is not None else None,
        wp_post_id=wp_id,
        published=dates.published.value if dates.published else None,
        author=author_of(element, elements),
        tags=tuple(tags),
        categories=tuple(categories),
        content=content,
        modified=dates.modified.value if dates.modified else None,
        published_source=dates.published.source.value if dates.published else None,
        modified_source=dates.modified.source.value if dates.modified else None,
        content_kind=kind if source is Source.ARCHIVE else ContentKind.FULL,
        notes=tuple(notes),
    )
