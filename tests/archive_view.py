"""A database's articles in a comparable shape: what re-extraction must reproduce."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

IDS_AND_TIMES = ("id", "capture_id", "first_seen", "last_seen")


def articles_view(path: Path) -> dict[str, dict]:
    """Every article with its tags, categories, sections and items, and the WARC record id of
    its capture: ids and crawl timestamps left out."""
    db = sqlite_utils.Database(path)
    view = {}
    for row in db.query(
        "SELECT a.*, c.warc_record_id FROM articles a LEFT JOIN captures c ON c.id = a.capture_id"
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
