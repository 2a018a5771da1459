"""The sites file: many WordPress blogs, each with the options of `tag-archiver crawl`.

A TOML file of `[[site]]` tables, each a site's URL and tags, over shared `[defaults]`:

    [defaults]
    contact = "mailto:me@example.org"
    delay = 1

    [[site]]
    url = "https://pjfp.com/"
    tags = ["ai-scaling", "scaling-laws"]

    [[site]]
    url = "https://another.example/"
    tags = "all"
    articles = false

Keys are the crawl command's options spelled in snake case (`refresh_articles`, `log_level`),
`tags = "all"` for `--all-tags`, `articles = false` for `--no-articles`, `set = { NAME =
"VALUE" }` for `--set`, and `name`, a display name. The database and WARC directory are not
the file's business: whoever runs the sites chooses them.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from archive.errors import ArchiveError
from archive.extract.urls import site_root
from archive.shards import site_key
from archive.warc.files import DEFAULT_MAX_SIZE

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_LOG_LEVEL = "INFO"  # the crawl command's --log-level default


class SitesFileError(ArchiveError):
    """A sites file that cannot be read or is wrong. The message names the file, and where it
    can, the line and the site: `sites.toml, line 9 (site 2, https://x.example/): ...`."""


@dataclass(frozen=True)
class SiteConfig:
    """One site to crawl and how: the options of `tag-archiver crawl` but --db and --warc-dir.

    Built by load_sites() or from_dict(), which validate and normalise (`url` is the
    site_root() form); the constructor itself checks nothing. None means the crawl command's
    own default.
    """

    url: str
    tags: tuple[str, ...] | Literal["all"]
    name: str | None = None
    contact: str | None = None
    delay: float | None = None
    articles: bool = True
    full: bool = False
    refresh_articles: bool = False
    crawlers: int | None = None
    verify: bool = False
    warc_max_size: int | None = None
    log_level: str | None = None
    settings: tuple[tuple[str, str], ...] = ()  # `set` in the file: (NAME, VALUE) in file order

    def crawl_args(self) -> list[str]:
        """The arguments after `tag-archiver crawl` for this site, but --db and --warc-dir.

        The URL first, then only the options whose value differs from the command's default.
        """
        args = [self.url]
        if self.tags == "all":
            args.append("--all-tags")
        else:
            for tag in self.tags:
                args += ["--tag", tag]
        if self.delay is not None:
            args += ["--delay", _number(self.delay)]
        if not self.articles:
            args.append("--no-articles")
        if self.full:
            args.append("--full")
        if self.refresh_articles:
            args.append("--refresh-articles")
        if self.contact is not None:
            args += ["--contact", self.contact]
        if self.log_level not in (None, DEFAULT_LOG_LEVEL):
            args += ["--log-level", self.log_level]
        if self.warc_max_size not in (None, DEFAULT_MAX_SIZE):
            args += ["--warc-max-size", str(self.warc_max_size)]
        if self.crawlers is not None:
            args += ["--crawlers", str(self.crawlers)]
        for name, value in self.settings:
            args += ["--set", f"{name}={value}"]
        if self.verify:
            args.append("--verify")
        return args

    @property
    def key(self) -> str:
        """The site's name on disk (archive.shards.site_key)."""
        return site_key(self.url)

    def to_dict(self) -> dict[str, Any]:
        """The site as a JSON-safe dict spelled like a `[[site]]` table (keys left at None are
        left out): from_dict(to_dict(site)) == site."""
        values: dict[str, Any] = {
            "url": self.url,
            "tags": self.tags if self.tags == "all" else list(self.tags),
            "name": self.name,
            "contact": self.contact,
            "delay": self.delay,
            "articles": self.articles,
            "full": self.full,
            "refresh_articles": self.refresh_articles,
            "crawlers": self.crawlers,
            "verify": self.verify,
            "warc_max_size": self.warc_max_size,
            "log_level": self.log_level,
            "set": dict(self.settings),
        }
        return {key: value for key, value in values.items() if value is not None}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SiteConfig:
        """The site a `[[site]]`-shaped dict describes (to_dict's output, or a table of a
        sites file), checked as load_sites() checks one; ValueError naming the key if not."""
        try:
            return _site(_values(d, in_defaults=False))
        except _Invalid as exc:
            raise ValueError(exc.message) from None


