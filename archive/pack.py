"""Package a crawl as WACZ: its WARCs, a CDXJ index, and pages/pages.jsonl with titles.

The page list (required by the WACZ spec, and what ReplayWeb.page shows) comes from the
database: every archived article page with its title, and every archived tag archive page.
The `wacz` package builds the index and the zip.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import sqlite_utils
from wacz.main import main as wacz_main

from archive.errors import ArchiveError
from archive.extract import tag_slug_from_url
from archive.extract.pagination import page_number_in


def pages(db_path: Path) -> list[dict]:
    db = sqlite_utils.Database(db_path)
    try:
        entries: dict[str, dict] = {}
        tag_names = {row["slug"]: row["name"] or row["slug"] for row in db["tags"].rows}
        for row in db.query(
            "SELECT url, fetched_at FROM captures WHERE status = 200 "
            "AND content_type LIKE 'text/html%' ORDER BY id"
        ):
            slug = tag_slug_from_url(row["url"])
            if slug is None or row["url"] in entries:
                continue
            number = page_number_in(row["url"])
            title = f"Tag: {tag_names.get(slug, slug)}" + (f" (page {number})" if number else "")
            entries[row["url"]] = {"url": row["url"], "ts": row["fetched_at"], "title": title}
        for row in db.query(
            "SELECT a.url, a.title, c.fetched_at FROM articles a "
            "JOIN captures c ON c.url = a.url AND c.status = 200 ORDER BY c.id"
        ):
            entries.setdefault(
                row["url"], {"url": row["url"], "ts": row["fetched_at"], "title": row["title"]}
            )
        return list(entries.values())
    finally:
        db.close()


def pack(db_path: Path, warc_dir: Path, out: Path, title: str | None = None) -> int:
    """Write `out`; returns the number of pages listed. A merged database's WARC root holds
    a directory per site (archive.shards): their files are packed too."""
    warcs = sorted(Path(warc_dir).rglob("*.warc.gz"))
    if not warcs:
        raise ArchiveError(f"no finished WARC files in {warc_dir}")
    listed = pages(db_path)
    with tempfile.TemporaryDirectory() as tmp:
        pages_file = Path(tmp) / "pages.jsonl"
        lines = [{"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}, *listed]
        pages_file.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
        args = ["create", "-o", str(out), "-p", str(pages_file)]
        if title:
            args += ["--title", title]
        code = wacz_main([*args, *(str(w) for w in warcs)])
    if code not in (0, None):
        raise ArchiveError(f"wacz create failed with exit code {code}")
    return len(listed)
