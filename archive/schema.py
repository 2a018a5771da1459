"""The SQLite schema: an interface researchers write SQL against. Change it only on purpose.

tests/archive/golden/schema.sql pins it; a change here is a visible diff there. The schema
is built by numbered steps (MIGRATIONS); PRAGMA user_version says how many a database has.
A database from an older tag-archiver is brought up to date when it is opened; a change to
the schema is a new step, never an edit of an old one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlite_utils

from archive.errors import StoreError
from archive.extract.urls import site_root

# table -> its columns in the full-text index ("<table>_fts"); see Store.index_new_rows().
SEARCHED = {"articles": ("title", "content_text"), "sections": ("heading", "text")}

# taxonomy -> (terms table, link table, link column)
TERM_TABLES = {
    "tag": ("tags", "article_tags", "tag_id"),
    "category": ("categories", "article_categories", "category_id"),
}


def _v1_tables(db: sqlite_utils.Database) -> None:
    """Articles, terms, sections and their items, captures (issues 2 and 3)."""
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


# A TL;DR, else a summary: what one line about an article should say.
_SUMMARY_HEADINGS = (
    "s.heading LIKE 'TL;D%' OR s.heading LIKE 'TLDR%' OR s.heading LIKE 'TLDW%' "
    "OR s.heading LIKE '%Summary%'"
)
VIEWS = {
    # One row per article, with what a researcher looks at first.
    "article_summary": f"""
SELECT a.id, a.url, a.title, a.published, substr(a.published, 1, 4) AS year, a.author,
  (SELECT json_group_array(name) FROM (SELECT t.name FROM article_tags l
     JOIN tags t ON t.id = l.tag_id WHERE l.article_id = a.id ORDER BY t.name)) AS tags,
  (SELECT json_group_array(name) FROM (SELECT c.name FROM article_categories l
     JOIN categories c ON c.id = l.category_id WHERE l.article_id = a.id
     ORDER BY c.name)) AS categories,
  (SELECT s.text FROM sections s WHERE s.article_id = a.id AND ({_SUMMARY_HEADINGS})
     ORDER BY CASE WHEN s.heading LIKE 'TL%' THEN 0 ELSE 1 END, s.position LIMIT 1) AS summary,
  (SELECT count(*) FROM section_items i JOIN sections s ON s.id = i.section_id
     WHERE s.article_id = a.id AND s.heading LIKE '%takeaway%') AS takeaway_count,
  a.word_count, a.capture_id
FROM articles a""",
    # One row per Key Takeaways bullet.
    "takeaways": """
SELECT i.id, a.id AS article_id, a.title AS article, a.url, a.published, s.heading,
  i.position, i.depth, i.text
FROM section_items i JOIN sections s ON s.id = i.section_id JOIN articles a ON a.id = s.article_id
WHERE s.heading LIKE '%takeaway%'""",
    # Per tag: how many articles, over which dates.
    "tag_stats": """
SELECT t.id, t.name, t.slug, t.url, count(l.article_id) AS articles,
  min(a.published) AS first_published, max(a.published) AS last_published
