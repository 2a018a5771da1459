"""Where an archive's other pages are: the next link, the last page number, every page URL.

WordPress prints numbered links (`paginate_links()`: `.page-numbers`; block themes:
`.wp-block-query-pagination-numbers`) that often skip the middle ("1 … 4"), so the page URLs
are rebuilt from one numbered link's pattern rather than collected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lxml.html import HtmlElement

from archive.extract.elements import Elements, has_rel, links
from archive.extract.text import absolute, squash

# How WordPress puts a page number into a URL: /page/N/ with pretty permalinks, ?paged=N
# without them, ?query-ID-page=N for a block query loop that does not inherit the main query.
_PAGE_IN_URL = re.compile(r"(/page/)(\d+)(/|$|\?|#)|([?&](?:paged|query-\d+-page)=)(\d+)")

# Numbered page links: `a.page-numbers`, or any link inside a pagination block.
PAGE_NUMBER_CLASS = "page-numbers"
PAGINATION_BLOCKS = ("wp-block-query-pagination", "nav-links", "pagination")


def _next_links(
    elements: Elements, anchors: list[HtmlElement], page_numbers: set[HtmlElement]
) -> list[HtmlElement]:
    """The links to a next page, in document order: <link rel=next>, paginate_links()' next,
    the block theme's next, classic "Older posts", any rel=next link."""
    marked = page_numbers.intersection(elements.with_class("next"))
    marked.update(elements.with_class("wp-block-query-pagination-next"))
    marked.update(_links_inside(elements.with_class("nav-previous")))
    found = [a for a in anchors if a in marked or has_rel(a, "next")]
    found.extend(link for link in links(elements.tagged("link")) if link.get("rel") == "next")
    return elements.in_order(found)


def _links_inside(containers: list[HtmlElement]) -> set[HtmlElement]:
    return {a for c in containers for a in c.iterdescendants("a") if a.get("href") is not None}


@dataclass(frozen=True)
class Pagination:
    page_number: int
    last_page: int | None
    page_urls: tuple[str, ...]
    next_url: str | None


def page_number_in(url: str) -> int | None:
    match = _PAGE_IN_URL.search(url)
    if not match:
        return None
    return int(match.group(2) or match.group(5))


def page_urls_like(template_url: str, last_page: int, first_page_url: str) -> tuple[str, ...]:
    """Pages 1 to `last_page` of the archive, each the URL `template_url` (which has some
    page number in it) with that number instead; page 1 is `first_page_url`."""
    match = _PAGE_IN_URL.search(template_url)
    if match is None:
        return ()
    # The number's place is found once; the other URLs differ only there.
    if match.group(1):
        head = template_url[: match.start(2)]
        tail = template_url[match.end(2) :]
    else:
        head = template_url[: match.start(5)]
        tail = template_url[match.end(5) :]
    return (first_page_url, *(f"{head}{n}{tail}" for n in range(2, last_page + 1)))


@lru_cache(maxsize=1024)  # a tag's pages share their first; asked of every page
def first_page_url(url: str) -> str:
    """The archive's first page: /tag/x/page/3/ -> /tag/x/, ?tag=x&paged=3 -> ?tag=x."""
    parts = urlsplit(url)
    path = re.sub(r"/page/\d+(?=/|$)", "", parts.path) or "/"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not re.fullmatch(r"paged|query-\d+-page", key)
    ]
    return urlunsplit(parts._replace(path=path, query=urlencode(query)))


def extract_pagination(
    root: HtmlElement, page_url: str, elements: Elements | None = None
) -> Pagination:
    """last_page is None when the theme prints only older/newer links: follow next_url then.

    `elements`: the document's, when the caller has them already."""
    elements = elements or Elements(root, include_root=True)
    anchors = links(elements.tagged("a"))
    in_blocks = _links_inside(elements.with_class(*PAGINATION_BLOCKS))
    page_numbers = set(elements.with_class(PAGE_NUMBER_CLASS))
    current = page_number_in(page_url) or 1
    numbered: list[tuple[int, str]] = []
    for anchor in anchors:
        if not (anchor in page_numbers or anchor in in_blocks):
            continue
        url = absolute(page_url, anchor.get("href"))
        digits = re.search(r"\d+", squash(anchor.text_content()))
        if url and digits:  # "2", "Page 4"; never "Next Page" or "Older posts"
            numbered.append((page_number_in(url) or int(digits.group()), url))
    for span in elements.with_class("current"):
        if span.tag != "span" or span not in page_numbers:
            continue
        digits = re.search(r"\d+", squash(span.text_content()))
        if digits:
            current = int(digits.group())

    next_url = None
    for anchor in _next_links(elements, anchors, page_numbers):
        url = absolute(page_url, anchor.get("href"))
        if url and url != page_url:
            next_url = url
            break

    if not numbered:
        return Pagination(current, None if next_url else current, (), next_url)
    last_page = max(current, *(n for n, _ in numbered))
    template = next((url for n, url in numbered if n > 1 and page_number_in(url)), None)
    if template is None and next_url and page_number_in(next_url):
        template = next_url
    if template is None and page_number_in(page_url):
        template = page_url
    page_urls: tuple[str, ...] = ()
    if template is not None:
        first = first_page_url(page_url)
        page_urls = page_urls_like(template, last_page, first)
    return Pagination(current, last_page, page_urls, next_url)
