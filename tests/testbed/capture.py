"""Capture the live test-bed WordPress into snapshot folders (fixtures and the demo site).

    python tests/testbed/capture.py                 # every site but mutable ones (scratch)
    python tests/testbed/capture.py plain unicode   # only the sites named

Run after tests/testbed/wordpress-up.sh. Writes tests/fixtures/wordpress/<site>/ for each site
of tests/testbed/sites.json (every tag archive page, the page past the last, every article,
robots.txt, sitemaps, the front page, a 404, redirect targets, the REST API's answers that
`verify` asks for, and WordPress's REST truth as rest-truth.json), and, with block,
crawler/demo_site/ (the block theme's two seed tags and their articles). Independent of the
crawler on purpose: it lists pages from WordPress's REST API, not from our extraction.
Every capture replaces the site's origin with SNAPSHOT_ORIGIN; file names are counters,
never built from URL text.

Plain permalinks: tag pages are captured both as WordPress links them (/?paged=2&tag=slug)
and as /?tag=slug&paged=2. A path with percent escapes is captured with lowercase escapes (as
WordPress writes them) and uppercase ones (as clients percent-encode raw Unicode).
REST answers captured (ROUTES below, for tags and posts?tags=ID of every tag) are under
/wp-json/wp/v2/ on sites with pretty permalinks and under /?rest_route=/wp/v2/ and
/index.php?rest_route=/wp/v2/ (the form its Link header advertises) on the plain site,
each with ?per_page=100 and with ?per_page=100&page=1.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from crawler.snapshot import DEMO_SITE, SNAPSHOT_ORIGIN  # noqa: E402
from tests.wordpress_truth import read_sites, rest_list  # noqa: E402

DEMO_TAGS = ("ai-scaling", "scaling-laws")
KEPT_HEADERS = (
    "content-type",
    "link",
    "location",
    "x-pingback",
    "last-modified",
    "etag",
    "x-wp-total",  # the REST API's pagination, for `verify`
    "x-wp-totalpages",
)
PER_PAGE = 3
ROUTES = ("tags", "categories", "users", "posts")


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


def capture(origin: str, paths: list[str], folder: Path, not_found: str) -> None:
    """Fetch every path (once), then every on-site redirect target, into folder."""
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "files").mkdir(parents=True)
    entries = []
    queue = list(dict.fromkeys(paths))
    for number, path in enumerate(queue, start=1):
        status, headers, body = fetch(origin + path)
        target = dict((k.lower(), v) for k, v in headers).get("location", "")
        if 300 <= status < 400 and target.startswith(origin) and local(target, origin) not in queue:
            queue.append(local(target, origin))  # a crawler that follows it finds it served
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


def spellings(path: str) -> list[str]:
    """A path as WordPress writes it and, if it has percent escapes, with uppercase ones."""
    upper = re.sub(r"%[0-9a-fA-F]{2}", lambda m: m.group(0).upper(), path)
    return list(dict.fromkeys([path, upper]))


def tag_pages(base: str, pages: int) -> list[str]:
    """Pages 2..pages of a tag archive whose page 1 is base, as its pagination links them."""
    if "?" not in base:
        return [f"{base}page/{n}/" for n in range(2, pages + 1)]
    # Plain permalinks: WordPress links /?paged=2&tag=slug; a crawler may build /?tag=slug&paged=2.
    query = base.split("?", 1)[1]
    return [p for n in range(2, pages + 1) for p in (f"/?paged={n}&{query}", f"{base}&paged={n}")]


def rest_paths(plain: bool, tags: list[dict]) -> list[str]:
    """The REST API requests `verify` makes, in the forms this site answers."""
    bases = (
        ["/?rest_route=/wp/v2/", "/index.php?rest_route=/wp/v2/"] if plain else ["/wp-json/wp/v2/"]
    )
    queries = [f"{route}?per_page=100" for route in ROUTES]
    queries += [f"posts?tags={tag['id']}&per_page=100" for tag in tags]
    paths = []
    for base in bases:
        for query in queries:
            query = query.replace("?", "&") if "?" in base else query
            paths += [f"{base}{query}", f"{base}{query}&page=1"]
    if plain:  # what a client that assumes pretty permalinks gets: a redirect
        paths.append("/wp-json/wp/v2/tags?per_page=100")
    return paths


def capture_site(site: str, origin: str) -> None:
    posts = rest_list(origin, "posts")
    tags = rest_list(origin, "tags")
    categories = rest_list(origin, "categories")
    users = rest_list(origin, "users")
    plain = "?" in tags[0]["link"]
    some_tag = local(tags[0]["link"], origin)
    not_found = some_tag.replace(urllib.parse.quote(tags[0]["slug"], safe="%"), "no-such-tag-here")
    if plain:
        paths = ["/robots.txt", "/", "/?sitemap=index"]
        paths += ["/?sitemap=taxonomies&sitemap-subtype=post_tag&paged=1", not_found]
        # What a crawler that assumes pretty permalinks asks first (redirects, front page).
        paths += ["/wp-sitemap.xml", "/wp-sitemap-taxonomies-post_tag-1.xml"]
    else:
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
        paths.extend(tag_pages(base, pages))
        paths.extend(tag_pages(base, pages + 1)[-(2 if plain else 1) :])  # the 404 past the last
    paths.extend(local(post["link"], origin) for post in posts)
    if not some_tag.startswith("/tag/"):
        # Plain permalinks or a custom tag base: what /tag/<slug>/ answers (a 404, the front
        # page, or WordPress guessing a post), and ?tag=<slug> (a redirect to the real base).
        paths += [f"/tag/{tag['slug']}/" for tag in tags]
        paths += [] if plain else [f"/?tag={tag['slug']}" for tag in tags]
    paths += rest_paths(plain, tags)
    paths = [spelled for path in paths for spelled in spellings(path)]
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


def main() -> None:
    sites = read_sites()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "sites",
        nargs="*",
        metavar="SITE",
        help="sites of sites.json to capture (default: all "
        "but mutable ones); block also captures the demo site",
    )
    names = parser.parse_args().sites or [n for n, s in sites.items() if not s.get("mutable")]
    unknown = set(names) - set(sites)
    if unknown:
        parser.error(f"not in tests/testbed/sites.json: {', '.join(sorted(unknown))}")
    for name in names:
        capture_site(name, sites[name]["origin"])


if __name__ == "__main__":
    main()
