"""The archive held against the site's own record, its REST API: a pure comparison.

compare(record, conn) takes what the REST API said (a RestRecord, as fetched by the `verify`
spider, crawler.spiders.rest_verify) and a read-only connection to the database, and returns
findings; it changes nothing. save_findings() stores them, one `verifications` row each,
and report_lines() / summary() print them.

Kinds of finding:
- expected: per tag, how many posts WordPress lists (password-protected ones aside: the
  archive skips them on purpose) and how many the archive holds under it;
- missing: a post WordPress lists that the archive does not hold;
- extra: an article archived under a tag whose list (read whole) does not include it;
- mismatch: a post in both whose title, publication date, URL, tags or categories differ,
  or that the archive marks gone while WordPress still lists it;
- unavailable: what could not be read (the whole API, a page of a list, a malformed entry);
  the comparisons it would have allowed are left out rather than guessed;
- inconsistent: the API contradicts itself (X-WP-Total or a tag's count against the lists it
  returns, a post listed twice, a post listed under a tag its own tags do not include).

Matching: an archived article is a REST post when its wp_post_id is the post's id, else when
one of its URLs equals the post's link, both in one canonical form (w3lib's
canonicalize_url). Only the verified site's articles are considered (the same host:port).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from archive.extract.urls import canonical_url, normal_slug, site_root
from archive.store import Store
from archive.wp_rest import Collection, RestPost, RestTerm

logger = logging.getLogger(__name__)


class Kind(StrEnum):
    EXPECTED = "expected"
    MISSING = "missing"
    EXTRA = "extra"
    MISMATCH = "mismatch"
    UNAVAILABLE = "unavailable"
    INCONSISTENT = "inconsistent"


# Every kind but `expected` says the archive and the site's record do not fully agree.
DISCREPANCIES = (Kind.MISSING, Kind.EXTRA, Kind.MISMATCH, Kind.INCONSISTENT, Kind.UNAVAILABLE)


@dataclass(frozen=True)
class Finding:
    """One `verifications` row (run_id aside). `message` names the post by title and URL."""

    kind: Kind
    message: str
    tag: str | None = None
    url: str | None = None
    wp_post_id: int | None = None
    field: str | None = None
    expected: str | None = None
    archived: str | None = None


@dataclass
class RestRecord:
    """What the REST API said, as fetched; the spider fills it, compare() reads it."""

    site: str  # https://example.com/ (with its trailing slash)
    requested: tuple[str, ...] | None = None  # tag slugs named by --tag; None: every tag
    api: str | None = None  # the root that answered: "/wp-json/" or "?rest_route="
    unavailable: str | None = None  # why the API as a whole could not be read
    tags: Collection = field(default_factory=Collection)  # every tag, or those requested
    posts: dict[int, Collection] = field(default_factory=dict)  # tag id -> its posts
    # taxonomy ("tag", "category") -> lookups by id of the terms the posts name
    lookups: dict[str, list[Collection]] = field(default_factory=dict)

    def known_terms(self, taxonomy: str) -> dict[int, RestTerm]:
        found = self.tags.items() if taxonomy == "tag" else []
        for lookup in self.lookups.get(taxonomy, []):
            found.extend(lookup.items())
        return {term.id: term for term in found}

    def lookups_complete(self, taxonomy: str) -> bool:
        return all(lookup.complete for lookup in self.lookups.get(taxonomy, []))


# --- the archive's side -----------------------------------------------------------------------


@dataclass(frozen=True)
class Archived:
    id: int
    url: str
    wp_post_id: int | None
    title: str | None
    published: str | None
    gone_at: str | None
    last_seen: str | None


class ArchiveIndex:
    """The site's articles, their URLs and terms, read once from the database."""

    def __init__(self, conn: sqlite3.Connection, site: str) -> None:
        host = _netloc(site)
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        site_id = None
        if "sites" in tables:  # schema 6: the site's own articles, whatever their host
            found = conn.execute("SELECT id FROM sites WHERE url = ?", [site_root(site)])
            site_id = (found.fetchone() or (None,))[0]
        self.articles: dict[int, Archived] = {}
        columns = "id, url, wp_post_id, title, published, gone_at, last_seen"
        if site_id is not None:
            rows = conn.execute(f"SELECT {columns} FROM articles WHERE site_id = ?", [site_id])
        else:
            rows = (
                r for r in conn.execute(f"SELECT {columns} FROM articles") if _netloc(r[1]) == host
            )
        for row in rows:
            self.articles[row[0]] = Archived(*row)
        self.by_post_id: dict[int, list[int]] = defaultdict(list)
        self.urls: dict[int, set[str]] = defaultdict(set)
        for article in self.articles.values():
            if article.wp_post_id is not None:
                self.by_post_id[article.wp_post_id].append(article.id)
            self.urls[article.id].add(canonical_url(article.url))
        if "article_urls" in tables:  # every URL an article was known by (schema 5)
            for url, article_id in conn.execute("SELECT url, article_id FROM article_urls"):
                if article_id in self.articles:
                    self.urls[article_id].add(canonical_url(url))
        self.by_url: dict[str, int] = {}
        for article_id, urls in self.urls.items():
            for url in urls:
                self.by_url.setdefault(url, article_id)
        self.tags = self._terms(conn, "article_tags", "tags", "tag_id")
        self.categories = self._terms(conn, "article_categories", "categories", "category_id")
        self.under: dict[str, set[int]] = defaultdict(set)
        for article_id, slugs in self.tags.items():
            for slug in slugs:
                self.under[slug].add(article_id)

    def _terms(
        self, conn: sqlite3.Connection, link_table: str, table: str, key: str
    ) -> dict[int, set[str]]:
        found: dict[int, set[str]] = defaultdict(set)
        rows = conn.execute(
            f"SELECT l.article_id, t.slug FROM [{link_table}] l "
            f"JOIN [{table}] t ON t.id = l.[{key}]"
        )
        for article_id, slug in rows:
            if article_id in self.articles:
                found[article_id].add(normal_slug(slug))
        return found

    @property
    def tag_slugs(self) -> set[str]:
        return {slug for slug, ids in self.under.items() if ids}

    def match(self, post: RestPost) -> Archived | None:
        link = canonical_url(post.link)
        by_id = [self.articles[i] for i in self.by_post_id.get(post.id, [])]
        if len(by_id) > 1:
            # The archive holds the post twice (a changed slug): the one at its current link,
            # else the one seen last; the other is reported as extra where it is filed.
            by_id.sort(key=lambda a: (link in self.urls[a.id], a.last_seen or ""), reverse=True)
        if by_id:
            return by_id[0]
        article_id = self.by_url.get(link)
        if article_id is None:
            return None
        article = self.articles[article_id]
        # A URL now held by another post (a reused slug) is not this post.
        return article if article.wp_post_id in (None, post.id) else None


