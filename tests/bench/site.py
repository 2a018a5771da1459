"""A large static WordPress-like site, built from a captured real tag page (block theme).

TAGS x PAGES tag archive pages of PER_PAGE article blocks each (~80 KB of HTML a page), with
numbered pagination, written as index.html plus a pre-compressed index.html.gz for nginx's
gzip_static. Article permalinks are not written: the benchmark crawls with --no-articles.
"""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import lxml.html

from crawler.snapshot import SNAPSHOT_ORIGIN
from tests.helpers import FIXTURES

PER_PAGE = 5


def _templates() -> tuple[str, str]:
    """(page with {articles} and {pagination} slots, article block with {id} {slug} {tag})."""
    manifest = json.loads((FIXTURES / "block" / "manifest.json").read_text())
    entry = next(e for e in manifest["responses"] if e["path"] == "/tag/scaling-laws/")
    html = (FIXTURES / "block" / entry["file"]).read_text(encoding="utf-8")
    root = lxml.html.document_fromstring(html.replace(SNAPSHOT_ORIGIN, ""))
    (loop,) = root.xpath("//ul[contains(@class, 'wp-block-post-template')]")
    first = copy.deepcopy(loop[0])
    for item in list(loop):
        loop.remove(item)
    loop.text = "{articles}"
    loop.tail = "{pagination}" + (loop.tail or "")
    first.set("class", "wp-block-post post-{id} post type-post status-publish hentry tag-{tag}")
    for link in first.xpath(".//a[@href]"):
        if "/20" in link.get("href"):
            link.set("href", "/{slug}/")
    title = first.xpath(".//*[contains(@class, 'wp-block-post-title')]//a")[0]
    title.text = "Article {id}: {slug}"
    page = lxml.html.tostring(root, encoding="unicode", doctype="<!DOCTYPE html>")
    article = lxml.html.tostring(first, encoding="unicode")
    escape = lambda text: text.replace("{", "{{").replace("}", "}}")  # noqa: E731
    slots = ("{articles}", "{pagination}", "{id}", "{slug}", "{tag}")
    for slot in slots:
        page = page.replace(slot, "\0" + slot[1:-1] + "\0")
        article = article.replace(slot, "\0" + slot[1:-1] + "\0")
    page, article = escape(page), escape(article)
    for slot in slots:
        page = page.replace("\0" + slot[1:-1] + "\0", slot)
        article = article.replace("\0" + slot[1:-1] + "\0", slot)
    return page, article


def build_site(root: Path, tags: int, pages: int) -> int:
    """Write the site under `root`; returns the number of tag archive pages."""
    page_template, article_template = _templates()
    root.mkdir(parents=True, exist_ok=True)
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /wp-admin/\n")
    post_id = 0
    for t in range(tags):
        tag = f"tag-{t:03d}"
        for number in range(1, pages + 1):
            articles = []
            for _ in range(PER_PAGE):
                post_id += 1
                articles.append(
                    article_template.format(id=post_id, slug=f"post-{post_id}", tag=tag)
                )
            links = "".join(
                f'<span class="page-numbers current">{n}</span>' if n == number
                else f'<a class="page-numbers" href="/tag/{tag}/{"" if n == 1 else f"page/{n}/"}">{n}</a>'
                for n in sorted({1, number - 1, number, number + 1, pages} - {0, pages + 1})
            )  # fmt: skip
            pagination = f'<nav class="wp-block-query-pagination">{links}</nav>'
            html = page_template.format(articles="".join(articles), pagination=pagination)
            folder = root / "tag" / tag / ("" if number == 1 else f"page/{number}")
            folder.mkdir(parents=True, exist_ok=True)
            data = html.encode("utf-8")
            (folder / "index.html").write_bytes(data)
            (folder / "index.html.gz").write_bytes(gzip.compress(data, compresslevel=6, mtime=0))
    return tags * pages
