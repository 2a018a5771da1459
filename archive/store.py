"""The SQLite store: captures and Article records in, rows out. One transaction per batch.

An article is identified by its permalink, in one canonical form (archive.extract.urls), and
by its WordPress post ID: a post whose permalink changed (a new slug; WordPress redirects the
old one) stays one row, its current URL in `articles.url` and every URL it was known by in
`article_urls`. A permalink claimed by two post IDs is a conflict, reported and not stored.
It may be observed several times in one crawl (under several tags, and on its own page);
observations merge into one row:
- its own page (Source.SINGLE) is authoritative; an archive block only fills blanks in a row
  that a single page wrote, so the order in which pages arrive never changes the result;
- tags and categories accumulate (article_tags / article_categories);
- the archive block's own kind of text and digest (archive_content, archive_sha256) follow
  the latest archive observation, so an incremental crawl compares like with like;
- sections, items, images and links are replaced only when the content's hash changes.
Re-storing what is already there changes nothing but the last_seen columns.

Provenance: every article row names the capture (the WARC response record) its current
content was extracted from. That capture's row is committed before the article's.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import sqlite_utils

from archive.errors import StoreError
from archive.extract import EXTRACTOR_VERSION
from archive.extract.urls import html_class_form, site_root
from archive.known_articles import KnownArticles
from archive.records import Content, ContentKind, Observed, Source, Term
from archive.schema import SEARCHED, TERM_TABLES, ensure_schema
from archive.warc.files import RecordLocation
from archive.write_turns import WriteTurns

METADATA_FIELDS = (
    "wp_post_id",
    "title",
    "published",
    "published_source",
    "modified",
    "modified_source",
    "author",
)
# What merging an observation into a stored article needs (not the stored HTML or text).
_ARTICLE_COLUMNS = (
    "id",
    *METADATA_FIELDS,
    "content_sha256",
    "record_source",
    "capture_id",
    "gone_at",
    "archive_content",
    "archive_sha256",
)
# The stored article an observation of `url` is: the one known by that URL (its current or
# an earlier one), else the one with this post ID (the same post under a new permalink); and
# whether `url` is one it is known by. One statement, each part an index lookup.
#
# "+site_id" in a lookup by post ID: without statistics (no ANALYZE) SQLite prefers the
# equality on site_id to the post ID, and would read every article of the site for each
# lookup (25 ms at 30,000 articles, growing with the archive) instead of the few with that
# post ID; the unary plus keeps the site_id index out of the choice.
_LOOKUP = (
    f"SELECT {', '.join(_ARTICLE_COLUMNS)}, url, "
    "(SELECT 1 FROM article_urls WHERE url = :url) FROM articles WHERE id = coalesce("
    "(SELECT article_id FROM article_urls WHERE url = :url), "
    "(SELECT id FROM articles WHERE url = :url), "
    "(SELECT id FROM articles WHERE wp_post_id = :post_id AND +site_id IS :site "
    "ORDER BY id LIMIT 1))"
)
_INSERTED_COLUMNS = (
    "url",
    *METADATA_FIELDS,
    "content_html",
    "content_text",
    "word_count",
    "content_sha256",
    "archive_content",
    "archive_sha256",
    "record_source",
    "capture_id",
    "extractor_version",
    "first_seen",
    "last_seen",
    "site_id",
)
_INSERT_ARTICLE = (
    f"INSERT INTO articles ({', '.join(_INSERTED_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_INSERTED_COLUMNS))})"
)
_NOTE_URL = (
    "INSERT INTO article_urls (url, article_id, first_seen, last_seen) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (url) DO UPDATE SET last_seen = excluded.last_seen"
)
# Rows a batch writes at its end (see Store._write_deferred), in this order: parents before
# the rows that name them.
_INSERT_SECTION = (
    "INSERT INTO sections (id, article_id, position, heading, level, text) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_ITEM = "INSERT INTO section_items (section_id, position, depth, text) VALUES (?, ?, ?, ?)"
_INSERT_IMAGE = "INSERT INTO images (article_id, position, src, alt) VALUES (?, ?, ?, ?)"
_INSERT_LINK = "INSERT INTO links (article_id, position, url, text) VALUES (?, ?, ?, ?)"
_INSERT_VERSION = (
    "INSERT INTO article_versions (article_id, content_sha256, title, content_text, "
    "first_seen, last_seen, capture_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_LINK_TERM = {
    taxonomy: f"INSERT INTO [{link_table}] (article_id, [{key}], first_seen, last_seen) "
    f"VALUES (?, ?, ?, ?) ON CONFLICT (article_id, [{key}]) "
    "DO UPDATE SET last_seen = excluded.last_seen"
    for taxonomy, (_table, link_table, key) in TERM_TABLES.items()
}
# Values bound in one statement: well under SQLite's limit (32,766 since 3.32).
_PARAMS_PER_QUERY = 500
_DEFERRED = (
    _INSERT_SECTION,
    _INSERT_ITEM,
    _INSERT_IMAGE,
    _INSERT_LINK,
    _INSERT_VERSION,
    *_LINK_TERM.values(),
)


class Outcome(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"  # its permalink belongs to another post ID: not stored


@dataclass(frozen=True)
class Saved:
    url: str
    article_id: int
    outcome: Outcome


class Store:
    """`durable`: every commit survives power loss too (fsync per commit). Without it a
    commit survives a crash of the process, and a power cut can lose the last few; WAL
    keeps the database consistent either way."""

    def __init__(
        self,
        path: str | Path,
        *,
        durable: bool = False,
        site: str | None = None,
        write_turns: str | Path | None = None,
    ) -> None:
        """Open (or create) the database at `path`, ready to write; `site`: the site what
        it writes belongs to (use_site); `write_turns`: a directory of lock files through
        which this store's transactions take turns with those of the other processes
        writing the database with the same directory (archive.write_turns).

        Raises StoreError naming the path: a file or directory that cannot be written (the
        store writes; SQLite also creates PATH-wal and PATH-shm beside the file), or a file
        that is not a database of ours."""
        _refuse_unwritable(Path(path))
        self._turns = WriteTurns(write_turns) if write_turns is not None else None
        try:
            self.db = sqlite_utils.Database(path)
            self.conn = self.db.conn
            self._terms: dict[tuple[str, str], tuple[int, str | None, str | None]] = {}
            self._indexed: dict[str, int] = {}
            self._bulk = False
            self._fresh = False  # articles or sections written since _index_new_rows()
            self._deferred: dict[str, list[tuple]] = {sql: [] for sql in _DEFERRED}
            self._deferred_for: set[int] = set()  # articles with rows in _deferred
            self._next_section_id: int | None = None
            # URLs and post IDs an observation of this batch may be stored under (_may_be_stored)
            self._known_urls: set[str] = set()
            self._known_posts: set[int] = set()
            # WAL: readers (Datasette, a researcher's notebook) never block the crawl's writes.
            self.db.enable_wal()
            self.db.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA busy_timeout = 10000")
            ensure_schema(self.db)
            # The site the rows written belong to (use_site); None only for a caller that
            # writes no site's rows, or a test.
            self.site_id: int | None = None
            if site is not None:
                self.use_site(site)
        except sqlite3.DatabaseError as exc:
            if self._turns is not None:
                self._turns.close()
            raise StoreError(f"cannot open {path} as a SQLite database: {_explain(exc)}") from exc

    def use_site(self, url: str, name: str | None = None) -> int:
        """From now on, what this store writes (runs, captures, articles, terms) is the
        site's at `url` (normalised: archive.extract.urls.site_root), added to `sites` if new.
        Returns its id. Terms are looked up within the site: two blogs' `ai` tags are two."""
        root = _site_url(url)
        with self.writing(), self.transaction():
            self.conn.execute("INSERT OR IGNORE INTO sites (url) VALUES (?)", [root])
            if name is not None:
                self.conn.execute("UPDATE sites SET name = ? WHERE url = ?", [name, root])
        self.site_id = self.site_id_of(root)
        self._terms.clear()
        return self.site_id

    def site_id_of(self, url: str) -> int | None:
        """The id of the site at `url` (normalised), or None when the database has none."""
        row = self.conn.execute("SELECT id FROM sites WHERE url = ?", [_site_url(url)]).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self.db.close()
        if self._turns is not None:
            self._turns.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction, or a savepoint inside one already open.

        BEGIN IMMEDIATE takes the write lock first, waiting (busy_timeout) while another
        connection writes. A deferred BEGIN would read first and then fail outright with
        "database is locked" if another connection committed meanwhile (another writer:
        the crawl's components each have their own connection, a researcher's script).
        """
        if self.conn.in_transaction:
            with self.db.atomic():  # sqlite-utils nests it as a savepoint
                yield
            return
        with self._turns.turn() if self._turns is not None else nullcontext():
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.rollback()  # a no-op if the error already ended the transaction
                raise

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_capture(
        self,
        location: RecordLocation,
        *,
        url: str,
        status: int,
        fetched_at: str,
        content_type: str | None,
        capture_id: int | None = None,
        **extra: object,
    ) -> int:
        """Record a WARC response (or revisit) record already written and flushed; commit now.

        capture_id: given by a caller that numbers captures ahead (see next_capture_id).
        extra: run_id, revisit_of, warc_date, etag, last_modified.
        """
        with self.writing(), self.transaction():
            return self._insert_row(
                "captures",
                _capture_row(location, url, status, fetched_at, content_type, capture_id, extra)
                | {"site_id": self.site_id},
            )

    def add_captures(self, captures: Iterable[tuple[RecordLocation, dict]]) -> None:
        """add_capture(location, **fields) for each, in one transaction (or in the caller's:
        archive.run_ledger.save_observed commits captures with the articles that name them)."""
        with self.writing(), self.transaction():
            for location, fields in captures:
                fields = dict(fields)
                self._insert_row(
                    "captures",
                    _capture_row(
                        location,
                        fields.pop("url"),
                        fields.pop("status"),
                        fields.pop("fetched_at"),
                        fields.pop("content_type"),
                        fields.pop("capture_id", None),
                        fields,
                    )
                    | {"site_id": self.site_id},
                )

    def save(self, batch: Iterable[Observed], seen_at: str) -> list[Saved]:
        """Write a batch in one transaction: all of it is committed, or none of it.
        Returns one Saved per observation, in the batch's order."""
        batch = list(batch)
        with self.writing(), self.transaction():
            # Whatever an earlier, failed batch left here was rolled back with it.
            for rows in self._deferred.values():
                rows.clear()
            self._deferred_for.clear()
            self._next_section_id = None
            if not self._bulk:
                self._indexed = self._last_rowids()
                self._fresh = False
            self._may_be_stored(batch)
            saved = [self._save_one(observed, seen_at) for observed in batch]
            if self._bulk:
                self._write_deferred()
            else:
                self._index_new_rows()
            return saved

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """One transaction around many batches (re-extraction), their new rows indexed once
        at its end: FTS5 writes out what it holds at every savepoint, so indexing batch by
        batch inside one transaction would cost as much as committing each."""
        try:
            with self.writing(), self.transaction():
                self._bulk = True
                self._indexed = self._last_rowids()
                self._fresh = False
                yield
                self._index_new_rows()
        finally:
            self._bulk = False

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Around a write on this store's connection, the store's own or a caller's in the
        same transaction (archive.run_ledger): SQLite's errors become StoreError, and term ids
        cached in a rolled-back transaction are void."""
        try:
            yield
        except sqlite3.Error as exc:
            self._terms.clear()
            raise StoreError(f"writing to the database failed: {_explain(exc)}") from exc

    # --- the search index -------------------------------------------------------------------
    # New articles and sections are indexed once per batch, by one INSERT ... SELECT per
    # table, not row by row (a trigger per insert, as costly as everything else stored).
    # Invariant within a batch: rows up to self._indexed[table] are in the index, rows above
    # it are not yet. The delete and update triggers act on indexed rows only, so every path
    # that may delete or re-index a row first indexes what is pending.

    def _last_rowids(self) -> dict[str, int]:
        return {
            table: self.conn.execute(f"SELECT coalesce(max(rowid), 0) FROM [{table}]").fetchone()[0]
            for table in SEARCHED
        }

    def _index_new_rows(self) -> None:
        """Deferred rows written, new articles and sections indexed."""
        self._write_deferred()
        if not self._fresh:
            return
        for table, columns in SEARCHED.items():
            names = ", ".join(f"[{c}]" for c in columns)
            self.conn.execute(
                f"INSERT INTO [{table}_fts] (rowid, {names}) "
                f"SELECT rowid, {names} FROM [{table}] WHERE rowid > ?",
                [self._indexed[table]],
            )
        self._indexed = self._last_rowids()
        self._fresh = False

    # The write path runs per article and per part, thousands of times a crawl: it uses
    # prepared statements on the connection directly. sqlite-utils' Table.insert() reads the
    # table's columns (PRAGMA table_info) on every call, which costs more than the inserts.
    #
    # Rows that the batch's own statements do not read back (parts, versions, term links)
    # wait in self._deferred and are written a table at a time by executemany(), which costs
    # about half as much a row as execute(). Each table's rows keep their order, and a
    # section's id is the one SQLite would give it (the largest rowid plus one), so the tables
    # end up exactly as if every row had been written at once. Whatever reads or deletes such
    # rows, or has rowids given out after a delete, writes them first.

    def _write_deferred(self) -> None:
        for sql, rows in self._deferred.items():
            if rows:
                self.conn.executemany(sql, rows)
                rows.clear()
        self._deferred_for.clear()

    def _may_be_stored(self, batch: list[Observed]) -> None:
        """Which of the batch's URLs and post IDs the database knows, read for the whole
        batch at once: an observation known by neither is new, without a lookup of its own.
        What the batch writes is added as it is written (_save_one), so the sets always
        hold every URL and post ID of the batch that _stored() could find."""
        conn = self.conn
        urls = list({observed.article.url for observed in batch})
        posts = list({observed.article.wp_post_id for observed in batch} - {None})
        self._known_urls, self._known_posts = set(), set()
        for start in range(0, len(urls), _PARAMS_PER_QUERY):
            chunk = urls[start : start + _PARAMS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            self._known_urls.update(
                url
                for (url,) in conn.execute(
                    f"SELECT url FROM article_urls WHERE url IN ({marks}) "
                    f"UNION ALL SELECT url FROM articles WHERE url IN ({marks})",
                    chunk * 2,
                )
            )
        for start in range(0, len(posts), _PARAMS_PER_QUERY):
            chunk = posts[start : start + _PARAMS_PER_QUERY]
            self._known_posts.update(
                post_id
                for (post_id,) in conn.execute(
                    "SELECT wp_post_id FROM articles "
                    f"WHERE wp_post_id IN ({', '.join('?' * len(chunk))}) AND +site_id IS ?",
                    [*chunk, self.site_id],
                )
            )

    def _save_one(self, observed: Observed, seen_at: str) -> Saved:
        article = observed.article
        if article.url in self._known_urls or article.wp_post_id in self._known_posts:
            row = self._stored(article.url, article.wp_post_id)
        else:
            row = None
        if row is None:
            article_id = self._insert(observed, seen_at)
            outcome = Outcome.NEW
        elif (
            article.wp_post_id is not None
            and row["wp_post_id"] is not None
            and row["wp_post_id"] != article.wp_post_id
        ):
            return Saved(article.url, row["id"], Outcome.CONFLICT)
        else:
            article_id, outcome = self._merge(row, observed, seen_at)
        # Read back by the next observation's lookup: written now, not deferred.
        self.conn.execute(_NOTE_URL, (article.url, article_id, seen_at, seen_at))
        self._known_urls.add(article.url)
        if article.wp_post_id is not None:
            # inserted with it, or merged into a row it is now written to (or already was)
            self._known_posts.add(article.wp_post_id)
        for taxonomy, terms in (("tag", article.tags), ("category", article.categories)):
            self._link_terms(article_id, taxonomy, terms, seen_at)
        return Saved(article.url, article_id, outcome)

    def _stored(self, url: str, wp_post_id: int | None) -> dict | None:
        """The stored article `url` names (its current or an earlier URL), else the one
        with this post ID: the same post under a new permalink. Its "known_url": whether
        `url` is one of its URLs already."""
        found = self.conn.execute(
            _LOOKUP, {"url": url, "post_id": wp_post_id, "site": self.site_id}
        ).fetchone()
        if found is None:
            return None
        return dict(zip((*_ARTICLE_COLUMNS, "url", "known_url"), found, strict=True))

    def _insert(self, observed: Observed, seen_at: str) -> int:
        article = observed.article
        content = article.content
        archive = _archive_columns(observed, None)
        row = (
            article.url,
            *[getattr(article, name) for name in METADATA_FIELDS],
            *_content_columns(content).values(),
            archive.get("archive_content"),
            archive.get("archive_sha256"),
            article.source.value,
            observed.capture_id,
            EXTRACTOR_VERSION,
            seen_at,
            seen_at,
            self.site_id,
        )
        article_id = self.conn.execute(_INSERT_ARTICLE, row).lastrowid
        self._fresh = True
        if content is not None:
            self._write_parts(article_id, content)
        self._new_version(
            article_id,
            content.sha256 if content else None,
            article.title,
            content.text if content else None,
            observed.capture_id,
            seen_at,
        )
        return article_id

    def _insert_row(self, table: str, row: dict) -> int:
        """`table` and the keys of `row` are this module's own names, never input."""
        columns = ", ".join(row)
        marks = ", ".join("?" * len(row))
        sql = f"INSERT INTO [{table}] ({columns}) VALUES ({marks})"
        return self.conn.execute(sql, list(row.values())).lastrowid

    def _new_version(
        self,
        article_id: int,
        content_sha256: str | None,
        title: str | None,
        content_text: str | None,
        capture_id: int | None,
        seen_at: str,
    ) -> None:
        """The article's columns as just written (no need to read them back), deferred."""
        self._deferred[_INSERT_VERSION].append(
            (article_id, content_sha256, title, content_text, seen_at, seen_at, capture_id)
        )
        self._deferred_for.add(article_id)

    def _merge(self, row: dict, observed: Observed, seen_at: str) -> tuple[int, Outcome]:
        article = observed.article
        authoritative = article.source is Source.SINGLE or row["record_source"] == Source.ARCHIVE
        updates: dict = {"last_seen": seen_at, **_archive_columns(observed, row)}
        if article.url != row["url"] and not row["known_url"]:
            # The post's permalink changed: the row follows it; the old URL stays known.
            updates["url"] = article.url
        for name in METADATA_FIELDS:
            value = getattr(article, name)
            if value is not None and (row[name] is None or authoritative) and value != row[name]:
                updates[name] = value
        content = article.content
        content_changed = (
            content is not None
            and (row["content_sha256"] is None or authoritative)
            and content.sha256 != row["content_sha256"]
        )
        if content_changed or "title" in updates:
            # The update re-indexes this row (the articles_au trigger) and the delete
            # un-indexes its sections (a delete trigger): they must be in the index first.
            self._index_new_rows()
        if content_changed:
            updates.update(_content_columns(content))
            self._delete_parts(row["id"])
            self._write_parts(row["id"], content)
        upgraded = authoritative and row["record_source"] != article.source.value
        if upgraded:
            updates["record_source"] = article.source.value
        # The row points at the capture its current values came from (its text, and its
        # title, dates and author: a retitled post's new version names the page that shows
        # the new title); a re-crawl of what is unchanged keeps pointing at the first one.
        metadata_changed = any(name in updates for name in METADATA_FIELDS)
        if observed.capture_id is not None and (
            content_changed or upgraded or metadata_changed or row["capture_id"] is None
        ):
            updates["capture_id"] = observed.capture_id
        bookkeeping = {"last_seen", "record_source", "archive_content", "archive_sha256"}
        if content_changed or set(updates) - bookkeeping:
            updates["extractor_version"] = EXTRACTOR_VERSION
        if row.get("gone_at"):
            updates["gone_at"] = None  # it answers again
        assignments = ", ".join(f"{name} = ?" for name in updates)
        self.conn.execute(
            f"UPDATE articles SET {assignments} WHERE id = ?", [*updates.values(), row["id"]]
        )
        changed = content_changed or "title" in updates
        if changed:
            # An edit: the old version stays in article_versions; this is the new one.
            current = {**row, **updates}
            if "content_text" not in current:
                current["content_text"] = self.conn.execute(
                    "SELECT content_text FROM articles WHERE id = ?", [row["id"]]
                ).fetchone()[0]
            self._new_version(
                row["id"],
                current["content_sha256"],
                current["title"],
                current["content_text"],
                current["capture_id"],
                seen_at,
            )
        else:
            if row["id"] in self._deferred_for:
                self._write_deferred()  # its latest version may be waiting there
            self.conn.execute(
                "UPDATE article_versions SET last_seen = ? WHERE id = "
                "(SELECT max(id) FROM article_versions WHERE article_id = ?)",
                (seen_at, row["id"]),
            )
        return row["id"], Outcome.CHANGED if changed else Outcome.UNCHANGED

    # --- what an incremental crawl needs to know ---------------------------------------------

    def known_articles(self, before: str | None = None, site: str | None = None) -> KnownArticles:
        """Every URL a stored article is known by -> (content hash, record_source, archive
        block hash), as of now; `before`: only articles first seen before that time (a run's
        start, when the run's other crawler processes may have stored some since); `site`:
        only that site's articles."""
        site_id = self.site_id_of(site) if site is not None else None
        try:
            rows = self.db.execute(
                "SELECT u.url, a.content_sha256, a.record_source, a.archive_sha256 "
                "FROM article_urls u JOIN articles a ON a.id = u.article_id "
                "WHERE (? IS NULL OR a.first_seen < ?) AND (? IS NULL OR a.site_id = ?)",
                [before, before, site, site_id],
            )
        except sqlite3.Error as exc:
            raise StoreError(f"reading the stored articles failed: {_explain(exc)}") from exc
        return KnownArticles(rows)

    def previous_run_finished(self, run_id: int | None) -> bool:
        """Did the run before `run_id` end normally? (No earlier run counts as yes.)"""
        row = self.db.execute(
            "SELECT status FROM runs WHERE id < coalesce(?, 1 << 62) "
            "AND site_id IS (SELECT site_id FROM runs WHERE id = ?) ORDER BY id DESC LIMIT 1",
            [run_id, run_id],
        ).fetchone()
        return row is None or row[0] == "finished"

    def next_capture_id(self) -> int:
        """The id the next capture row would get. A crawl, alone on its database (the run
        lock), numbers its captures from here without waiting for each row to be written."""
        return self.db.execute("SELECT coalesce(max(id), 0) + 1 FROM captures").fetchone()[0]

    def original_capture(self, url: str, payload_digest: str) -> dict | None:
        """The earlier full capture of `url` with this exact payload, for a revisit record."""
        rows = self.db.query(
            "SELECT id, url, warc_record_id, warc_date, payload_digest FROM captures "
            "WHERE url = ? AND payload_digest = ? AND revisit_of IS NULL "
            "AND warc_date IS NOT NULL ORDER BY id LIMIT 1",
            [url, payload_digest],
        )
        return next(iter(rows), None)

    def validators(self, url: str, before_run: int | None = None) -> dict | None:
        """The latest full 200 capture of `url` that came with an ETag or Last-Modified;
        `before_run`: by a run before that one."""
        rows = self.db.query(
            "SELECT id, url, warc_record_id, warc_date, payload_digest, etag, last_modified, "
            "warc_file, warc_offset FROM captures WHERE url = ? AND status = 200 "
            "AND revisit_of IS NULL AND (etag IS NOT NULL OR last_modified IS NOT NULL) "
            "AND (? IS NULL OR run_id IS NULL OR run_id < ?) "
            "ORDER BY id DESC LIMIT 1",
            [url, before_run, before_run],
        )
        return next(iter(rows), None)

    def mark_gone(self, url: str, at: str) -> bool:
        """An article whose permalink answers 404/410: marked, never deleted."""
        with self.transaction():
            cursor = self.db.execute(
                "UPDATE articles SET gone_at = ? WHERE url = ? AND gone_at IS NULL", [at, url]
            )
        return cursor.rowcount > 0

    # --- runs -------------------------------------------------------------------------------

    def start_run(self, **fields: object) -> int:
        with self.transaction():
            # A run still "running" once the lock is free again died without closing.
            self.db.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
            return (
                self.db["runs"]
                .insert(
                    {"status": "running", "site_id": self.site_id, "uuid": uuid.uuid4().hex}
                    | fields
                )
                .last_pk
            )

    def finish_run(self, run_id: int, **fields: object) -> None:
        with self.transaction():
            self.db["runs"].update(run_id, fields)

    def _link_terms(
        self, article_id: int, taxonomy: str, terms: Iterable[Term], seen_at: str
    ) -> None:
        table = TERM_TABLES[taxonomy][0]
        links = self._deferred[_LINK_TERM[taxonomy]]
        for term in terms:
            links.append((article_id, self._term_id(taxonomy, table, term), seen_at, seen_at))

    def _term_id(self, taxonomy: str, table: str, term: Term) -> int:
        """The term's row id; its name and URL are filled in or corrected when `term` knows
        them. A crawl sees the same few terms on every page: they are cached per store.

        A term known only from a class (Term.from_class) is the stored term whose slug
        prints as that class, if there is one; a term read from a link takes over the row
        its class form made before (one with neither name nor URL), so a non-ASCII tag
        stays one row whichever page showed it first."""
        cached = self._terms.get((taxonomy, term.slug))
        if cached is not None and term.name in (None, cached[1]) and term.url in (None, cached[2]):
            return cached[0]  # nothing to fill in or correct
        if cached is None:
            found = self.conn.execute(
                f"SELECT id, name, url FROM [{table}] WHERE site_id IS ? AND slug = ?",
                [self.site_id, term.slug],
            ).fetchone()
            printed = html_class_form(term.slug)
            if found is None and term.from_class:
                found = self._term_by_class_form(table, term.slug)
            elif found is None and printed != term.slug:
                found = self.conn.execute(
                    f"SELECT id, name, url FROM [{table}] WHERE site_id IS ? AND slug = ? "
                    "AND name IS NULL AND url IS NULL",
                    [self.site_id, printed],
                ).fetchone()
                if found is not None:
                    self.conn.execute(
                        f"UPDATE [{table}] SET slug = ? WHERE id = ?", [term.slug, found[0]]
                    )
            if found is None:
                found = (
                    self._insert_row(
                        table,
                        {
                            "slug": term.slug,
                            "name": term.name,
                            "url": term.url,
                            "site_id": self.site_id,
                        },
                    ),
                    term.name,
                    term.url,
                )
            cached = found
        term_id, name, url = cached
        stored = {"name": name, "url": url}
        updates = {
            key: value
            for key, value in (("name", term.name), ("url", term.url))
            if value is not None and value != stored[key]
        }
        if updates:
            assignments = ", ".join(f"{key} = ?" for key in updates)
            self.conn.execute(
                f"UPDATE [{table}] SET {assignments} WHERE id = ?", [*updates.values(), term_id]
            )
            stored.update(updates)
        self._terms[(taxonomy, term.slug)] = (term_id, stored["name"], stored["url"])
        return term_id

    def _term_by_class_form(self, table: str, printed: str) -> tuple | None:
        """The stored term whose slug html_class_form() prints as `printed`."""
        for term_id, slug, name, url in self.conn.execute(
            f"SELECT id, slug, name, url FROM [{table}] WHERE site_id IS ? AND slug != ?",
            [self.site_id, printed],
        ):
            if html_class_form(slug) == printed:
                return term_id, name, url
        return None

    def _write_parts(self, article_id: int, content: Content) -> None:
        """Deferred (see _defer), a section under the id SQLite would have given it."""
        deferred = self._deferred
        sections, items = deferred[_INSERT_SECTION], deferred[_INSERT_ITEM]
        section_id = self._next_section_id
        if section_id is None:
            section_id = self.conn.execute(
                "SELECT coalesce(max(rowid), 0) + 1 FROM sections"
            ).fetchone()[0]
        for section in content.sections:
            sections.append(
                (
                    section_id,
                    article_id,
                    section.position,
                    section.heading,
                    section.level,
                    section.text,
                )
            )
            items.extend((section_id, i.position, i.depth, i.text) for i in section.items)
            section_id += 1
        self._next_section_id = section_id
        deferred[_INSERT_IMAGE].extend(
            (article_id, n, image.src, image.alt) for n, image in enumerate(content.images)
        )
        deferred[_INSERT_LINK].extend(
            (article_id, n, link.url, link.text) for n, link in enumerate(content.links)
        )
        self._deferred_for.add(article_id)
        self._fresh = True

    def _delete_parts(self, article_id: int) -> None:
        """Only after _index_new_rows(): the delete trigger removes rows from the index, and
        what was deferred is written, so rowids are given out as if it had been at once."""
        self.conn.execute(
            "DELETE FROM section_items WHERE section_id IN "
            "(SELECT id FROM sections WHERE article_id = ?)",
            [article_id],
        )
        for table in ("sections", "images", "links"):
            self.conn.execute(f"DELETE FROM [{table}] WHERE article_id = ?", [article_id])
        # SQLite reuses the rowids of deleted rows at the top: the mark comes down with them.
        self._indexed = self._last_rowids()
        self._next_section_id = None


