"""Where an archive's other pages are: the next link, the last page number, every page URL.

WordPress prints numbered links (`paginate_links()`: `.page-numbers`; block themes:
`.wp-block-query-pagination-numbers`) that often skip the middle ("1 … 4"), so the page URLs
are rebuilt from one numbered link's pattern rather than collected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lxml.html import HtmlElement

from archive.extract.text import absolute, class_xpath, squash

# How WordPress puts a page number into a URL: /page/N/ with pretty permalinks, ?paged=N
# without them, ?query-ID-page=N for a block query loop that does not inherit the main query.
_PAGE_IN_URL = re.compile(r"(/page/)(\d+)(/|$|\?|#)|([?&](?:paged|query-\d+-page)=)(\d+)")

PAGINATION_LINKS = " | ".join(
    [
        f"//a[@href][{class_xpath('page-numbers')}]",
        f"//*[{class_xpath('wp-block-query-pagination')}]//a[@href]",
        f"//*[{class_xpath('nav-links')}]//a[@href]",
        f"//*[{class_xpath('pagination')}]//a[@href]",
    ]
)
NEXT_LINKS = " | ".join(
    [
        "//link[@href][@rel='next']",
        f"//a[@href][{class_xpath('next')}][{class_xpath('page-numbers')}]",
        f"//a[@href][{class_xpath('wp-block-query-pagination-next')}]",
        f"//*[{class_xpath('nav-previous')}]//a[@href]",  # classic "Older posts"
        "//a[@href][contains(concat(' ', @rel, ' '), ' next ')]",
    ]
)


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


def url_for_page(template_url: str, number: int, first_page_url: str) -> str:
    """`template_url` has some page number in it; return the same URL for page `number`."""
    if number == 1:
        return first_page_url

    def replace(match: re.Match) -> str:
        if match.group(1):
            return f"{match.group(1)}{number}{match.group(3)}"
        return f"{match.group(4)}{number}"

    return _PAGE_IN_URL.sub(replace, template_url, count=1)


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


def extract_pagination(root: HtmlElement, page_url: str) -> Pagination:
    """last_page is None when the theme prints only older/newer links: follow next_url then."""
    current = page_number_in(page_url) or 1
    numbered: list[tuple[int, str]] = []
    for anchor in root.xpath(PAGINATION_LINKS):
        url = absolute(page_url, anchor.get("href"))
        digits = re.search(r"\d+", squash(anchor.text_content()))
        if url and digits:  # "2", "Page 4"; never "Next Page" or "Older posts"
            numbered.append((page_number_in(url) or int(digits.group()), url))
    for span in root.xpath(f"//span[{class_xpath('current')}][{class_xpath('page-numbers')}]"):
        digits = re.search(r"\d+", squash(span.text_content()))
        if digits:
            current = int(digits.group())

    next_url = None
    for anchor in root.xpath(NEXT_LINKS):
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
        page_urls = tuple(url_for_page(template, n, first) for n in range(1, last_page + 1))
    return Pagination(current, last_page, page_urls, next_url)
