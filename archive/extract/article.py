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
from archive.extract.text import absolute, class_xpath, classes, last_path_segment, squash
from archive.records import Article, Skipped, Source, Term

_POST_ID = re.compile(r"^(?:post|postid)-(\d+)$")

TITLE_XPATH = " | ".join(
    f".//*[{class_xpath(name)}]" for name in ("wp-block-post-title", "entry-title", "post-title")
)
CONTENT_XPATH = " | ".join(
    f".//*[{class_xpath(name)}]"
    for name in ("wp-block-post-content", "entry-content", "post-content")
)
AUTHOR_XPATH = " | ".join(
    [
        f".//*[{class_xpath('wp-block-post-author__name')}]",
        f".//*[{class_xpath('wp-block-post-author-name')}]",
        ".//a[contains(concat(' ', @rel, ' '), ' author ')]",
        f".//*[{class_xpath('author')}]//*[{class_xpath('fn')}]",
    ]
)
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


def _first(element: HtmlElement, xpath: str) -> HtmlElement | None:
    found = element.xpath(xpath)
    return found[0] if found else None


def author_of(element: HtmlElement) -> str | None:
    found = _first(element, AUTHOR_XPATH)
    return (squash(found.text_content()) or None) if found is not None else None


def _published(element: HtmlElement) -> str | None:
    times = element.xpath(
        f".//time[@datetime][{class_xpath('published')}] | "
        f".//*[{class_xpath('wp-block-post-date')}]//time[@datetime] | .//time[@datetime]"
    )
    for time in times:
        value = time.get("datetime", "").strip()
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
        except ValueError:
            continue
    return None


def _terms(element: HtmlElement, content: HtmlElement | None, base: str) -> tuple[list, list]:
    """Tags and categories from the element's term links, completed from its classes."""
    tags: dict[str, Term] = {}
    categories: dict[str, Term] = {}
    for anchor in element.xpath(".//a[@href][contains(concat(' ', @rel, ' '), ' tag ')]"):
        if content is not None and any(a is content for a in anchor.iterancestors()):
            continue  # a rel=tag link written into the post body is not a term of the post
        url = absolute(base, anchor.get("href"))
        if not url:
            continue
        container = {c for a in anchor.iterancestors() for c in classes(a)}
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
    element: HtmlElement, page_url: str, source: Source, *, permalink: str | None = None
) -> Article | Skipped:
    """`permalink` is given for single pages (the canonical URL); archive blocks link to it."""
    wp_id = post_id(element)
    title_el = _first(element, TITLE_XPATH)
    if permalink is None and title_el is not None:
        anchor = title_el if title_el.tag == "a" else _first(title_el, ".//a[@href]")
        if anchor is not None:
            permalink = absolute(page_url, anchor.get("href"))
    if permalink is None:
        bookmark = _first(element, ".//a[@href][contains(concat(' ', @rel, ' '), ' bookmark ')]")
        if bookmark is not None:
            permalink = absolute(page_url, bookmark.get("href"))
    if permalink is None:
        return Skipped(None, wp_id, "no-permalink")
    if "post-password-required" in classes(element) or element.xpath(
        f".//form[{class_xpath('post-password-form')}]"
    ):
        return Skipped(permalink, wp_id, "password-protected")

    content_el = _first(element, CONTENT_XPATH)
    tags, categories = _terms(element, content_el, page_url)
    return Article(
        url=permalink,
        source=source,
        title=squash(title_el.text_content()) if title_el is not None else None,
        wp_post_id=wp_id,
        published=_published(element),
        author=author_of(element),
        tags=tuple(tags),
        categories=tuple(categories),
        content=extract_content(content_el, page_url) if content_el is not None else None,
    )
