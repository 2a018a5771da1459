"""WordPress's own truth (its REST API) and what a crawl stored, in one comparable shape.

Deliberately independent of archive.extract: headings and list items are read from REST's
`content.rendered` with plain lxml here, so a bug in our extractor cannot agree with itself.

Also the test bed's site list (tests/testbed/sites.json) and how a test reaches a live site.
URLs are compared in one canonical form (w3lib's canonicalize_url: percent escapes uppercase,
raw Unicode escaped, query arguments sorted) and slugs percent-decoded, so `caf%c3%a9`,
`caf%C3%A9` and `café` are one spelling.
"""

from __future__ import annotations

import copy
import json
import os
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path

import lxml.html
import pytest
import sqlite_utils
from w3lib.url import canonicalize_url

from crawler.snapshot import SNAPSHOT_ORIGIN

SITES_JSON = Path(__file__).resolve().parent / "testbed" / "sites.json"


def read_sites() -> dict[str, dict]:
    """sites.json with each site's origin: TA_WP_<NAME> (TA_WP_EXCERPT_BLOCK) overrides the
    default http://127.0.0.1:<port>."""
    sites = json.loads(SITES_JSON.read_text(encoding="utf-8"))
    for name, site in sites.items():
        variable = "TA_WP_" + name.upper().replace("-", "_")
        site["origin"] = os.environ.get(variable, f"http://127.0.0.1:{site['port']}")
    return sites


