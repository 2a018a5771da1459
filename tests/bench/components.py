"""What a crawl's own stages cost alone, on the benchmark's pages: the floor under its CPU.

    python -m tests.bench.components                  # 20 tags x 100 pages (2,000 pages)
    python -m tests.bench.components --tags 4 --pages 3 --json out.json

Builds the benchmark's site (tests/bench/site.py) and, in this one process, with no Scrapy,
no network and no other process: parses every page (lxml, from bytes), extracts it
(archive.extract.extract_page, parse included) and stores the extracted articles into a
new database, TAG_ARCHIVER_BATCH_SIZE articles a transaction, as a crawl's batches are
stored (archive.store.Store.save: the articles, their first versions, sections, items,
terms and both full-text indexes). Each stage is timed on this process's CPU clock and
reported per tag page, to set beside the plain Scrapy spider's CPU a page that
tests/bench/bench.py measures: what no change to the crawl's plumbing can take away is then
a measurement, not a guess.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import lxml.html

from archive.extract import extract_page
from archive.records import Observed
from archive.store import Store
from crawler import settings as crawler_settings
from crawler.run import collect_garbage_less_often
from tests.bench.site import build_site, page_path

HEADERS = {"content-type": "text/html; charset=UTF-8"}
SEEN_AT = "2026-12-01T00:00:00+00:00"


def measure(root: Path, tags: int, pages: int) -> dict:
    """CPU ms a tag page of each stage over a site of TAGS x PAGES pages built in `root`."""
    site = build_site(root / "site", tags, pages)
    bodies = [
        (f"http://127.0.0.1:8000{page_path(tag, number)}",
         (root / "site" / page_path(tag, number).strip("/") / "index.html").read_bytes())
        for tag in site.tags
        for number in range(1, pages + 1)
    ]  # fmt: skip
    started = time.process_time()
    for _url, body in bodies:
        lxml.html.document_fromstring(body)
    parse = time.process_time() - started

    # As in a crawl: a batch is stored once extraction has filled it, and freed after; the
    # collector set as the crawler's processes set it. Each stage's CPU is summed apart.
    collect_garbage_less_often()
    batch = crawler_settings.TAG_ARCHIVER_BATCH_SIZE
    store = Store(root / "a.db")
    store.use_site("http://127.0.0.1:8000/")
    extraction = storing = 0.0
    pending: list[Observed] = []
    articles = 0
    for number, (url, body) in enumerate(bodies, start=1):
        started = time.process_time()
        pending += [
            Observed(article, None) for article in extract_page(url, HEADERS, body).articles
        ]
        extraction += time.process_time() - started
        if len(pending) >= batch or number == len(bodies):
            started = time.process_time()
            store.save(pending, SEEN_AT)
            storing += time.process_time() - started
            articles += len(pending)
            pending = []
    store.close()
    count = len(bodies)
    return {
        "pages": count,
        "articles": articles,
        "batch": batch,
        "ms_per_page": {
            "parse": parse / count * 1e3,
            "extraction": extraction / count * 1e3,
            "storing": storing / count * 1e3,
        },
    }


def report(result: dict) -> list[str]:
    ms = result["ms_per_page"]
    return [
        f"The crawl's stages alone: {result['pages']:,} tag pages, {result['articles']:,} "
        f"articles, {result['batch']} articles a transaction; CPU ms a tag page",
        "",
        "| stage | CPU ms/page |",
        "| --- | ---: |",
        f"| parse (lxml, from bytes; part of extraction) | {ms['parse']:.2f} |",
        f"| extraction (archive.extract.extract_page) | {ms['extraction']:.2f} |",
        f"| storing (archive.store.Store.save) | {ms['storing']:.2f} |",
        f"| extraction + storing | {ms['extraction'] + ms['storing']:.2f} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--pages", type=int, default=100, help="pages per tag")
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tag-archiver-components-"))
    try:
        result = measure(work, args.tags, args.pages)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(report(result)))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
