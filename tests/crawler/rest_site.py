"""The captured test bed with its REST API, on 127.0.0.1: the snapshot's pages (crawler.snapshot)
plus /wp-json/wp/v2/{tags,categories,posts} built from rest-truth.json, the same WordPress's
own answers. The snapshot's manifest holds no REST routes, so they are served from the truth
file here, paged and filtered as WordPress does (per_page, page, tags, slug, include) with its
X-WP-Total / X-WP-TotalPages headers, and also under ?rest_route=.

`faults` makes it misbehave on purpose, one name per case (see REST_FAULTS); `posts` and
`tags` can be edited between requests to play a site that changed after a crawl.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from crawler.snapshot import SnapshotServer, serving
from crawler.snapshot import _Handler as SnapshotHandler
from tests.helpers import FIXTURES
from tests.wordpress_truth import file_truth

REST_FAULTS = {
    "wp-json-404": "/wp-json/ is not routed (plain permalinks): Apache's 404 page",
    "forbidden": "every REST route answers 403 rest_forbidden (a security plugin)",
    "html": "/wp-json/ 404, and ?rest_route= answers the front page's HTML with 200",
    "garbage": "every REST route answers 200 with bytes that are not JSON",
    "page2-500": "page 2 of every post list answers 500, every time",
    "lying-total": "X-WP-Total of the post lists claims one post more than they hold",
    "lying-count": "tag 'history' claims a count of 13",
    "wrong-shape": "post lists answer an object instead of a list",
    "bad-entry": "the first post of each list lacks its link",
}


class RestSite(SnapshotServer):
    def __init__(self, folder: Path, page_size: int = 100, faults: tuple[str, ...] = ()) -> None:
        super().__init__(folder)
        self.RequestHandlerClass = _Handler
        truth = file_truth(folder / "rest-truth.json", self.origin)
        self.posts: list[dict] = truth["posts"]
        self.tags: list[dict] = truth["tags"]
        self.categories: list[dict] = truth["categories"]
        self.page_size = page_size  # WordPress allows 100; smaller pages test the paging
        unknown = set(faults) - set(REST_FAULTS)
        assert not unknown, unknown
        self.faults = set(faults)
        self.rest_requests: list[str] = []

    def answer(self, route: str, query: dict[str, list[str]]) -> tuple[int, dict, bytes]:
        """(status, headers, body) of one REST request."""
        self.rest_requests.append(route)
        json_type = {"Content-Type": "application/json; charset=UTF-8"}
        if "forbidden" in self.faults:
            body = {"code": "rest_forbidden", "message": "Sorry, you are not allowed to do that."}
            return 403, json_type, json.dumps(body).encode()
        if "garbage" in self.faults:
            return 200, {"Content-Type": "application/json"}, b"\x00\xffnot json at all{"
        kind = route.strip("/").removeprefix("wp/v2/")
        if kind not in ("tags", "categories", "posts"):
            body = {
                "code": "rest_no_route",
                "message": "No route was found.",
                "data": {"status": 404},
            }
            return 404, json_type, json.dumps(body).encode()

        def arg(name: str, default: str = "") -> str:
            return query.get(name, [default])[0]

        entries = {"tags": self.tags, "categories": self.categories, "posts": self.posts}[kind]
        entries = sorted(entries, key=lambda e: e["id"])
        if arg("include"):
            wanted = {int(i) for i in arg("include").split(",")}
            entries = [e for e in entries if e["id"] in wanted]
        if arg("slug"):
            wanted_slugs = set(arg("slug").split(","))
            entries = [e for e in entries if e["slug"] in wanted_slugs]
        if kind == "posts" and arg("tags"):
            entries = [e for e in entries if int(arg("tags")) in e["tags"]]
        if kind == "tags":
            entries = [
                {**e, "count": 13} if "lying-count" in self.faults and e["slug"] == "history" else e
                for e in entries
            ]
        size = min(int(arg("per_page", "10")), self.page_size)
        number = int(arg("page", "1"))
        total = len(entries)
        pages = max(1, math.ceil(total / size))
        if number > pages:
            body = {
                "code": "rest_post_invalid_page_number",
                "message": "The page number requested is larger than the number of pages available.",
            }
            return 400, json_type, json.dumps(body).encode()
        if kind == "posts" and number == 2 and "page2-500" in self.faults:
            return 500, {"Content-Type": "text/html"}, b"<h1>Internal Server Error</h1>"
        chosen = entries[(number - 1) * size : number * size]
        if kind == "posts":
            chosen = [_post_fields(p) for p in chosen]
            if "bad-entry" in self.faults and chosen:
                chosen[0] = {k: v for k, v in chosen[0].items() if k != "link"}
            if "lying-total" in self.faults:
                total += 1
        payload: object = chosen
        if kind == "posts" and "wrong-shape" in self.faults:
            payload = {"posts": chosen}
        headers = {**json_type, "X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        return 200, headers, json.dumps(payload).encode()


def _post_fields(post: dict) -> dict:
    """What _fields=id,link,title,...,content.protected leaves of a post."""
    keep = (
        "id",
        "link",
        "title",
        "date",
        "date_gmt",
        "modified_gmt",
        "tags",
        "categories",
        "author",
    )
    fields = {k: post[k] for k in keep if k in post}
    fields["content"] = {"protected": post["content"]["protected"]}
    return fields


class _Handler(SnapshotHandler):
    server: RestSite

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if parts.path.startswith("/wp-json/"):
            if self.server.faults & {"wp-json-404", "html"}:
                self.send(
                    404, {"Content-Type": "text/html"}, b"<html><title>404 Not Found</title></html>"
                )
                return
            self.send(*self.server.answer(parts.path.removeprefix("/wp-json"), query))
        elif "rest_route" in query:
            if "html" in self.server.faults:
                front = self.server.responses["/"]
                self.send(200, {"Content-Type": "text/html; charset=UTF-8"}, front.body)
                return
            self.send(*self.server.answer(query.pop("rest_route")[0], query))
        else:
            super().do_GET()

    def send(self, status: int, headers: dict, body: bytes) -> None:
        self.server.requests_seen.append(self.path)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def rest_site(page_size: int = 100, faults: tuple[str, ...] = ()) -> Iterator[RestSite]:
    with serving(RestSite(FIXTURES / "block", page_size, faults)) as server:
        yield server


def delete_article(db: Path, wp_post_id: int) -> tuple[str, str]:
    """Take one article out of the archive with every row that depends on it, as a lost
    write would; (title, url) of what was deleted."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA foreign_keys = ON")
    article_id, title, url = conn.execute(
        "SELECT id, title, url FROM articles WHERE wp_post_id = ?", [wp_post_id]
    ).fetchone()
    dependent = ("sections", "images", "links", "article_tags", "article_categories",
                 "article_versions", "article_urls")  # fmt: skip
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    with conn:
        conn.execute(
            "DELETE FROM section_items WHERE section_id IN "
            "(SELECT id FROM sections WHERE article_id = ?)",
            [article_id],
        )
        for table in dependent:
            if table in tables:
                conn.execute(f"DELETE FROM [{table}] WHERE article_id = ?", [article_id])
        conn.execute("DELETE FROM articles WHERE id = ?", [article_id])
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()
    return title, url