def load_sites(path: str | Path) -> list[SiteConfig]:
    """The sites of a sites file, in file order, each site's keys over those of [defaults].

    SitesFileError for the first problem found: an unreadable file, text that is not UTF-8 or
    not TOML, a key or table the format does not have, a value of the wrong type or range, a
    site without url or tags (in it or in [defaults]), two entries for one site (the same URL,
    or the same key, as http and https of one host are), or no [[site]] at all.
    """
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SitesFileError(f"{file}: cannot read the sites file: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8-sig")  # a byte order mark is Notepad's, not an error
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SitesFileError(f"{file}, line {line}: not UTF-8 text") from exc
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SitesFileError(f"{file}{_syntax_error(str(exc), text)}") from exc
    lines = text.splitlines()

    for key in document:
        if key not in ("defaults", "site"):
            line = _top_level_line(lines, key)
            raise SitesFileError(
                f"{_at(file, line)}: unknown table {key!r} (a sites file has [defaults] and "
                "[[site]] tables)"
            )
    raw_defaults = document.get("defaults", {})
    defaults_line = _header_line(lines, _DEFAULTS_HEADER, 1)[0]
    if not isinstance(raw_defaults, dict):
        line = _top_level_line(lines, "defaults")
        raise SitesFileError(f"{_at(file, line)}: 'defaults' must be a table, written [defaults]")
    try:
        defaults = _values(raw_defaults, in_defaults=True)
    except _Invalid as exc:
        line = _key_line(lines, exc.key, defaults_line)
        raise SitesFileError(f"{_at(file, line)} ([defaults]): {exc.message}") from None

    raw_sites = document.get("site", [])
    if not isinstance(raw_sites, list) or not all(isinstance(s, dict) for s in raw_sites):
        line = _top_level_line(lines, "site")
        raise SitesFileError(
            f"{_at(file, line)}: 'site' must be an array of tables, each written [[site]]"
        )
    if not raw_sites:
        raise SitesFileError(f"{file}: no sites: add a [[site]] table for each site to crawl")

    site_lines = _header_line(lines, _SITE_HEADER, len(raw_sites))
    sites: list[SiteConfig] = []
    first_by_url: dict[str, int] = {}
    first_by_key: dict[str, int] = {}
    for index, (raw, header) in enumerate(zip(raw_sites, site_lines, strict=True)):
        number = index + 1
        url = raw.get("url")
        label = f"site {number}, {url}" if isinstance(url, str) else f"site {number}"
        try:
            site = _site({**defaults, **_values(raw, in_defaults=False)})
        except _Invalid as exc:
            line = _key_line(lines, exc.key, header)
            raise SitesFileError(f"{_at(file, line)} ({label}): {exc.message}") from None
        for seen, value, what in (
            (first_by_url, site.url, f"both are {site.url}"),
            (first_by_key, site.key, f"both have the key {site.key!r}"),
        ):
            if value in seen:
                first = seen[value]
                first_line = site_lines[first]
                earlier = f"site {first + 1}" + (f" (line {first_line})" if first_line else "")
                raise SitesFileError(
                    f"{_at(file, header)} ({label}): the same site as {earlier}: {what}"
                )
            seen[value] = index
        sites.append(site)
    return sites


