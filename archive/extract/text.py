"""Small text and class helpers shared by the extraction modules."""

from __future__ import annotations

from urllib.parse import unquote, urljoin, urlsplit

from lxml.html import HtmlElement


def squash(text: str | None) -> str:
    """Collapse every run of whitespace (NBSP included) into one space, as a browser shows it."""
    return " ".join(text.split()) if text else ""


def classes(element: HtmlElement) -> list[str]:
    return (element.get("class") or "").split()


def absolute(base: str, href: str | None) -> str | None:
    if not href or not href.strip():
        return None
    href = href.strip()
    if href.startswith(("javascript:", "data:", "mailto:", "#")):
        return None
    return urljoin(base, href)


def last_path_segment(url: str) -> str:
    segments = [s for s in urlsplit(url).path.split("/") if s]
    return unquote(segments[-1]) if segments else ""
