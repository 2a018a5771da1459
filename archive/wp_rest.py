"""The WordPress REST API's answers read into plain records: no Scrapy, no network, no clock.

`verify` holds the archive against what WordPress itself says (archive.verify). What it says
arrives as JSON pages of /wp/v2/tags, /wp/v2/categories and /wp/v2/posts; this module reads one
answer at a time and says plainly when an answer is not what the API gives: an HTML page
served with 200 (a security plugin, a theme's 404 page), a body that is not JSON, an error
object, a list of the wrong shape. A malformed entry is dropped with a reason, never guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import lxml.html
from lxml.etree import ParserError

from archive.errors import ArchiveError
from archive.extract.urls import normal_slug

# What verify asks of each post: enough to match it (id, link) and check what the archive
# holds (title, dates, terms). content.protected says whether the archive may hold it at all:
# password-protected posts are skipped on purpose (a nested field, WordPress >= 5.3).
POST_FIELDS = "id,link,title,date,date_gmt,modified_gmt,tags,categories,author,content.protected"
TERM_FIELDS = "id,slug,name,count,link"
PER_PAGE = 100  # the most WordPress hands out per page


class RestAnswerError(ArchiveError):
    """An answer that holds no usable list. `reason` is a short stable code for stats keys:
    http (a 4xx/5xx), html, not_json, error_object, wrong_shape."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class RestTerm:
    id: int
    slug: str  # decoded and lower case, as the archive keeps slugs (archive.extract.urls)
    name: str | None = None
    count: int | None = None
    link: str | None = None


@dataclass(frozen=True)
class RestPost:
    id: int
    link: str
    title: str | None  # as a reader sees it: entities decoded, tags stripped, spaces squashed
    date_gmt: datetime | None  # naive, UTC
    date: datetime | None  # naive, the site's local time
    modified_gmt: datetime | None
    tags: tuple[int, ...] | None  # None: the answer did not say
    categories: tuple[int, ...] | None
    protected: bool | None = None


@dataclass(frozen=True)
class RestPage:
    """One page of a collection: its entries and what its headers claim about the whole."""

    number: int
    items: tuple[Any, ...]  # RestTerm or RestPost
    total: int | None  # X-WP-Total
    total_pages: int | None  # X-WP-TotalPages
    problems: tuple[str, ...] = ()  # entries dropped or fields unreadable, and why
    dropped: int = 0  # entries that were not a term or post at all


@dataclass
class Collection:
    """A paged REST collection as fetched: the pages that were read, and those that were not.

    `headerless`: the pages came without X-WP-TotalPages and were followed until a short one.
    """

    pages: dict[int, RestPage] = field(default_factory=dict)
    failures: dict[int, str] = field(default_factory=dict)  # page number -> why not read
    headerless: bool = False

    @property
    def complete(self) -> bool:
        """Every page read, every entry readable: only then does what is not listed count
        as not listed."""
        if self.failures or 1 not in self.pages:
            return False
        if any(page.dropped for page in self.pages.values()):
            return False
        last = self.pages[1].total_pages
        return last is None or all(n in self.pages for n in range(1, last + 1))

    @property
    def total(self) -> int | None:
        first = self.pages.get(1)
        return first.total if first else None

    def items(self) -> list[Any]:
        return [item for n in sorted(self.pages) for item in self.pages[n].items]


def displayed(html: str) -> str:
    """Text as a browser shows it: entities decoded, tags stripped, whitespace squashed."""
    if not html.strip():
        return ""
    try:
        text = lxml.html.fragment_fromstring(html, create_parent="div").text_content()
    except (ParserError, ValueError):
        return " ".join(html.split())
    return " ".join(text.split())


def read_json(status: int, content_type: str | None, body: bytes) -> Any:
    """The JSON an answer holds, or RestAnswerError saying why it holds none."""
    data: Any = None
    parsed = False
    text = body.lstrip(b"\xef\xbb\xbf \t\r\n")  # a BOM or blank lines some plugins print first
    try:
        data = json.loads(text)
        parsed = True
    except (ValueError, UnicodeDecodeError):
        pass
    if status >= 400:
        detail = _error_detail(data) if parsed else ""
        raise RestAnswerError("http", f"answered HTTP {status}{detail}")
    if not parsed:
        if _looks_like_html(content_type, text):
            raise RestAnswerError(
                "html", f"answered HTML with status {status}, not JSON ({_html_title(text)})"
            )
        raise RestAnswerError("not_json", f"answered a body that is not JSON ({len(body)} bytes)")
    if isinstance(data, dict) and "code" in data:
        raise RestAnswerError("error_object", f"answered an error object{_error_detail(data)}")
    return data