FROM tags t LEFT JOIN article_tags l ON l.tag_id = t.id LEFT JOIN articles a ON a.id = l.article_id
GROUP BY t.id""",
}


def _v2_search(db: sqlite_utils.Database) -> None:
    """Full-text search (FTS5, porter stemming: "scaling" finds "scale") kept in step with
    every write by triggers, and the views for common questions (issue 5)."""
    for table, columns in SEARCHED.items():
        db[table].enable_fts(
            list(columns), fts_version="FTS5", tokenize="porter", create_triggers=True
        )
        db[f"{table}_fts"].rebuild_fts()  # index rows written before this step
    for name, sql in VIEWS.items():
        db.create_view(name, sql.strip())


def _v3_runs_and_history(db: sqlite_utils.Database) -> None:
    """Crawl runs, what each capture is (revisits, validators), article history (issue 4)."""
    db["runs"].create(
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "status": str,  # running | finished | failed | interrupted
            "site": str,
            "tags": str,  # JSON array
            "options": str,  # JSON object
            "pages_fetched": int,
            "articles_new": int,
            "articles_changed": int,
            "articles_unchanged": int,
            "errors": int,
            "warc_files": str,  # JSON array
            "software_version": str,
            "failure": str,
        },
        pk="id",
        not_null={"started_at", "status", "site", "software_version"},
    )
    captures = db["captures"]
    captures.add_column("run_id", int, fk="runs", fk_col="id")
    # A revisit record names the capture whose payload it repeats.
    captures.add_column("revisit_of", int, fk="captures", fk_col="id")
    captures.add_column("warc_date", str)  # the exact WARC-Date, as revisits must quote it
    captures.add_column("etag", str)
    captures.add_column("last_modified", str)
    captures.create_index(["payload_digest"])
    db["articles"].add_column("gone_at", str)  # when its permalink answered 404/410
    db["article_versions"].create(
        {
            "id": int,
            "article_id": int,
            "content_sha256": str,
            "title": str,
            "content_text": str,
            "first_seen": str,
            "last_seen": str,
            "capture_id": int,
        },
        pk="id",
        not_null={"article_id", "first_seen", "last_seen"},
        foreign_keys=[("article_id", "articles", "id"), ("capture_id", "captures", "id")],
    )
    db["article_versions"].create_index(["article_id"])
    db.execute(
        "INSERT INTO article_versions (article_id, content_sha256, title, content_text, "
        "first_seen, last_seen, capture_id) SELECT id, content_sha256, title, content_text, "
        "first_seen, last_seen, capture_id FROM articles"
    )


def _v4_search_indexed_by_the_store(db: sqlite_utils.Database) -> None:
    """New rows are indexed by the store, a batch at a time (Store.save); the update
    trigger fires only when the indexed columns are written.

    sqlite-utils' insert triggers index row by row, a trigger per insert, as costly as
    everything else a crawl stores; its update trigger re-indexes an article on every update,
    and every crawl updates every article it sees (last_seen).
    The delete triggers stay: rows are deleted one article at a time, and rarely.
    """
    db.execute("DROP TRIGGER articles_ai")
    db.execute("DROP TRIGGER sections_ai")
    db.execute("DROP TRIGGER articles_au")
    db.execute(
        """CREATE TRIGGER "articles_au" AFTER UPDATE OF "title", "content_text" ON "articles"
BEGIN
  INSERT INTO "articles_fts" ("articles_fts", rowid, "title", "content_text")
    VALUES('delete', old.rowid, old."title", old."content_text");
  INSERT INTO "articles_fts" (rowid, "title", "content_text")
    VALUES (new.rowid, new."title", new."content_text");