def tags_to_verify(
    record: RestRecord, archived_slugs: set[str]
) -> list[tuple[str, RestTerm | None]]:
    """(slug, the REST tag or None when WordPress lists no such tag), in slug order.

    --tag: the slugs named. Otherwise every tag with posts (count > 0, or a count the answer
    did not give), every tag the archive files articles under, and, when the tag list was
    read whole, the archive's tags WordPress does not have at all."""
    known = {term.slug: term for term in record.tags.items()}
    if record.requested is not None:
        slugs = dict.fromkeys(normal_slug(s) for s in record.requested if normal_slug(s))
        return [(slug, known.get(slug)) for slug in slugs]
    chosen: dict[str, RestTerm | None] = {
        slug: term
        for slug, term in known.items()
        if term.count is None or term.count > 0 or slug in archived_slugs
    }
    if record.tags.complete:
        chosen.update({slug: None for slug in archived_slugs - set(known)})
    return sorted(chosen.items())


# --- the comparison ---------------------------------------------------------------------------


def compare(
    record: RestRecord, conn: sqlite3.Connection, archive: ArchiveIndex | None = None
) -> list[Finding]:
    """Every finding, per tag in slug order (its `expected` row first), then the site's.

    `archive`: the site's articles as already read from `conn` (the spider reads them to
    choose the tags to verify, and the database does not change meanwhile: it holds the lock).
    """
    if record.unavailable is not None:
        return [
            Finding(
                Kind.UNAVAILABLE,
                f"the REST API of {record.site} is unavailable: {record.unavailable}",
                url=record.site,
            )
        ]
    archive = archive or ArchiveIndex(conn, record.site)
    comparison = _Comparison(record, archive)
    findings = comparison.collection_notes(record.tags, "the tag list", None)
    for slug, term in tags_to_verify(record, archive.tag_slugs):
        findings.extend(comparison.tag(slug, term))
    findings.extend(comparison.term_notes())
    for finding in findings:
        if finding.kind is not Kind.EXPECTED:
            logger.info("verify: %s: %s", finding.kind, finding.message)
    return findings


