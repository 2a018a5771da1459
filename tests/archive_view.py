"""A database's articles in a comparable shape: what re-extraction must reproduce."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

IDS_AND_TIMES = ("id", "capture_id", "first_seen", "last_seen", "site_id")


def articles_view(path: Path, site: str | None = None) -> dict[str, dict]:
    """Every article (of `site`, when given) with its site's URL, its tags, categories,
    sections and items, and the WARC record id of its capture: ids and crawl timestamps
    left out."""
    db = sqlite_utils.Database(path)
    view = {}
    for row in db.query(
        "SELECT a.*, c.warc_record_id, s.url AS site FROM articles a "
        "LEFT JOIN captures c ON c.id = a.capture_id LEFT JOIN sites s ON s.id = a.site_id "
        "WHERE :site IS NULL OR s.url = :site",
        {"site": site},
    ):
        url = row["url"]
        entry = {k: v for k, v in row.items() if k not in IDS_AND_TIMES}
        for table, link, key in (
            ("tags", "article_tags", "tag_id"),
            ("categories", "article_categories", "category_id"),
        ):
            entry[table] = sorted(
                tuple(r.values())
                for r in db.query(
                    f"SELECT t.slug, t.name, t.url FROM {table} t JOIN {link} l ON l.{key} = t.id "
                    "JOIN articles a ON a.id = l.article_id WHERE a.url = ?",
                    [url],
                )
            )
        entry["sections"] = [
            tuple(r.values())
            for r in db.query(
                "SELECT s.position, s.heading, s.level, s.text, i.position, i.depth, i.text "
                "FROM sections s LEFT JOIN section_items i ON i.section_id = s.id "
                "JOIN articles a ON a.id = s.article_id WHERE a.url = ? ORDER BY s.position, i.position",
                [url],
            )
        ]
        view[url] = entry
    db.close()
    return view


def crawl_view(path: Path, searches: tuple[str, ...] = ()) -> dict:
    """What a crawl archived, whatever its process layout: articles_view() without capture
    record ids, the captured exchanges (robots.txt, which every crawler process reads for
    itself, counted once), the run's article counts, and the search index's answers."""
    articles = {
        url: {k: v for k, v in entry.items() if k != "warc_record_id"}
        for url, entry in articles_view(path).items()
    }
    db = sqlite_utils.Database(path)
    captures = sorted(
        (r["url"], r["status"], r["payload_digest"], r["revisit"])
        for r in db.query(
            "SELECT url, status, payload_digest, revisit_of IS NOT NULL AS revisit FROM captures "
            "WHERE url NOT LIKE '%/robots.txt' "
            "UNION ALL SELECT DISTINCT url, status, NULL, 0 FROM captures "
            "WHERE url LIKE '%/robots.txt'"
        )
    )
    runs = [
        tuple(r.values())
        for r in db.query(
            "SELECT status, articles_new, articles_changed, articles_unchanged, errors FROM runs"
        )
    ]
    found = {
        word: sorted(
            r["url"]
            for r in db.query(
                "SELECT a.url FROM articles_fts f JOIN articles a ON a.rowid = f.rowid "
                "WHERE articles_fts MATCH ?",
                [word],
            )
        )
        for word in searches
    }
    versions = db.execute("SELECT count(*) FROM article_versions").fetchone()[0]
    db.close()
    return {"articles": articles, "captures": captures, "runs": runs, "search": found,
            "versions": versions}  # fmt: skip