class _Invalid(Exception):
    """A bad table: `key` is the key at fault (None: the table as a whole)."""

    def __init__(self, key: str | None, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def _values(table: Mapping[str, Any], *, in_defaults: bool) -> dict[str, Any]:
    """A [defaults] or [[site]] table's values as SiteConfig's attributes, checked key by key
    in the table's order."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key == "url" and in_defaults:
            raise _Invalid(key, "'url' belongs in each [[site]], not in [defaults]")
        if key not in _KEYS:
            known = sorted(k for k in _KEYS if not (in_defaults and k == "url"))
            raise _Invalid(key, f"unknown key {key!r} (known: {', '.join(known)})")
        try:
            values[_ATTRIBUTES.get(key, key)] = _KEYS[key](value)
        except ValueError as exc:
            raise _Invalid(key, f"{key} {exc}") from None
    return values


def _site(values: dict[str, Any]) -> SiteConfig:
    for required in ("url", "tags"):
        if required not in values:
            where = "" if required == "url" else " (give it here or in [defaults])"
            raise _Invalid(None, f"missing key {required!r}{where}")
    return SiteConfig(**values)


# Each key's check and conversion: ValueError("must be ...") for a bad value.


def _url(value: object) -> str:
    bad = ValueError(f"must be an http or https URL, not {value!r}")
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise bad
    try:
        root = site_root(value)  # a bare host name means https, as on the command line
        parts = urlsplit(root)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not one
    except ValueError:
        raise bad from None
    if parts.scheme not in ("http", "https"):
        raise bad
    if parts.username is not None or parts.query or parts.fragment:
        raise ValueError(f"must be a site's URL, without user, query or fragment: {value!r}")
    return root


def _tags(value: object) -> tuple[str, ...] | Literal["all"]:
    if value == "all":
        return "all"
    if isinstance(value, str):
        raise ValueError(f'must be a list of tags or "all", not the string {value!r}')
    if not isinstance(value, list | tuple) or not value:
        raise ValueError(f'must be a non-empty list of tag slugs or URLs, or "all"; not {value!r}')
    for tag in value:
        if not isinstance(tag, str) or not tag.strip() or tag != tag.strip():
            raise ValueError(f"must hold tag slugs or URLs without spaces around them, not {tag!r}")
    return tuple(value)


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a non-empty string, not {value!r}")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {value!r}")
    return value


def _delay(value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"must be a number of seconds, 0 or more, not {value!r}")
    return float(value)


def _whole_number(least: int) -> Callable[[object], int]:
    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"must be a whole number, {least:_} or more, not {value!r}")
        return value

    return check


def _log_level(value: object) -> str:
    if value not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
    return value  # type: ignore[return-value]


def _settings(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise ValueError(f'must be a table of settings, set = {{ NAME = "VALUE" }}, not {value!r}')
    pairs = []
    for name, setting in value.items():
        if not _SETTING_NAME.fullmatch(name):
            raise ValueError(f"has {name!r}, which is not a setting name")
        if isinstance(setting, bool):
            setting = "true" if setting else "false"  # as TOML and JSON spell them
        elif not isinstance(setting, str | int | float):
            raise ValueError(f"{name} must be a string, number or boolean, not {setting!r}")
        pairs.append((name, str(setting)))
    return tuple(pairs)


_KEYS: dict[str, Callable[[object], Any]] = {
    "url": _url,
    "tags": _tags,
    "name": _text,
    "contact": _text,
    "delay": _delay,
    "articles": _flag,
    "full": _flag,
    "refresh_articles": _flag,
    "crawlers": _whole_number(0),
    "verify": _flag,
    "warc_max_size": _whole_number(1_000_000),  # the crawl command's --warc-max-size minimum
    "log_level": _log_level,
    "set": _settings,
}
_ATTRIBUTES = {"set": "settings"}  # `set` is a builtin's name
_SETTING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


# Line numbers: tomllib gives none for a valid document, so they are found in the text.

_SITE_HEADER = re.compile(r"\[\[\s*site\s*\]\]")
_DEFAULTS_HEADER = re.compile(r"\[\s*defaults\s*\]")


def _header_line(lines: list[str], header: re.Pattern[str], count: int) -> list[int | None]:
    """The lines of the `count` headers of a table (or array of tables), in order; all None
    when the text holds another number of them (an inline table, a header in a string)."""
    found: list[int | None] = [n for n, line in enumerate(lines, 1) if header.match(line.strip())]
    return found if len(found) == count else [None] * count


def _key_line(lines: list[str], key: str | None, header: int | None) -> int | None:
    """The line of `key = ...` in the table whose header is on line `header`, else `header`."""
    if key is None or header is None:
        return header
    assignment = re.compile(rf"""(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
    for number in range(header + 1, len(lines) + 1):
        line = lines[number - 1].strip()
        if line.startswith("["):
            break
        if assignment.match(line):
            return number
    return header


def _top_level_line(lines: list[str], key: str) -> int | None:
    """The first line where a top-level key is set or opened as a table, if it is found."""
    name = re.escape(key)
    header = re.compile(rf"\[\[?\s*{name}\s*[\].]")
    assignment = re.compile(rf"{name}\s*[=.]")
    in_root = True
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if header.match(line) or (in_root and assignment.match(line)):
            return number
        in_root = in_root and not line.startswith("[")
    return None


def _at(file: str, line: int | None) -> str:
    return file if line is None else f"{file}, line {line}"


_TOML_POSITION = re.compile(r"(?P<what>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)")


def _syntax_error(message: str, text: str) -> str:
    """tomllib's `what (at line N, column M)` as `, line N, column M: what`."""
    if match := _TOML_POSITION.fullmatch(message):
        return f", line {match['line']}, column {match['column']}: {match['what']}"
    what, end, _ = message.partition(" (at end of document)")
    if end:
        return f", line {len(text.splitlines()) or 1} (the end of the file): {what}"
    return f": {message}"