class _Comparison:
    def __init__(self, record: RestRecord, archive: ArchiveIndex) -> None:
        self.record = record
        self.archive = archive
        self.terms = {t: record.known_terms(t) for t in ("tag", "category")}
        self.checked: set[int] = set()  # posts whose fields were compared (under one tag)
        self.unnamed: dict[str, set[int]] = {"tag": set(), "category": set()}

    def tag(self, slug: str, term: RestTerm | None) -> list[Finding]:
        under = {
            i for i in self.archive.under.get(slug, set()) if not self.archive.articles[i].gone_at
        }
        if term is None:
            return self.unknown_tag(slug, under)
        listing = self.record.posts.get(term.id)
        if listing is None:
            listing = Collection(failures={1: "its posts were not fetched (the run stopped?)"})
        findings = self.collection_notes(listing, f"the posts under tag {slug}", slug)
        posts: dict[int, RestPost] = {}
        for post in listing.items():
            if post.id in posts:
                findings.append(
                    Finding(
                        Kind.INCONSISTENT,
                        f"{_name(post)}: listed twice under tag {slug} (posts published or "
                        "deleted while the list was read shift its pages)",
                        tag=slug,
                        url=post.link,
                        wp_post_id=post.id,
                    )
                )
            posts.setdefault(post.id, post)
        findings.extend(self.counts(slug, term, listing, posts))
        matched: set[int] = set()
        listed = [p for p in posts.values() if not p.protected]
        for post in posts.values():
            article = self.archive.match(post)
            if article is not None:
                matched.add(article.id)
            if post.protected:
                continue  # skipped by the crawl on purpose: neither missing nor checked
            if article is None:
                findings.append(
                    Finding(
                        Kind.MISSING,
                        f"{_name(post)}: WordPress lists it under tag {slug}; the archive does "
                        "not hold it",
                        tag=slug,
                        url=post.link,
                        wp_post_id=post.id,
                        expected=post.title,
                    )
                )
            elif post.id not in self.checked:
                self.checked.add(post.id)
                findings.extend(self.fields(slug, post, article))
        if listing.complete:
            for article_id in sorted(under - matched):
                findings.append(self.extra(slug, self.archive.articles[article_id]))
        protected = len(posts) - len(listed)
        aside = (
            f" (and {protected} password-protected, not archived on purpose)" if protected else ""
        )
        if listing.complete:
            message = (
                f"tag {slug}: WordPress lists {len(listed)} posts{aside}; "
                f"the archive holds {len(under)}"
            )
        else:
            message = (
                f"tag {slug}: WordPress's list could not be read whole: at least {len(listed)} "
                f"posts{aside}; the archive holds {len(under)}"
            )
        expected = Finding(
            Kind.EXPECTED,
            message,
            slug,
            term.link,
            expected=str(len(listed)) if listing.complete else None,
            archived=str(len(under)),
        )
        return [expected, *findings]

    def unknown_tag(self, slug: str, under: set[int]) -> list[Finding]:
        complete = self.record.tags.complete
        unknown = Finding(
            Kind.UNAVAILABLE,
            f"tag {slug}: WordPress's REST API lists no such tag"
            + ("" if complete else " in the part of its tag list that could be read"),
            slug,
        )
        expected = Finding(
            Kind.EXPECTED,
            f"tag {slug}: WordPress lists no such tag; the archive holds {len(under)} articles "
            "under it",
            slug,
            expected="0" if complete else None,
            archived=str(len(under)),
        )
        extras = (
            [self.extra(slug, self.archive.articles[i]) for i in sorted(under)] if complete else []
        )
        return [expected, unknown, *extras]

    def extra(self, slug: str, article: Archived) -> Finding:
        return Finding(
            Kind.EXTRA,
            f"{_name(article)}: archived under tag {slug}, but WordPress does not list it there "
            "(deleted, unpublished, or no longer tagged so)",
            tag=slug,
            url=article.url,
            wp_post_id=article.wp_post_id,
            archived=article.title,
        )

    def counts(
        self, slug: str, term: RestTerm, listing: Collection, posts: dict[int, RestPost]
    ) -> list[Finding]:
        """Where the API's own numbers disagree with the lists it returned."""
        found: list[Finding] = []
        if listing.complete:
            claims = (
                ("X-WP-Total", listing.total, "its X-WP-Total header claims"),
                ("count", term.count, "the tag's count claims"),
            )
            for name, claim, who in claims:
                if claim is not None and claim != len(posts):
                    found.append(
                        Finding(
                            Kind.INCONSISTENT,
                            f"tag {slug}: {who} {claim} posts, but its pages list {len(posts)}",
                            tag=slug,
                            url=term.link,
                            field=name,
                            expected=str(claim),
                            archived=None,
                        )
                    )
        for post in posts.values():
            if post.tags is not None and term.id not in post.tags:
                found.append(
                    Finding(
                        Kind.INCONSISTENT,
                        f"{_name(post)}: listed under tag {slug}, but its own tags do not "
                        f"include that tag (id {term.id})",
                        tag=slug,
                        url=post.link,
                        wp_post_id=post.id,
                        field="tags",
                    )
                )
        return found

    def fields(self, slug: str, post: RestPost, article: Archived) -> list[Finding]:
        found: list[Finding] = []

        def differ(name: str, expected: str | None, archived: str | None, detail: str) -> None:
            found.append(
                Finding(
                    Kind.MISMATCH,
                    f"{_name(post)}: {detail}",
                    tag=slug,
                    url=post.link,
                    wp_post_id=post.id,
                    field=name,
                    expected=expected,
                    archived=archived,
                )
            )

        edited = self.edited_since(post, article)
        if article.gone_at:
            differ(
                "gone_at",
                None,
                article.gone_at,
                f"the archive marks it gone since {article.gone_at}, but WordPress lists it",
            )
        archived_title = " ".join((article.title or "").split())
        if post.title is not None and archived_title != post.title:
            differ(
                "title",
                post.title,
                article.title,
                f"title: WordPress says {post.title!r}, the archive {article.title!r}{edited}",
            )
        published = self.published(post, article)
        if published is not None:
            differ("published", *published)
        link = canonical_url(post.link)
        if link not in self.archive.urls[article.id]:
            differ(
                "url",
                post.link,
                article.url,
                f"WordPress's permalink is now {post.link}; the archive knows it as "
                f"{article.url} (a changed slug?)",
            )
        for taxonomy, ids, archived_slugs in (
            ("tag", post.tags, self.archive.tags.get(article.id, set())),
            ("category", post.categories, self.archive.categories.get(article.id, set())),
        ):
            if ids is None:
                continue
            names = self.terms[taxonomy]
            unnamed = {i for i in ids if i not in names}
            if unnamed:
                self.unnamed[taxonomy] |= unnamed  # reported once, in term_notes()
                continue
            want = {names[i].slug for i in ids}
            if want != archived_slugs:
                plural = "tags" if taxonomy == "tag" else "categories"
                only_wp = ", ".join(sorted(want - archived_slugs)) or "none"
                only_archive = ", ".join(sorted(archived_slugs - want)) or "none"
                differ(
                    plural,
                    ", ".join(sorted(want)),
                    ", ".join(sorted(archived_slugs)),
                    f"{plural}: only on WordPress: {only_wp}; only in the archive: "
                    f"{only_archive}{edited}",
                )
        return found

    @staticmethod
    def published(post: RestPost, article: Archived) -> tuple[str | None, str | None, str] | None:
        """(expected, archived, detail) when the dates differ as instants, to the minute."""
        if post.date_gmt is None:
            return None
        expected = post.date_gmt.isoformat() + "Z"
        if article.published is None:
            return (
                expected,
                None,
                "published: WordPress says " + expected + "; the archive has no date",
            )
        try:
            stored = datetime.fromisoformat(article.published)
        except ValueError:
            return expected, article.published, f"published: {article.published!r} is not a date"
        if stored.tzinfo is not None:
            got, want = stored.astimezone(UTC).replace(tzinfo=None), post.date_gmt
        elif post.date is not None:
            # Printed without an offset: the site's local time, which REST's `date` is.
            got, want, expected = stored, post.date, post.date.isoformat()
        else:
            return None
        if _minute(got) == _minute(want):
            return None
        return (
            expected,
            article.published,
            f"published: WordPress says {expected}, the archive {article.published}",
        )

    @staticmethod
    def edited_since(post: RestPost, article: Archived) -> str:
        """A note when WordPress says the post was modified after the archive last saw it."""
        if post.modified_gmt is None or not article.last_seen:
            return ""
        try:
            seen = datetime.fromisoformat(article.last_seen.replace("Z", "+00:00"))
        except ValueError:
            return ""
        if seen.tzinfo is not None:
            seen = seen.astimezone(UTC).replace(tzinfo=None)
        if post.modified_gmt <= seen:
            return ""
        modified = post.modified_gmt.isoformat()
        return f" (modified on the site at {modified}Z, after the archive last saw it)"

    def collection_notes(self, listing: Collection, what: str, tag: str | None) -> list[Finding]:
        """Pages that could not be read, entries dropped, pages without their headers."""
        found = [
            Finding(
                Kind.UNAVAILABLE,
                f"{what}: page {number} could not be read: {why}",
                tag=tag,
                field="page",
                expected=str(number),
            )
            for number, why in sorted(listing.failures.items())
        ]
        for number, page in sorted(listing.pages.items()):
            found.extend(
                Finding(Kind.UNAVAILABLE, f"{what}: page {number}: {problem}", tag)
                for problem in page.problems
            )
        if listing.headerless:
            found.append(
                Finding(
                    Kind.INCONSISTENT,
                    f"{what}: answered without X-WP-Total / X-WP-TotalPages headers; its pages "
                    "were followed until a short one",
                    tag=tag,
                    field="X-WP-TotalPages",
                )
            )
        return found

    def term_notes(self) -> list[Finding]:
        found: list[Finding] = []
        for taxonomy, lookups in sorted(self.record.lookups.items()):
            what = "the tag lookup" if taxonomy == "tag" else "the category lookup"
            for lookup in lookups:
                found.extend(self.collection_notes(lookup, what, None))
        for taxonomy, ids in sorted(self.unnamed.items()):
            if not ids:
                continue
            plural = "tags" if taxonomy == "tag" else "categories"
            listed = ", ".join(str(i) for i in sorted(ids))
            if self.record.lookups_complete(taxonomy) and self.record.lookups.get(taxonomy):
                kind, why = Kind.INCONSISTENT, "the API's own term list does not have them"
            else:
                kind, why = Kind.UNAVAILABLE, "they could not be looked up"
            found.append(
                Finding(
                    kind,
                    f"{plural} {listed} are named by posts, but {why}: those posts' {plural} "
                    "were not compared",
                    field=plural,
                )
            )
        return found


