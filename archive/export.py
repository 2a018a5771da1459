"""Articles with their tags, categories and sections, one record each, for scripts."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import sqlite_utils

from archive.errors import ArchiveError
from archive.extract.urls import site_root

FIELDS = [
    "url", "title", "published", "author", "tags", "categories", "word_count", "content_text",
    "sections",
]  # fmt: skip


def article_records(
    db_path: Path, tag: str | None = None, site: str | None = None
) -> Iterator[dict]:
    """Every article (under `tag`, of `site`: each when given), newest first. ArchiveError
    for a site the database does not hold."""
    db = sqlite_utils.Database(db_path)
    try:
        conditions, params = [], []
        if site:
            try:
                root = site_root(site)
            except ValueError as exc:
                raise ArchiveError(str(exc)) from exc
            found = db.execute("SELECT id FROM sites WHERE url = ?", [root]).fetchone()
            if found is None:
                raise ArchiveError(f"{db_path} holds no site {root}")
            conditions.append("a.site_id = ?")
            params.append(found[0])
        if tag:
            conditions.append(
                "a.id IN (SELECT l.article_id FROM article_tags l JOIN tags t "
                "ON t.id = l.tag_id WHERE t.slug = ? OR t.name = ?)"
            )
            params += [tag, tag]
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        for row in db.query(
            "SELECT a.id, a.url, a.title, a.published, a.author, a.word_count, a.content_text, "
            f"s.tags, s.categories FROM articles a JOIN article_summary s ON s.id = a.id {where} "
            "ORDER BY a.published DESC, a.id",
            params,
        ):
            sections = []
            for section in db.query(
                "SELECT id, heading, level, text FROM sections "
                "WHERE article_id = ? ORDER BY position",
                [row["id"]],
            ):
                items = [
                    {"depth": i["depth"], "text": i["text"]}
                    for i in db.query(
                        "SELECT depth, text FROM section_items "
                        "WHERE section_id = ? ORDER BY position",
                        [section["id"]],
                    )
                ]
                sections.append(
                    {k: section[k] for k in ("heading", "level", "text")} | {"items": items}
                )
            yield {
                **{
                    k: row[k]
                    for k in ("url", "title", "published", "author", "word_count", "content_text")
                },
                "tags": json.loads(row["tags"]),
                "categories": json.loads(row["categories"]),
                "sections": sections,
            }
    finally:
        db.close()


def write_jsonl(records: Iterator[dict], out: IO[str]) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(records: Iterator[dict], out: IO[str]) -> int:
    """Lists become "; "-joined text; sections stay JSON, as CSV has no nesting."""
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    writer.writeheader()
    count = 0
    for record in records:
        writer.writerow(
            record
            | {
                "tags": "; ".join(record["tags"]),
                "categories": "; ".join(record["categories"]),
                "sections": json.dumps(record["sections"], ensure_ascii=False),
            }
        )
        count += 1
    return count
