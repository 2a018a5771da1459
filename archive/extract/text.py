"""Small text and class helpers shared by the extraction modules."""

from __future__ import annotations

import re
from urllib.parse import unquote, urljoin, urlsplit

from lxml.html import HtmlElement


def squash(text: str | None) -> str:
    """Collapse every run of whitespace (NBSP included) into one space, as a browser shows it."""
    return " ".join(text.split()) if text else ""


def classes(element: HtmlElement) -> list[str]:
    return (element.get("class") or "").split()


# Links urljoin() resolves without touching them are resolved by hand: urljoin() parses every
# link and the base, and extraction resolves every link of every page. Both forms have
# no path parameters (`;`), no empty query or fragment, no whitespace (urlsplit() drops it):
# - an absolute http(s) URL with a lowercase scheme and a plain host[:port], which urljoin()
#   returns as it is (WordPress prints nearly every link so);
# - a root-relative path, without `.` or `..` segments, which it appends to the base's origin.
_PLAIN_ABSOLUTE = re.compile(r"https?://[A-Za-z0-9.:-]+(?:/[^?#;\s]*)?(?:\?[^#\s]+)?(?:#\S+)?")
_PLAIN_ROOTED = re.compile(r"/(?!/)[^?#;\s]*(?:\?[^#\s]+)?(?:#\S+)?")


def absolute(base: str, href: str | None) -> str | None:
    if not href or not href.strip():
        return None
    href = href.strip()
    if href.startswith(("javascript:", "data:", "mailto:", "#")):
        return None
    if _PLAIN_ABSOLUTE.fullmatch(href):
        return href
    if _PLAIN_ROOTED.fullmatch(href) and "/." not in href:
        origin = _http_origin(base)
        if origin:
            return origin + href
    try:
        return urljoin(base, href)
    except ValueError:  # "http://[oops/": no URL at all; one such link must not sink the page
        return None


def _http_origin(base: str) -> str | None:
    """scheme://host of an http(s) base URL, as urljoin() writes them; None for any other."""
    try:
        parts = urlsplit(base)  # cached by urllib: a page's links share one base
    except ValueError:
        return None
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def last_path_segment(url: str) -> str:
    segments = [s for s in urlsplit(url).path.split("/") if s]
    return unquote(segments[-1]) if segments else ""
