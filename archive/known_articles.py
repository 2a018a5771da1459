"""KnownArticles: what the database held when a crawl began, for telling what is news.

An incremental crawl asks, for every article a tag page lists, whether the database already
held it with the same content. The snapshot is a table in a private temporary SQLite
database (a file deleted when it is closed, read through SQLite's bounded page cache), so
the crawler's memory does not grow with the size of the archive. It is copied from the
store once, so what the run itself writes later does not change it, and a lookup costs a
few microseconds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from archive.errors import StoreError


class KnownArticles:
    def __init__(self, rows: Iterable[tuple[str, str | None, str, str | None]] = ()) -> None:
        """rows: (permalink, content hash, record source, archive block hash), read as they
        are copied."""
        self._db = sqlite3.connect("")  # "": a private temporary database, on disk
        try:
            self._db.execute(
                "CREATE TABLE known (url TEXT PRIMARY KEY, content_sha256 TEXT, "
                "record_source TEXT NOT NULL, archive_sha256 TEXT) WITHOUT ROWID"
            )
            with self._db:
                self._db.executemany("INSERT INTO known VALUES (?, ?, ?, ?)", rows)
            (self._count,) = self._db.execute("SELECT count(*) FROM known").fetchone()
        except sqlite3.Error as exc:
            self._db.close()
            raise StoreError(f"cannot keep the stored articles' list: {exc}") from exc

    def get(self, url: str) -> tuple[str | None, str] | None:
        """(hash of what its archive block showed, record source) of the article stored
        under `url`, or None. The block's own hash, so that an excerpt is compared with the
        excerpt seen last time, not with the full text of the article's page; for articles
        stored before blocks were hashed apart, the content's hash."""
        return self._db.execute(
            "SELECT coalesce(archive_sha256, content_sha256), record_source FROM known "
            "WHERE url = ?",
            [url],
        ).fetchone()

    def __len__(self) -> int:
        return self._count

    def close(self) -> None:
        self._db.close()
