"""WordPress's own truth (its REST API) and what a crawl stored, in one comparable shape.

Deliberately independent of archive.extract: headings and list items are read from REST's
`content.rendered` with plain lxml here, so a bug in our extractor cannot agree with itself.
"""

from __future__ import annotations

import copy
import json
import urllib.request
from datetime import datetime
from pathlib import Path

import lxml.html
import sqlite_utils

from crawler.snapshot import SNAPSHOT_ORIGIN


def squash(text: str) -> str:
    return " ".join(text.split())


def live_truth(origin: str) -> dict:
    def get(route: str) -> list:
        with urllib.request.urlopen(f"{origin}/wp-json/wp/v2/{route}?per_page=100") as response:
            return json.load(response)

    return {name: get(name) for name in ("posts", "tags", "categories", "users")}


def file_truth(path: Path, origin: str) -> dict:
    text = path.read_text(encoding="utf-8")
    text = text.replace(SNAPSHOT_ORIGIN.replace("/", "\\/"), origin.replace("/", "\\/"))
    return json.loads(text.replace(SNAPSHOT_ORIGIN, origin))


def _displayed(html: str) -> str:
    return squash(lxml.html.fragment_fromstring(html, create_parent="div").text_content())


def _item_text(li) -> str:
    li = copy.deepcopy(li)
    for nested in li.xpath(".//ul | .//ol"):
        nested.getparent().remove(nested)
    return squash(li.text_content())


def _sections_of(html: str) -> list[tuple[str, list[tuple[int, str]]]]:
    """(heading, [(depth, item text), ...]) for every heading, in order."""
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    sections: list[tuple[str, list[tuple[int, str]]]] = []
    for element in root:
        if element.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            sections.append((squash(element.text_content()), []))
        elif sections:
            for li in element.iter("li"):
                depth = sum(1 for a in li.iterancestors() if a.tag == "li")
                sections[-1][1].append((depth, _item_text(li)))
    return sections


def expected(truth: dict) -> dict[str, dict]:
    """What the crawl must have stored: every published, unprotected post."""
    tags = {t["id"]: t["slug"] for t in truth["tags"]}
    categories = {c["id"]: c["slug"] for c in truth["categories"]}
    users = {u["id"]: u["name"] for u in truth["users"]}
    posts = {}
    for post in truth["posts"]:
        if post["status"] != "publish" or post["content"]["protected"]:
            continue
        posts[post["link"]] = {
            "wp_post_id": post["id"],
            "title": _displayed(post["title"]["rendered"]),
            "published": datetime.fromisoformat(post["date_gmt"] + "+00:00"),
            "author": users[post["author"]],
            "tags": sorted(tags[t] for t in post["tags"]),
            "categories": sorted(categories[c] for c in post["categories"]),
            "sections": _sections_of(post["content"]["rendered"]),
        }
    return posts


def hidden_titles(truth: dict) -> set[str]:
    """Titles of posts WordPress shows nobody without a password: never to be stored."""
    return {
        _displayed(post["title"]["rendered"])
        for post in truth["posts"]
        if post["content"]["protected"]
    }


def stored(db_path: Path) -> dict[str, dict]:
    db = sqlite_utils.Database(db_path)
    articles = {}
    for row in db.query("SELECT * FROM articles"):
        sections = []
        for section in db.query(
            "SELECT * FROM sections WHERE article_id = ? ORDER BY position", [row["id"]]
        ):
            if section["heading"] is None:
                continue
            items = [
                (item["depth"], item["text"])
                for item in db.query(
                    "SELECT depth, text FROM section_items WHERE section_id = ? ORDER BY position",
                    [section["id"]],
                )
            ]
            sections.append((section["heading"], items))
        articles[row["url"]] = {
            "wp_post_id": row["wp_post_id"],
            "title": row["title"],
            "published": datetime.fromisoformat(row["published"]),
            "author": row["author"],
            "tags": sorted(
                r["slug"]
                for r in db.query(
                    "SELECT slug FROM tags JOIN article_tags ON tag_id = tags.id "
                    "WHERE article_id = ?",
                    [row["id"]],
                )
            ),
            "categories": sorted(
                r["slug"]
                for r in db.query(
                    "SELECT slug FROM categories JOIN article_categories "
                    "ON category_id = categories.id WHERE article_id = ?",
                    [row["id"]],
                )
            ),
            "sections": sections,
        }
    db.close()
    return articles


def assert_matches_truth(db_path: Path, truth: dict, *, with_authors: bool = True) -> None:
    want = expected(truth)
    got = stored(db_path)
    assert sorted(got) == sorted(want), "stored permalinks differ from WordPress's published posts"
    for url, post in want.items():
        if not with_authors:
            post = {**post, "author": got[url]["author"]}
        assert got[url] == post, f"{url} differs from WordPress's REST API"
    stored_titles = {a["title"] for a in got.values()}
    assert not stored_titles & hidden_titles(truth)