def _content_columns(content: Content | None) -> dict:
    if content is None:
        return {
            "content_html": None,
            "content_text": None,
            "word_count": None,
            "content_sha256": None,
        }
    return {
        "content_html": content.html,
        "content_text": content.text,
        "word_count": content.word_count,
        "content_sha256": content.sha256,
    }


def _archive_columns(observed: Observed, row: dict | None) -> dict:
    """What the archive block gave, from an archive observation. A block that looked full but
    whose text is not the article page's is an excerpt after all: the_excerpt() of a short
    post shows every word, flattened into one paragraph, on a page with no other excerpt to
    tell it by. The article's own page settles it, whichever of the two is seen first."""
    article = observed.article
    content = article.content
    if article.source is Source.ARCHIVE:
        kind = article.content_kind
        single = row is not None and row["record_source"] == Source.SINGLE
        if (
            kind is ContentKind.FULL
            and single
            and content
            and content.sha256 != row["content_sha256"]
        ):
            kind = ContentKind.EXCERPT
        return {
            "archive_content": kind.value,
            "archive_sha256": content.sha256 if content else None,
        }
    if (
        row is not None
        and row["archive_content"] == ContentKind.FULL
        and content is not None
        and row["archive_sha256"] not in (None, content.sha256)
    ):
        return {"archive_content": ContentKind.EXCERPT.value}
    return {}