def reachable(origin: str) -> bool:
    try:
        with urllib.request.urlopen(rest_url(origin, "posts", per_page=1), timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def live_origin(name: str) -> str:
    """The origin of a live test-bed site; skips the test when it is down, except under CI
    (CI starts the test bed, so there an unreachable site is a failure)."""
    origin = read_sites()[name]["origin"]
    if not reachable(origin):
        message = f"no test-bed WordPress at {origin}: run tests/testbed/wordpress-up.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return origin


def squash(text: str) -> str:
    return " ".join(text.split())


def canonical(url: str) -> str:
    return canonicalize_url(url)


def slug_key(slug: str) -> str:
    return urllib.parse.unquote(slug).lower()


def rest_url(origin: str, route: str, **query: object) -> str:
    """A REST API URL that works with any permalink setting (?rest_route=, not /wp-json/)."""
    return f"{origin}/?" + urllib.parse.urlencode({"rest_route": f"/wp/v2/{route}", **query})


def rest_list(origin: str, route: str) -> list[dict]:
    """Every item of a REST collection, all pages."""
    items, page = [], 1
    while True:
        url = rest_url(origin, route, per_page=100, page=page)
        with urllib.request.urlopen(url, timeout=30) as response:
            items.extend(json.load(response))
            pages = int(response.headers.get("X-WP-TotalPages", 1))
        if page >= pages:
            return items
        page += 1


def live_truth(origin: str) -> dict:
    return {name: rest_list(origin, name) for name in ("posts", "tags", "categories", "users")}


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


def _utc(iso_gmt: str) -> datetime:
    return datetime.fromisoformat(iso_gmt + "+00:00")


def visible_posts(truth: dict, tags: set[str] | None = None) -> list[dict]:
    """Published, unprotected posts; with tags (slugs), only the posts in one of them."""
    wanted = None
    if tags is not None:
        wanted = {t["id"] for t in truth["tags"] if slug_key(t["slug"]) in {*map(slug_key, tags)}}
    return [
        post
        for post in truth["posts"]
        if post["status"] == "publish"
        and not post["content"]["protected"]
        and (wanted is None or wanted & set(post["tags"]))
    ]


def expected(
    truth: dict, *, names: bool = False, modified: bool = False, tags: set[str] | None = None
) -> dict[str, dict]:
    """What the crawl must have stored, by canonical URL: every published, unprotected post
    (with tags, those in one of these tag slugs). names: terms as (slug, name) pairs, not
    slugs; modified: the post's modified date too."""
    terms = {
        kind: {t["id"]: (slug_key(t["slug"]), t["name"]) for t in truth[kind]}
        for kind in ("tags", "categories")
    }
    users = {u["id"]: u["name"] for u in truth["users"]}
    posts = {}
    for post in visible_posts(truth, tags):
        record = {
            "wp_post_id": post["id"],
            "title": _displayed(post["title"]["rendered"]),
            "published": _utc(post["date_gmt"]),
            "author": users[post["author"]],
        }
        for kind in ("tags", "categories"):
            pairs = sorted(terms[kind][t] for t in post[kind])
            record[kind] = pairs if names else [slug for slug, _ in pairs]
        record["sections"] = _sections_of(post["content"]["rendered"])
        if modified:
            record["modified"] = _utc(post["modified_gmt"])
        posts[canonical(post["link"])] = record
    return posts


def hidden_titles(truth: dict) -> set[str]:
    """Titles of posts WordPress shows nobody without a password: never to be stored."""
    return {
        _displayed(post["title"]["rendered"])
        for post in truth["posts"]
        if post["content"]["protected"]
    }


def _terms(db: sqlite_utils.Database, article_id: int, kind: str, names: bool) -> list:
    table, link, key = {
        "tags": ("tags", "article_tags", "tag_id"),
        "categories": ("categories", "article_categories", "category_id"),
    }[kind]
    rows = db.query(
        f"SELECT slug, name FROM {table} JOIN {link} ON {key} = {table}.id WHERE article_id = ?",
        [article_id],
    )
    pairs = sorted((slug_key(r["slug"]), r["name"]) for r in rows)
    return pairs if names else [slug for slug, _ in pairs]


def _minute(value: str | None) -> datetime | None:
    """A stored ISO date to the minute: the test bed's dates are whole minutes, and a theme
    that prints the time as text shows no seconds."""
    return None if value is None else datetime.fromisoformat(value).replace(second=0)


def stored(db_path: Path, *, names: bool = False, modified: bool = False) -> dict[str, dict]:
    """The crawl's articles in expected()'s shape, by canonical URL."""
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
        record = {
            "wp_post_id": row["wp_post_id"],
            "title": row["title"],
            "published": _minute(row["published"]),
            "author": row["author"],
            "tags": _terms(db, row["id"], "tags", names),
            "categories": _terms(db, row["id"], "categories", names),
            "sections": sections,
        }
        if modified:
            record["modified"] = _minute(row["modified"])
        articles[canonical(row["url"])] = record
    db.close()
    return articles


def assert_matches_truth(
    db_path: Path,
    truth: dict,
    *,
    with_authors: bool = True,
    names: bool = False,
    modified: bool = False,
    tags: set[str] | None = None,
    shown_terms: bool = True,
) -> None:
    """The database holds exactly WordPress's visible posts (in these tags), each once.

    A published date stored without an offset (a theme that prints only text, on a page
    showing no offset anywhere) is compared with WordPress's local `date`, which is what the
    page showed. names: tag and category names too. modified: articles.modified is REST's modified date
    (an unedited post may also leave it empty). shown_terms=False is for a theme that links no
    terms: an article's tags are then those it was found under (all with --all-tags), and its
    categories, when any were found at all, must be WordPress's."""
    want = expected(truth, names=names, modified=modified, tags=tags)
    got = stored(db_path, names=names, modified=modified)
    assert sorted(got) == sorted(want), (
        "stored permalinks differ from WordPress's published posts: "
        f"missing {sorted(set(want) - set(got))}, extra {sorted(set(got) - set(want))}"
    )
    ids = [a["wp_post_id"] for a in got.values()]
    assert len(ids) == len(set(ids)), "a post is stored under more than one URL"
    # A theme that prints the date as text with no offset: the site's local time, as shown
    local = {canonical(p["link"]): datetime.fromisoformat(p["date"]) for p in truth["posts"]}
    for url, post in want.items():
        if not with_authors:
            post = {**post, "author": got[url]["author"]}
        if got[url]["published"] is not None and got[url]["published"].tzinfo is None:
            post = {**post, "published": local[url]}
        if modified and got[url]["modified"] is None and post["modified"] == post["published"]:
            post = {**post, "modified": None}
        if not shown_terms:
            post = _as_found(post, got[url], tags)
        # This module is not rewritten by pytest: the message must say what differs.
        differences = {
            field: {"stored": got[url].get(field), "rest": value}
            for field, value in post.items()
            if got[url].get(field) != value
        }
        assert not differences, f"{url} differs from WordPress's REST API: {differences}"
    stored_titles = {a["title"] for a in got.values()}
    assert not stored_titles & hidden_titles(truth)


def assert_variant_matches_truth(db_path: Path, truth: dict, variant: str, **options) -> None:
    """assert_matches_truth with what the test bed site `variant`'s theme shows."""
    site = read_sites()[variant]
    assert_matches_truth(
        db_path,
        truth,
        names=True,
        modified=site.get("shows_modified", False),
        shown_terms=site.get("shows_terms", True),
        **options,
    )


def _as_found(want: dict, got: dict, walked: set[str] | None) -> dict:
    """want, as far as a theme without term links shows it. Tags: every tag walked (all with
    --all-tags), named by its archive's heading. Beyond those, a term is expected only if the
    crawl found it (post classes such as tag-<slug> give slugs, never names): found terms must
    be WordPress's, and may lack a name unless they were walked."""
    walked_keys = None if walked is None else {*map(slug_key, walked)}

    def slug(term):
        return term[0] if isinstance(term, tuple) else term

    def shown(kind: str, walked_keys: set[str] | None) -> list:
        found = {slug(t) for t in got[kind]}
        unnamed = {t[0] for t in got[kind] if isinstance(t, tuple) and t[1] is None}
        terms = []
        for term in want[kind]:
            was_walked = walked_keys is None or slug(term) in walked_keys
            if not (was_walked or slug(term) in found):
                continue
            if slug(term) in unnamed and not was_walked:
                term = (term[0], None)
            terms.append(term)
        return terms

    return {**want, "tags": shown("tags", walked_keys), "categories": shown("categories", set())}
