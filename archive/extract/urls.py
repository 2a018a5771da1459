"""URLs as WordPress writes them: one canonical form, and the terms and pages they name.

WordPress prints the same address in several spellings: raw Unicode or percent-encoded (in
lower or upper case), with or without a fragment, with pretty or plain permalinks
(`/tag/slug/`, `/etiqueta/slug/`, `/?tag=slug&paged=2`, `/?cat=7`). Every URL the archive
stores goes through canonical_url(), and a term's slug is read the same way from every
spelling, so one post is one row and one tag is one row.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qs, quote, unquote, urlsplit

from w3lib.url import canonicalize_url

# Page and feed suffixes of an archive URL: /page/3/, /feed/, /feed/atom/.
_ARCHIVE_SUFFIX = re.compile(r"(?:/page/\d+|/feed(?:/[a-z0-9]+)?)/*$")
_PERCENT_OCTET = re.compile(r"%[0-9a-fA-F]{2}")
_NOT_CLASS_CHARACTER = re.compile(r"[^A-Za-z0-9_-]")


def site_root(site: str) -> str:
    """The root URL of the site a user named (`pjfp.com`, `https://pjfp.com/blog`): https
    unless a scheme is given, ending in one slash. ValueError for what names no host."""
    if not site:
        raise ValueError("the site URL is required: -a site=https://example.com")
    if "://" not in site:
        site = f"https://{site}"
    root = site.rstrip("/") + "/"
    if not urlsplit(root).hostname:
        raise ValueError(f"not a site URL: {site!r}")
    return root


@lru_cache(maxsize=8192)  # term and tag links repeat on every page of a crawl
def canonical_url(url: str) -> str:
    """The one form every stored URL takes: percent-encoding normalised (non-ASCII encoded,
    escapes upper case), query arguments sorted, no fragment (w3lib's canonicalize_url)."""
    try:
        return canonicalize_url(url, keep_fragments=False)
    except ValueError:  # a URL w3lib cannot parse is kept as written, not dropped
        return url


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query) if "?" in url else {}


@lru_cache(maxsize=8192)  # every link of a page is asked; the same links are on every page
def tag_slug_from_url(url: str) -> str | None:
    """The tag a URL names when it has the shape of a tag archive: `/tag/<slug>/...` or
    `?tag=<slug>`. With a custom tag base (`/etiqueta/<slug>/`) the URL alone does not say
    it is a tag archive: the page does (body_class), and term_slug() reads its slug."""
    if "tag" not in url:
        return None  # most links of a page: a substring test spares parsing them
    values = _query(url).get("tag")
    if values:
        return _slug(values[0])
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if "tag" in segments:
        index = segments.index("tag")
        if index + 1 < len(segments):
            return _slug(segments[index + 1])
    return None


@lru_cache(maxsize=8192)
def term_slug(url: str) -> str | None:
    """The slug of the term whose archive `url` is, in any permalink form: the value of
    `?tag=` or `?category_name=`, else the last path segment once `/page/N/` and `/feed/`
    are taken off. None for `?cat=ID` (see term_id) and for a URL with no path."""
    query = _query(url)
    for key in ("tag", "category_name"):
        if query.get(key):
            return _slug(query[key][0].rstrip("/").rsplit("/", 1)[-1])
    if "cat" in query or "tag_id" in query:
        return None
    path = _ARCHIVE_SUFFIX.sub("", urlsplit(url).path)
    segments = [s for s in path.split("/") if s]
    return _slug(segments[-1]) if segments else None


def term_id(url: str) -> int | None:
    """The term id of a plain-permalink term link (`?cat=7`, `?tag_id=7`)."""
    query = _query(url)
    for key in ("cat", "tag_id"):
        value = (query.get(key) or [""])[0]
        if value.isdigit():
            return int(value)
    return None


def normal_slug(text: str) -> str:
    """Slugs are kept decoded (`café`, as WordPress shows them), whichever way the link was
    spelled; WordPress stores them lower case, percent-encoded."""
    return unquote(text).strip().lower()


def _slug(text: str) -> str | None:
    return normal_slug(text) or None


@lru_cache(maxsize=8192)
def html_class_form(slug: str) -> str:
    """What post_class() and body_class() print for a term: sanitize_html_class() of the
    stored (percent-encoded) slug, which drops every %XX octet. `café-société` prints as
    `tag-caf-socit`; a slug with nothing left prints as the term id instead."""
    encoded = quote(slug, safe="").lower()
    return _NOT_CLASS_CHARACTER.sub("", _PERCENT_OCTET.sub("", encoded))