def _site_url(url: str) -> str:
    try:
        return site_root(url)
    except ValueError as exc:
        raise StoreError(str(exc)) from exc


def _explain(exc: sqlite3.Error) -> str:
    """SQLite reports a full disk or a file-size limit as a bare I/O error, and a file it
    could only open read-only as a "readonly database": say what to check."""
    text = str(exc)
    if "disk I/O error" in text or "disk is full" in text:
        return f"{text} (is the disk full, or a file size limit reached?)"
    if "readonly database" in text:
        return f"{text} (is the file or its directory not writable?)"
    return text


def _refuse_unwritable(path: Path) -> None:
    """StoreError when the database, or the directory SQLite writes its -wal and -shm files
    to, cannot be written: a read-only mount, an immutable file, missing permissions. Without
    this SQLite says "unable to open database file", or opens read-only and fails at the
    first write, mid-crawl. os.access answers for root too on read-only mounts and
    immutable files, which chmod does not stop."""
    directory = path.parent if str(path.parent) else Path(".")
    if path.exists() and not os.access(path, os.W_OK):
        raise StoreError(f"{path} is not writable: the database must be, to archive into it")
    if directory.is_dir() and not os.access(directory, os.W_OK | os.X_OK):
        raise StoreError(
            f"{path} is not writable: its directory {directory} is read-only, and SQLite "
            f"needs to create {path.name}-wal and {path.name}-shm beside it"
        )


def _capture_row(
    location: RecordLocation,
    url: str,
    status: int,
    fetched_at: str,
    content_type: str | None,
    capture_id: int | None,
    extra: dict,
) -> dict:
    """A `captures` row: the record's place in its WARC file, and what the exchange was."""
    return {
        **({"id": capture_id} if capture_id is not None else {}),
        "url": url,
        "status": status,
        "fetched_at": fetched_at,
        "content_type": content_type,
        "warc_file": location.warc_file,
        "warc_offset": location.offset,
        "warc_length": location.length,
        "warc_record_id": location.record_id,
        "payload_digest": location.payload_digest,
        **extra,
    }
