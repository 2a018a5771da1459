"""Capture the live test-bed WordPress into snapshot folders (fixtures and the demo site).

    python tests/testbed/capture.py            # after tests/testbed/wordpress-up.sh

Writes tests/fixtures/wordpress/{block,classic}/ (every tag archive page, the page past the
last, every article, robots.txt, sitemaps, the front page, a 404, and WordPress's REST truth)
and crawler/demo_site/ (the block theme's two seed tags and their articles). Independent of
the crawler on purpose: it lists pages from WordPress's REST API, not from our extraction.
Every capture replaces the site's origin with SNAPSHOT_ORIGIN; file names are counters,
never built from URL text.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from crawler.snapshot import DEMO_SITE, SNAPSHOT_ORIGIN  # noqa: E402

SITES = {
    "block": os.environ.get("TA_WP_BLOCK", "http://127.0.0.1:8081"),
    "classic": os.environ.get("TA_WP_CLASSIC", "http://127.0.0.1:8082"),
}
DEMO_TAGS = ("ai-scaling", "scaling-laws")
KEPT_HEADERS = ("content-type", "link", "location", "x-pingback", "last-modified", "etag")
PER_PAGE = 3


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # keep 3xx as captured responses
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def fetch(url: str) -> tuple[int, list[tuple[str, str]], bytes]:
    try:
        with OPENER.open(url, timeout=30) as response:
            return response.status, list(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, list(error.headers.items()), error.read()


def rest(origin: str, route: str) -> list[dict]:
    items, page = [], 1
    while True:
        status, headers, body = fetch(f"{origin}/wp-json/wp/v2/{route}?per_page=100&page={page}")
        if status != 200:
            raise SystemExit(f"REST {route} answered {status}: is the test bed up?")
        items.extend(json.loads(body))
        if page >= int(dict((k.lower(), v) for k, v in headers).get("x-wp-totalpages", 1)):
            return items
        page += 1


def capture(origin: str, paths: list[str], folder: Path, not_found: str) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "files").mkdir(parents=True)
    entries = []
    for number, path in enumerate(dict.fromkeys(paths), start=1):
        status, headers, body = fetch(origin + path)
        name = f"files/{number:04d}.body"
        (folder / name).write_bytes(
            body.replace(origin.encode(), SNAPSHOT_ORIGIN.encode()).replace(
                origin.replace("/", "\\/").encode(), SNAPSHOT_ORIGIN.replace("/", "\\/").encode()
            )
        )
        kept = [
            (k, v.replace(origin, SNAPSHOT_ORIGIN)) for k, v in headers if k.lower() in KEPT_HEADERS
        ]
        entries.append({"path": path, "status": status, "headers": kept, "file": name})
    manifest = {"origin": SNAPSHOT_ORIGIN, "not_found": not_found, "responses": entries}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    print(f"captured {len(entries)} responses into {folder.relative_to(ROOT)}")


def local(url: str, origin: str) -> str:
    return url[len(origin) :] if url.startswith(origin) else url


def main() -> None:
    for site, origin in SITES.items():
        posts = rest(origin, "posts")
        tags = rest(origin, "tags")
        categories = rest(origin, "categories")
        users = rest(origin, "users")
        not_found = "/tag/no-such-tag-here/"
        paths = [
            "/robots.txt",
            "/",
            "/wp-sitemap.xml",
            "/wp-sitemap-taxonomies-post_tag-1.xml",
            not_found,
        ]
        for tag in tags:
            base = local(tag["link"], origin)
            pages = max(1, math.ceil(tag["count"] / PER_PAGE))
            paths.append(base)
            paths.extend(f"{base}page/{n}/" for n in range(2, pages + 1))
            paths.append(f"{base}page/{pages + 1}/")  # the 404 past the last page
        paths.extend(local(post["link"], origin) for post in posts)
        folder = ROOT / "tests" / "fixtures" / "wordpress" / site
        capture(origin, paths, folder, not_found)
        truth = {"posts": posts, "tags": tags, "categories": categories, "users": users}
        text = (
            json.dumps(truth, indent=1, ensure_ascii=False)
            .replace(origin.replace("/", "\\/"), SNAPSHOT_ORIGIN.replace("/", "\\/"))
            .replace(origin, SNAPSHOT_ORIGIN)
        )
        (folder / "rest-truth.json").write_text(text + "\n")

        if site == "block":
            demo_tags = [t for t in tags if t["slug"] in DEMO_TAGS]
            demo_posts = [p for p in posts if set(p["tags"]) & {t["id"] for t in demo_tags}]
            demo_paths = ["/robots.txt", not_found]
            demo_paths += [local(t["link"], origin) for t in demo_tags]
            demo_paths += [local(p["link"], origin) for p in demo_posts]
            capture(origin, demo_paths, DEMO_SITE, not_found)


if __name__ == "__main__":
    main()
