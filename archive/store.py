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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import sqlite_utils

from archive.errors import StoreError
from archive.extract import EXTRACTOR_VERSION
from archive.extract.urls import html_class_form
from archive.known_articles import KnownArticles
from archive.records import Content, ContentKind, Observed, Source, Term
from archive.schema import SEARCHED, TERM_TABLES, ensure_schema
from archive.warc.files import RecordLocation

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
_SELECT_ARTICLE = f"SELECT {', '.join(_ARTICLE_COLUMNS)}, url FROM articles WHERE "


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

    def __init__(self, path: str | Path, *, durable: bool = False) -> None:
        """Open (or create) the database at `path`, ready to write.

        Raises StoreError naming the path: a file or directory that cannot be written (the
        store writes; SQLite also creates PATH-wal and PATH-shm beside the file), or a file
        that is not a database of ours."""
        _refuse_unwritable(Path(path))
        try:
            self.db = sqlite_utils.Database(path)
            self.conn = self.db.conn
            self._terms: dict[tuple[str, str], tuple[int, str | None, str | None]] = {}
            self._indexed: dict[str, int] = {}
            self._bulk = False
            # WAL: readers (Datasette, a researcher's notebook) never block the crawl's writes.
            self.db.enable_wal()
            self.db.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA busy_timeout = 10000")
            ensure_schema(self.db)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open {path} as a SQLite database: {_explain(exc)}") from exc

    def close(self) -> None:
        self.db.close()

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
        row = {
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
        with self.writing(), self.transaction():
            return self._insert_row("captures", row)

    def save(self, batch: Iterable[Observed], seen_at: str) -> list[Saved]:
        """Write a batch in one transaction: all of it is committed, or none of it.
        Returns one Saved per observation, in the batch's order."""
        with self.writing(), self.transaction():
            if not self._bulk:
                self._indexed = self._last_rowids()
            saved = [self._save_one(observed, seen_at) for observed in batch]
            if not self._bulk:
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
        for table, columns in SEARCHED.items():
            names = ", ".join(f"[{c}]" for c in columns)
            self.conn.execute(
                f"INSERT INTO [{table}_fts] (rowid, {names}) "
                f"SELECT rowid, {names} FROM [{table}] WHERE rowid > ?",
                [self._indexed[table]],
            )
        self._indexed = self._last_rowids()

    # The write path runs per article and per part, thousands of times a crawl: it uses
    # prepared statements on the connection directly. sqlite-utils' Table.insert() reads the
    # table's columns (PRAGMA table_info) on every call, which costs more than the inserts.

    def _save_one(self, observed: Observed, seen_at: str) -> Saved:
        article = observed.article
        row = self._stored(article.url, article.wp_post_id)
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
        self._note_url(article_id, article.url, seen_at)
        for taxonomy, terms in (("tag", article.tags), ("category", article.categories)):
            self._link_terms(article_id, taxonomy, terms, seen_at)
        return Saved(article.url, article_id, outcome)

    def _stored(self, url: str, wp_post_id: int | None) -> dict | None:
        """The stored article `url` names (its current or an earlier URL), else the one
        with this post ID: the same post under a new permalink."""
        found = (
            self.conn.execute(
                _SELECT_ARTICLE + "id = (SELECT article_id FROM article_urls WHERE url = ?)", [url]
            ).fetchone()
            or self.conn.execute(_SELECT_ARTICLE + "url = ?", [url]).fetchone()
        )
        if found is None and wp_post_id is not None:
            found = self.conn.execute(
                _SELECT_ARTICLE + "wp_post_id = ? ORDER BY id LIMIT 1", [wp_post_id]
            ).fetchone()
        if found is None:
            return None
        return dict(zip((*_ARTICLE_COLUMNS, "url"), found, strict=True))

    def _note_url(self, article_id: int, url: str, seen_at: str) -> None:
        self.conn.execute(
            "INSERT INTO article_urls (url, article_id, first_seen, last_seen) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET last_seen = excluded.last_seen",
            [url, article_id, seen_at, seen_at],
        )

    def _insert(self, observed: Observed, seen_at: str) -> int:
        article = observed.article
        row = {
            "url": article.url,
            **{name: getattr(article, name) for name in METADATA_FIELDS},
            **_content_columns(article.content),
            **_archive_columns(observed, None),
            "record_source": article.source.value,
            "capture_id": observed.capture_id,
            "extractor_version": EXTRACTOR_VERSION,
            "first_seen": seen_at,
            "last_seen": seen_at,
        }
        article_id = self._insert_row("articles", row)
        if article.content is not None:
            self._write_parts(article_id, article.content)
        self._new_version(article_id, row, seen_at)
        return article_id

    def _insert_row(self, table: str, row: dict) -> int:
        """`table` and the keys of `row` are this module's own names, never input."""
        columns = ", ".join(row)
        marks = ", ".join("?" * len(row))
        sql = f"INSERT INTO [{table}] ({columns}) VALUES ({marks})"
        return self.conn.execute(sql, list(row.values())).lastrowid

    def _new_version(self, article_id: int, current: dict, seen_at: str) -> None:
        """`current`: the article's columns as just written (no need to read them back)."""
        self.conn.execute(
            "INSERT INTO article_versions (article_id, content_sha256, title, content_text, "
            "first_seen, last_seen, capture_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                article_id,
                current["content_sha256"],
                current["title"],
                current["content_text"],
                seen_at,
                seen_at,
                current["capture_id"],
            ],
        )

    def _merge(self, row: dict, observed: Observed, seen_at: str) -> tuple[int, Outcome]:
        self._index_new_rows()  # the update may re-index this row; it must be in the index
        article = observed.article
        authoritative = article.source is Source.SINGLE or row["record_source"] == Source.ARCHIVE
        updates: dict = {"last_seen": seen_at, **_archive_columns(observed, row)}
        known_url = self.conn.execute(
            "SELECT 1 FROM article_urls WHERE url = ?", [article.url]
        ).fetchone()
        if article.url != row["url"] and not known_url:
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
        if content_changed:
            updates.update(_content_columns(content))
            self._delete_parts(row["id"])
            self._write_parts(row["id"], content)
        upgraded = authoritative and row["record_source"] != article.source.value
        if upgraded:
            updates["record_source"] = article.source.value
        # The row points at the capture its current content came from: a re-crawl of
        # unchanged content keeps pointing at the first one.
        if observed.capture_id is not None and (
            content_changed or upgraded or row["capture_id"] is None
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
            self._new_version(row["id"], current, seen_at)
        else:
            self.conn.execute(
                "UPDATE article_versions SET last_seen = ? WHERE id = "
                "(SELECT max(id) FROM article_versions WHERE article_id = ?)",
                [seen_at, row["id"]],
            )
        return row["id"], Outcome.CHANGED if changed else Outcome.UNCHANGED

    # --- what an incremental crawl needs to know ---------------------------------------------

    def known_articles(self) -> KnownArticles:
        """Every URL a stored article is known by -> (content hash, record_source, archive
        block hash), as of now."""
        try:
            rows = self.db.execute(
                "SELECT u.url, a.content_sha256, a.record_source, a.archive_sha256 "
                "FROM article_urls u JOIN articles a ON a.id = u.article_id"
            )
        except sqlite3.Error as exc:
            raise StoreError(f"reading the stored articles failed: {_explain(exc)}") from exc
        return KnownArticles(rows)

    def previous_run_finished(self, run_id: int | None) -> bool:
        """Did the run before `run_id` end normally? (No earlier run counts as yes.)"""
        row = self.db.execute(
            "SELECT status FROM runs WHERE id < coalesce(?, 1 << 62) ORDER BY id DESC LIMIT 1",
            [run_id],
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

    def validators(self, url: str) -> dict | None:
        """The latest full 200 capture of `url` that came with an ETag or Last-Modified."""
        rows = self.db.query(
            "SELECT id, url, warc_record_id, warc_date, payload_digest, etag, last_modified, "
            "warc_file, warc_offset FROM captures WHERE url = ? AND status = 200 "
            "AND revisit_of IS NULL AND (etag IS NOT NULL OR last_modified IS NOT NULL) "
            "ORDER BY id DESC LIMIT 1",
            [url],
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
            return self.db["runs"].insert({"status": "running", **fields}).last_pk

    def finish_run(self, run_id: int, **fields: object) -> None:
        with self.transaction():
            self.db["runs"].update(run_id, fields)

    def _link_terms(
        self, article_id: int, taxonomy: str, terms: Iterable[Term], seen_at: str
    ) -> None:
        table, link_table, key = TERM_TABLES[taxonomy]
        links = []
        for term in terms:
            links.append((article_id, self._term_id(taxonomy, table, term), seen_at, seen_at))
        self.conn.executemany(
            f"INSERT INTO [{link_table}] (article_id, [{key}], first_seen, last_seen) "
            f"VALUES (?, ?, ?, ?) ON CONFLICT (article_id, [{key}]) "
            "DO UPDATE SET last_seen = excluded.last_seen",
            links,
        )

    def _term_id(self, taxonomy: str, table: str, term: Term) -> int:
        """The term's row id; its name and URL are filled in or corrected when `term` knows
        them. A crawl sees the same few terms on every page: they are cached per store.

        A term known only from a class (Term.from_class) is the stored term whose slug
        prints as that class, if there is one; a term read from a link takes over the row
        its class form made before (one with neither name nor URL), so a non-ASCII tag
        stays one row whichever page showed it first."""
        cached = self._terms.get((taxonomy, term.slug))
        if cached is None:
            found = self.conn.execute(
                f"SELECT id, name, url FROM [{table}] WHERE slug = ?", [term.slug]
            ).fetchone()
            printed = html_class_form(term.slug)
            if found is None and term.from_class:
                found = self._term_by_class_form(table, term.slug)
            elif found is None and printed != term.slug:
                found = self.conn.execute(
                    f"SELECT id, name, url FROM [{table}] WHERE slug = ? AND name IS NULL "
                    "AND url IS NULL",
                    [printed],
                ).fetchone()
                if found is not None:
                    self.conn.execute(
                        f"UPDATE [{table}] SET slug = ? WHERE id = ?", [term.slug, found[0]]
                    )
            if found is None:
                found = (
                    self._insert_row(
                        table, {"slug": term.slug, "name": term.name, "url": term.url}
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
            f"SELECT id, slug, name, url FROM [{table}] WHERE slug != ?", [printed]
        ):
            if html_class_form(slug) == printed:
                return term_id, name, url
        return None

    def _write_parts(self, article_id: int, content: Content) -> None:
        items = []
        for section in content.sections:
            section_id = self.conn.execute(
                "INSERT INTO sections (article_id, position, heading, level, text) "
                "VALUES (?, ?, ?, ?, ?)",
                [article_id, section.position, section.heading, section.level, section.text],
            ).lastrowid
            items.extend((section_id, i.position, i.depth, i.text) for i in section.items)
        self.conn.executemany(
            "INSERT INTO section_items (section_id, position, depth, text) VALUES (?, ?, ?, ?)",
            items,
        )
        self.conn.executemany(
            "INSERT INTO images (article_id, position, src, alt) VALUES (?, ?, ?, ?)",
            [(article_id, n, image.src, image.alt) for n, image in enumerate(content.images)],
        )
        self.conn.executemany(
            "INSERT INTO links (article_id, position, url, text) VALUES (?, ?, ?, ?)",
            [(article_id, n, link.url, link.text) for n, link in enumerate(content.links)],
        )

    def _delete_parts(self, article_id: int) -> None:
        """Only after _index_new_rows(): the delete trigger removes rows from the index."""
        self.conn.execute(
            "DELETE FROM section_items WHERE section_id IN "
            "(SELECT id FROM sections WHERE article_id = ?)",
            [article_id],
        )
        for table in ("sections", "images", "links"):
            self.conn.execute(f"DELETE FROM [{table}] WHERE article_id = ?", [article_id])
        # SQLite reuses the rowids of deleted rows at the top: the mark comes down with them.
        self._indexed = self._last_rowids()


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
