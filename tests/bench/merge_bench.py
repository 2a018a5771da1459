"""Merge time per 10,000 articles: crawl the benchmark site into a shard, then time
`tag-archiver merge` of that shard into an empty database (and again: nothing to add).

    python -m tests.bench.merge_bench                 # 20 tags x 100 pages: 10,000 articles
    python -m tests.bench.merge_bench --pages 50      # smaller

The site (tests/bench/site.py: five distinct full articles a page) is served by Python's
http.server on 127.0.0.1 (tests.helpers.serve_static); the crawl is `crawl --delay 0 --no-articles`. Whole process trees
are measured (tests/bench/measure.py).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from pathlib import Path

from tests.bench.bench import measure
from tests.bench.site import build_site
from tests.helpers import ROOT, serve_static


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--pages", type=int, default=100, help="pages per tag")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="merge-bench-") as tmp:
        work = Path(tmp)
        site = build_site(work / "site", options.tags, options.pages)
        shard = work / "shard"
        shard.mkdir()
        tags = [arg for tag in site.tags for arg in ("--tag", tag)]
        with serve_static(site.root) as origin:
            crawl = [sys.executable, "-m", "crawler", "crawl", origin, *tags, "--db",
                     str(shard / "archive.db"), "--warc-dir", str(shard / "warc"), "--delay",
                     "0", "--no-articles", "--log-level", "ERROR"]  # fmt: skip
            crawled = measure(crawl, ROOT)
        articles = count_articles(shard / "archive.db")
        merge = [sys.executable, "-m", "crawler", "merge", "--db", str(work / "corpus.db"),
                 str(shard)]  # fmt: skip
        first = measure(merge, ROOT)
        again = measure(merge, ROOT)
        merged = count_articles(work / "corpus.db")
        print(f"crawl: {site.pages} pages, {articles} articles, {crawled['wall']:.1f} s "
              f"(exit {crawled['code']})")  # fmt: skip
        print(f"merge: {merged} articles in {first['wall']:.1f} s wall, {first['cpu']:.1f} s CPU, "
              f"{first['rss_mb']:.0f} MB peak (exit {first['code']}): "
              f"{first['wall'] / max(merged, 1) * 10_000:.1f} s per 10,000 articles")  # fmt: skip
        print(f"merge again (nothing to add): {again['wall']:.1f} s (exit {again['code']})")


def count_articles(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        conn.close()


if __name__ == "__main__":
    main()