def read_only(db_path: str | Path) -> contextlib.closing[sqlite3.Connection]:
    """A connection that cannot write: verification only reads the archive."""
    uri = Path(db_path).resolve().as_uri() + "?mode=ro"
    return contextlib.closing(sqlite3.connect(uri, uri=True))


# --- results ----------------------------------------------------------------------------------


def save_findings(store: Store, run_id: int, findings: Iterable[Finding]) -> int:
    """One verifications row per finding, tied to the run, in one transaction. Nothing else
    is written: verification never changes an article."""
    rows = [
        (
            run_id,
            f.kind.value,
            f.tag,
            f.url,
            f.wp_post_id,
            f.field,
            f.expected,
            f.archived,
            f.message,
        )
        for f in findings
    ]
    with store.writing(), store.transaction():
        store.conn.executemany(
            "INSERT INTO verifications (run_id, kind, tag, url, wp_post_id, field, expected, "
            "archived, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return len(rows)


def unavailable(findings: list[Finding]) -> bool:
    """The REST API as a whole could not be read: nothing was compared."""
    return len(findings) == 1 and findings[0].kind is Kind.UNAVAILABLE and findings[0].tag is None


def discrepancies(findings: Iterable[Finding]) -> int:
    return sum(1 for f in findings if f.kind in DISCREPANCIES)


def report_lines(findings: list[Finding]) -> list[str]:
    """Per tag: its expected line, then one line per finding; then the site-wide findings."""
    lines: list[str] = []
    site_wide = [f for f in findings if f.tag is None]
    for finding in findings:
        if finding.tag is None:
            continue
        if finding.kind is Kind.EXPECTED:
            expected = finding.expected if finding.expected is not None else "?"
            lines.append(f"tag {finding.tag}: expected {expected}, archived {finding.archived}")
        else:
            lines.append(f"  {finding.kind}: {finding.message}")
    if site_wide:
        lines.append("site:" if lines else "")
        lines.extend(f"  {f.kind}: {f.message}" for f in site_wide)
    return [line for line in lines if line]


def summary(findings: list[Finding]) -> str:
    if unavailable(findings):
        return f"verify: UNAVAILABLE: {findings[0].message}"
    counts = Counter(f.kind for f in findings)
    tags = counts[Kind.EXPECTED]
    listed = sum(int(f.expected) for f in findings if f.kind is Kind.EXPECTED and f.expected)
    parts = ", ".join(f"{counts[kind]} {kind}" for kind in DISCREPANCIES)
    verdict = "DISCREPANCIES" if discrepancies(findings) else "the archive matches"
    return f"verify: {tags} tags, {listed} posts listed under them: {parts}; {verdict}"


def _name(post: RestPost | Archived) -> str:
    title = post.title or "(untitled)"
    post_id = post.id if isinstance(post, RestPost) else post.wp_post_id
    suffix = f", post {post_id}" if post_id is not None else ""
    url = post.link if isinstance(post, RestPost) else post.url
    return f'"{title}" <{url}>{suffix}'


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _netloc(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        port = None
    return host if port in (None, default) else f"{host}:{port}"