def pagination(headers: dict[str, str]) -> tuple[int | None, int | None]:
    """(X-WP-Total, X-WP-TotalPages), each None when absent or not a whole number."""
    lower = {name.lower(): value for name, value in headers.items()}

    def number(name: str) -> int | None:
        value = lower.get(name, "").strip()
        return int(value) if value.isdigit() else None

    return number("x-wp-total"), number("x-wp-totalpages")


def parse_terms(number: int, data: Any, headers: dict[str, str]) -> RestPage:
    """A page of /wp/v2/tags or /wp/v2/categories."""
    entries = _entries(data)
    items, problems = [], []
    for index, entry in enumerate(entries):
        term_id = entry.get("id") if isinstance(entry, dict) else None
        slug = entry.get("slug") if isinstance(entry, dict) else None
        if not _is_id(term_id) or not isinstance(slug, str) or not slug.strip():
            problems.append(f"entry {index} is not a term (no whole-number id and slug)")
            continue
        count = entry.get("count")
        items.append(
            RestTerm(
                term_id,
                normal_slug(slug),
                entry["name"] if isinstance(entry.get("name"), str) else None,
                count if _is_count(count) else None,
                entry["link"] if isinstance(entry.get("link"), str) else None,
            )
        )
        if "count" in entry and not _is_count(count):
            problems.append(f"term {term_id}: count {count!r} is not a whole number")
    dropped = len(entries) - len(items)
    return RestPage(number, tuple(items), *pagination(headers), tuple(problems), dropped)


def parse_posts(number: int, data: Any, headers: dict[str, str]) -> RestPage:
    """A page of /wp/v2/posts."""
    entries = _entries(data)
    items, problems = [], []
    for index, entry in enumerate(entries):
        post_id = entry.get("id") if isinstance(entry, dict) else None
        link = entry.get("link") if isinstance(entry, dict) else None
        if not _is_id(post_id) or not isinstance(link, str) or "://" not in link:
            problems.append(f"entry {index} is not a post (no whole-number id and link)")
            continue
        post, trouble = _post(post_id, link, entry)
        items.append(post)
        problems.extend(f"post {post_id}: {t}" for t in trouble)
    dropped = len(entries) - len(items)
    return RestPage(number, tuple(items), *pagination(headers), tuple(problems), dropped)


def _post(post_id: int, link: str, entry: dict) -> tuple[RestPost, list[str]]:
    trouble: list[str] = []
    title = entry.get("title")
    rendered = title.get("rendered") if isinstance(title, dict) else None
    if not isinstance(rendered, str):
        trouble.append("title.rendered is missing")
        rendered = None

    def date(name: str) -> datetime | None:
        value = entry.get(name)
        if value is None and name == "modified_gmt":
            return None  # optional: only shown in messages
        try:
            parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            trouble.append(f"{name} {value!r} is not a date")
            return None
        if parsed.tzinfo is not None and name.endswith("_gmt"):
            parsed = parsed.astimezone(UTC)
        return parsed.replace(tzinfo=None)

    def ids(name: str) -> tuple[int, ...] | None:
        value = entry.get(name)
        if isinstance(value, list) and all(_is_id(v) for v in value):
            return tuple(value)
        trouble.append(f"{name} {value!r} is not a list of term ids")
        return None

    content = entry.get("content")
    protected = content.get("protected") if isinstance(content, dict) else None
    post = RestPost(
        post_id,
        link,
        displayed(rendered) if rendered is not None else None,
        date("date_gmt"),
        date("date"),
        date("modified_gmt"),
        ids("tags"),
        ids("categories"),
        protected if isinstance(protected, bool) else None,
    )
    return post, trouble


def _entries(data: Any) -> list:
    if not isinstance(data, list):
        kind = type(data).__name__
        raise RestAnswerError(
            "wrong_shape", f"answered JSON of the wrong shape (a {kind}, not a list)"
        )
    return data


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _error_detail(data: Any) -> str:
    """WordPress's own error code and message, when the body is its error object."""
    if not isinstance(data, dict):
        return ""
    code, message = data.get("code"), data.get("message")
    parts = [str(p)[:200] for p in (code, message) if isinstance(p, str) and p]
    return f" ({': '.join(parts)})" if parts else ""


def _looks_like_html(content_type: str | None, body: bytes) -> bool:
    if content_type and "html" in content_type.lower():
        return True
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def _html_title(body: bytes) -> str:
    try:
        root = lxml.html.document_fromstring(body[:200_000])
        title = " ".join((root.findtext(".//title") or "").split())
    except (ParserError, ValueError):
        title = ""
    return f"titled {title[:80]!r}" if title else "untitled"
