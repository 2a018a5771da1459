"""The SQLite schema: an interface researchers write SQL against. Change it only on purpose.

tests/archive/golden/schema.sql pins it; a change here is a visible diff there. Bump
SCHEMA_VERSION (stored as PRAGMA user_version) with every change and add a migration.
"""

from __future__ import annotations

import sqlite_utils

from archive.errors import StoreError

SCHEMA_VERSION = 1

# taxonomy -> (terms table, link table, link column)
TERM_TABLES = {
    "tag": ("tags", "article_tags", "tag_id"),
    "category": ("categories", "article_categories", "category_id"),
}


def create_schema(db: sqlite_utils.Database) -> None:
    # Every HTTP exchange the crawl archived: the WARC response record behind a row.
    db["captures"].create(
        {
            "id": int,
            "url": str,
            "status": int,
            "fetched_at": str,
            "content_type": str,
            "warc_file": str,
            "warc_offset": int,
            "warc_length": int,
            "warc_record_id": str,
            "payload_digest": str,
        },
        pk="id",
        not_null={
            "url",
            "status",
            "fetched_at",
            "warc_file",
            "warc_offset",
            "warc_length",
            "warc_record_id",
        },
    )
    db["captures"].create_index(["warc_record_id"], unique=True)
    db["captures"].create_index(["url"])
    db["articles"].create(
        {
            "id": int,
            "url": str,
            "wp_post_id": int,
            "title": str,
            "published": str,
            "author": str,
            "content_html": str,
            "content_text": str,
            "word_count": int,
            "content_sha256": str,
            "record_source": str,
            "capture_id": int,
            "extractor_version": str,
            "first_seen": str,
            "last_seen": str,
        },
        pk="id",
        not_null={"url", "record_source", "extractor_version", "first_seen", "last_seen"},
        foreign_keys=[("capture_id", "captures", "id")],
    )
    db["articles"].create_index(["url"], unique=True)
    db["articles"].create_index(["published"])
    for table, link_table, key in TERM_TABLES.values():
        db[table].create(
            {"id": int, "slug": str, "name": str, "url": str}, pk="id", not_null={"slug"}
        )
        db[table].create_index(["slug"], unique=True)
        db[link_table].create(
            {"article_id": int, key: int, "first_seen": str, "last_seen": str},
            pk=("article_id", key),
            not_null={"first_seen", "last_seen"},
            foreign_keys=[("article_id", "articles", "id"), (key, table, "id")],
        )
        db[link_table].create_index([key])
    db["sections"].create(
        {"id": int, "article_id": int, "position": int, "heading": str, "level": int, "text": str},
        pk="id",
        not_null={"article_id", "position", "text"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["sections"].create_index(["article_id", "position"], unique=True)
    db["section_items"].create(
        {"id": int, "section_id": int, "position": int, "depth": int, "text": str},
        pk="id",
        not_null={"section_id", "position", "depth", "text"},
        foreign_keys=[("section_id", "sections", "id")],
    )
    db["section_items"].create_index(["section_id", "position"], unique=True)
    db["images"].create(
        {"id": int, "article_id": int, "position": int, "src": str, "alt": str},
        pk="id",
        not_null={"article_id", "position", "src"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["images"].create_index(["article_id", "position"], unique=True)
    db["links"].create(
        {"id": int, "article_id": int, "position": int, "url": str, "text": str},
        pk="id",
        not_null={"article_id", "position", "url"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["links"].create_index(["article_id", "position"], unique=True)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create the schema in an empty database; refuse one this version cannot write."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the database has schema version {version}, newer than this tag-archiver "
            f"understands ({SCHEMA_VERSION}); upgrade tag-archiver"
        )
    if version == 0 and db.table_names():
        raise StoreError(
            "the database already holds tables but is not a tag-archiver database; "
            "give --db a new file"
        )
    with db.atomic():
        create_schema(db)