END"""
    )


def _v5_fidelity(db: sqlite_utils.Database) -> None:
    """What any WordPress site needs to be archived faithfully (issue 13): dates with their
    sources and the modified date, what kind of text an archive block gave, every URL an
    article was known by, and the findings of `verify` against the site's REST API."""
    articles = db["articles"]
    articles.add_column("modified", str)  # ISO 8601; the page's "updated" date, when shown
    # Which markup each date was read from (archive.extract.dates.DateSource)
    articles.add_column("published_source", str)
    articles.add_column("modified_source", str)
    # What the tag archive's block gave: "full" content, an "excerpt", or "none"
    articles.add_column("archive_content", str)
    # SHA-256 of the archive block's text as last seen: incremental runs compare like with like
    articles.add_column("archive_sha256", str)
    articles.create_index(["wp_post_id"])
    db["article_urls"].create(
        {"url": str, "article_id": int, "first_seen": str, "last_seen": str},
        pk="url",
        not_null={"article_id", "first_seen", "last_seen"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["article_urls"].create_index(["article_id"])
    db.execute(
        "INSERT INTO article_urls (url, article_id, first_seen, last_seen) "
        "SELECT url, id, first_seen, last_seen FROM articles"
    )
    # One row per finding of one `verify` run (crawler.verify): the archive held against
    # the site's REST API. kind: expected (per tag: posts WordPress lists vs archived),
    # missing, extra, mismatch, unavailable, inconsistent (the API contradicts itself).
    db["verifications"].create(
        {
            "id": int,
            "run_id": int,
            "kind": str,
            "tag": str,
            "url": str,
            "wp_post_id": int,
            "field": str,
            "expected": str,
            "archived": str,
            "message": str,
        },
        pk="id",
        not_null={"run_id", "kind", "message"},
        foreign_keys=[("run_id", "runs", "id")],
    )
    db["verifications"].create_index(["run_id"])


# The views as step 6 defines them: each names the site its rows belong to.
VIEWS_WITH_SITES = {
    "article_summary": f"""
SELECT a.id, a.url, a.title, a.published, substr(a.published, 1, 4) AS year, a.author,
  (SELECT json_group_array(name) FROM (SELECT t.name FROM article_tags l
     JOIN tags t ON t.id = l.tag_id WHERE l.article_id = a.id ORDER BY t.name)) AS tags,
  (SELECT json_group_array(name) FROM (SELECT c.name FROM article_categories l
     JOIN categories c ON c.id = l.category_id WHERE l.article_id = a.id
     ORDER BY c.name)) AS categories,
  (SELECT s.text FROM sections s WHERE s.article_id = a.id AND ({_SUMMARY_HEADINGS})
     ORDER BY CASE WHEN s.heading LIKE 'TL%' THEN 0 ELSE 1 END, s.position LIMIT 1) AS summary,
  (SELECT count(*) FROM section_items i JOIN sections s ON s.id = i.section_id
     WHERE s.article_id = a.id AND s.heading LIKE '%takeaway%') AS takeaway_count,
  a.word_count, a.capture_id, (SELECT url FROM sites WHERE id = a.site_id) AS site
FROM articles a""",
    "takeaways": """
SELECT i.id, a.id AS article_id, a.title AS article, a.url, a.published, s.heading,
  i.position, i.depth, i.text, (SELECT url FROM sites WHERE id = a.site_id) AS site
FROM section_items i JOIN sections s ON s.id = i.section_id JOIN articles a ON a.id = s.article_id
WHERE s.heading LIKE '%takeaway%'""",
    "tag_stats": """
SELECT t.id, t.name, t.slug, t.url, count(l.article_id) AS articles,
  min(a.published) AS first_published, max(a.published) AS last_published,
  (SELECT url FROM sites WHERE id = t.site_id) AS site
FROM tags t LEFT JOIN article_tags l ON l.tag_id = t.id LEFT JOIN articles a ON a.id = l.article_id
GROUP BY t.id""",
    # Per site: what the database holds of it, and its latest run.
    "site_stats": """
SELECT s.id, s.url, s.name,
  (SELECT count(*) FROM articles a WHERE a.site_id = s.id) AS articles,
  (SELECT count(*) FROM tags t WHERE t.site_id = s.id) AS tags,
  (SELECT count(*) FROM captures c WHERE c.site_id = s.id) AS captures,
  (SELECT count(*) FROM runs r WHERE r.site_id = s.id) AS runs,
  (SELECT max(r.started_at) FROM runs r WHERE r.site_id = s.id) AS last_run_started,
  (SELECT r.status FROM runs r WHERE r.site_id = s.id ORDER BY r.id DESC LIMIT 1)
    AS last_run_status
FROM sites s""",
}
# Tables whose rows belong to one site.
SITE_TABLES = ("runs", "captures", "articles", "tags", "categories")


def _v6_sites(db: sqlite_utils.Database) -> None:
    """Many blogs in one database (issue 16): a `sites` table; runs, captures, articles and
    terms name their site; a tag or category is unique per site (two blogs' `ai` tags are two
    rows), an article's URL stays unique. Runs get a uuid, their identity across databases.
    A database written before holds one site: the one its runs name (else the origin of its
    first capture), and every row is that site's."""
    db["sites"].create({"id": int, "url": str, "name": str}, pk="id", not_null={"url"})
    db["sites"].create_index(["url"], unique=True)
    for table in SITE_TABLES:
        # Plain ALTER TABLE: sqlite-utils' foreign-key path rebuilds the table, triggers lost.
        db.execute(f"ALTER TABLE [{table}] ADD COLUMN site_id INTEGER REFERENCES sites(id)")
        db[table].create_index(["site_id"])
    # Runs and their captures: several crawled sites (a database some used that way) each
    # keep theirs.
    for (site,) in db.execute("SELECT DISTINCT site FROM runs WHERE site != '' ORDER BY id"):
        db.execute("INSERT OR IGNORE INTO sites (url) VALUES (?)", [_root(site)])
        db.execute(
            "UPDATE runs SET site_id = (SELECT id FROM sites WHERE url = ?) WHERE site = ?",
            [_root(site), site],
        )
    first = db.execute("SELECT url FROM captures ORDER BY id LIMIT 1").fetchone()
    if first is not None and not db.execute("SELECT 1 FROM sites").fetchone():
        parts = urlsplit(first[0])
        db.execute("INSERT INTO sites (url) VALUES (?)", [f"{parts.scheme}://{parts.netloc}/"])
    db.execute(
        "UPDATE captures SET site_id = (SELECT site_id FROM runs WHERE runs.id = captures.run_id)"
    )
    db.execute(
        "UPDATE articles SET site_id = "
        "(SELECT site_id FROM captures WHERE captures.id = articles.capture_id)"
    )
    # What no run or capture ties to a site is the first site's: before this step a
    # database held one.
    for table in SITE_TABLES:
        db.execute(
            f"UPDATE [{table}] SET site_id = (SELECT min(id) FROM sites) WHERE site_id IS NULL"
        )
    for table, link_table, key in TERM_TABLES.values():
        db.execute(
            f"UPDATE [{table}] SET site_id = coalesce((SELECT a.site_id FROM [{link_table}] l "
            f"JOIN articles a ON a.id = l.article_id WHERE l.[{key}] = [{table}].id LIMIT 1), "
            "site_id)"
        )
        db.execute(f"DROP INDEX [idx_{table}_slug]")
        db[table].create_index(["site_id", "slug"], unique=True)
    # A run's identity in any database: merging a shard (archive.merge) adds its runs once.
    db.execute("ALTER TABLE runs ADD COLUMN uuid TEXT")
    db.execute("UPDATE runs SET uuid = lower(hex(randomblob(16)))")
    db["runs"].create_index(["uuid"], unique=True)
    for name in VIEWS_WITH_SITES:
        db.execute(f"DROP VIEW IF EXISTS [{name}]")
        db.create_view(name, VIEWS_WITH_SITES[name].strip())


# FTS5 merges a table's index segments once this many of one size exist (its default is
# 4; 16 is the most it allows). Every batch the store writes is a new segment: at 4, merging
# them cost 10-20% of storing's CPU. Which rows match, and their rank, do not depend on how
# the index is cut into segments; a query reads at most 15 segments per size (about 50 for
# a million articles), and measured as fast at 100,000 articles.
FTS_AUTOMERGE = 16


def _v7_search_merges_less_often(db: sqlite_utils.Database) -> None:
    """The search indexes merge their segments 16 at a time, not 4 (FTS_AUTOMERGE)."""
    for table in SEARCHED:
        db.execute(
            f"INSERT INTO [{table}_fts] ([{table}_fts], rank) VALUES ('automerge', ?)",
            [FTS_AUTOMERGE],
        )


def _root(site: str) -> str:
    try:
        return site_root(site)
    except ValueError:
        return site


# MIGRATIONS[n] takes a database from schema version n to n + 1.
MIGRATIONS = (
    _v1_tables,
    _v2_search,
    _v3_runs_and_history,
    _v4_search_indexed_by_the_store,
    _v5_fidelity,
    _v6_sites,
    _v7_search_merges_less_often,
)
SCHEMA_VERSION = len(MIGRATIONS)


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create or upgrade the schema; refuse a database this version cannot write."""
    version = schema_version(db)
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
    for step in range(version, SCHEMA_VERSION):
        with db.atomic():
            MIGRATIONS[step](db)
            db.execute(f"PRAGMA user_version = {step + 1}")


def schema_version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]
