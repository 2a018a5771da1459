"""End to end against the test bed's variants of issue 13 (tests/testbed/sites.json): excerpts
on archives (block and classic), plain permalinks, posts edited after publishing, a theme with
no <time> and no term links, translated bases and non-ASCII slugs.

Each crawl, through the real CLI, must match WordPress's REST API exactly, as test_live.py
demands of block and classic, and more: tag and category names, the modified date where the
theme shows it, each post once whatever spelling of its URL was followed.
"""

from __future__ import annotations

import math
import sqlite3
from datetime import datetime
from functools import partial
from pathlib import Path

import pytest

from tests.helpers import crawl_or_fail as crawl
from tests.wordpress_truth import (
    assert_variant_matches_truth,
    canonical,
    expected,
    live_origin,
    live_truth,
    read_sites,
    stored,
    visible_posts,
)

pytestmark = pytest.mark.wordpress

SITES = read_sites()
# scratch is changed by the tests that mutate sites; block and classic are test_live.py's.
VARIANTS = [n for n, s in SITES.items() if n not in ("block", "classic") and not s.get("mutable")]
EXCERPTS = [n for n in VARIANTS if SITES[n].get("archive") == "excerpt"]
FULL = [n for n in VARIANTS if n not in EXCERPTS]


def check(variant: str):
    """assert_matches_truth with what this variant's theme shows."""
    return partial(assert_variant_matches_truth, variant=variant)


def tag_link(truth: dict, slug: str) -> str:
    return next(t["link"] for t in truth["tags"] if t["slug"] == slug)


def tag_forms(variant: str, truth: dict) -> dict[str, str]:
    """--tag argument -> the tag's slug: a slug with pagination and a tag archive URL, as
    WordPress links it; on the unicode site also a non-ASCII slug as a person types it, and a
    slug that /tag/<slug>/ would not find (WordPress answers that with a redirect to a post)."""
    if variant == "unicode":
        return {
            "日本": "日本",
            tag_link(truth, "cafe-societe"): "cafe-societe",
            "history": "history",
        }
    return {"history": "history", tag_link(truth, "scaling-laws"): "scaling-laws"}


@pytest.fixture(scope="module", params=VARIANTS)
def variant(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def site(variant: str) -> tuple[str, dict]:
    """(origin, REST truth) of the variant's live site."""
    origin = live_origin(variant)
    return origin, live_truth(origin)


@pytest.fixture(scope="module")
def all_tags_db(variant: str, site, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The variant crawled once with --all-tags (shared by the tests that only read it)."""
    db = tmp_path_factory.mktemp(variant) / "all.db"
    crawl(site[0], db, "--all-tags")
    return db


def test_every_visible_post_is_stored_once(site, all_tags_db):
    _, truth = site
    got = stored(all_tags_db)
    want = expected(truth)
    assert sorted(got) == sorted(want), "stored permalinks differ from WordPress's posts"
    ids = [a["wp_post_id"] for a in got.values()]
    assert sorted(ids) == sorted(p["wp_post_id"] for p in want.values())


def test_all_tags_matches_rest_truth(variant, site, all_tags_db):
    check(variant)(all_tags_db, site[1])


def test_tag_forms_match_rest_truth(variant, site, tmp_path):
    origin, truth = site
    forms = tag_forms(variant, truth)
    db = tmp_path / "tags.db"
    crawl(origin, db, *[arg for form in forms for arg in ("--tag", form)])
    check(variant)(db, truth, tags=set(forms.values()))


@pytest.mark.parametrize("variant", FULL, indirect=True)
def test_no_articles_matches_rest_truth(variant, site, tmp_path):
    """Full posts on archives: the archive alone gives everything but the author (no theme
    here prints a byline on archives)."""
    origin, truth = site
    db = tmp_path / "no-articles.db"
    crawl(origin, db, "--all-tags", "--no-articles")
    check(variant)(db, truth, with_authors=False)


@pytest.mark.parametrize("variant", ["edited"], indirect=True)
def test_modified_is_the_updated_date(site, all_tags_db):
    """The theme prints <time class="updated"> before <time class="entry-date published">:
    published must not be taken from the first <time>, and modified is REST's."""
    _, truth = site

    def minute(iso: str | None, utc: bool = False) -> datetime | None:
        if iso is None:
            return None
        return datetime.fromisoformat(iso + ("+00:00" if utc else "")).replace(second=0)

    want = {
        canonical(p["link"]): (minute(p["date_gmt"], True), minute(p["modified_gmt"], True))
        for p in visible_posts(truth)
    }
    rows = sqlite3.connect(all_tags_db).execute("SELECT url, published, modified FROM articles")
    got = {
        canonical(url): (minute(published), minute(modified)) for url, published, modified in rows
    }
    wrong = {url: (got.get(url), dates) for url, dates in want.items() if got.get(url) != dates}
    assert not wrong, f"(published, modified) stored vs REST differ for {len(wrong)} posts: {wrong}"


@pytest.mark.parametrize("variant", VARIANTS, indirect=True)
def test_archive_content_says_what_the_archive_showed(variant, all_tags_db):
    kinds = {
        k
        for (k,) in sqlite3.connect(all_tags_db).execute(
            "SELECT DISTINCT archive_content FROM articles"
        )
    }
    assert kinds == ({"excerpt"} if variant in EXCERPTS else {"full"})


def archive_pages(truth: dict) -> dict[str, tuple[str, int]]:
    """canonical URL -> (tag slug, page number) of every tag archive page and the one past
    the last, in both plain-permalink spellings."""
    pages = {}
    for tag in truth["tags"]:
        base = tag["link"]
        for n in range(1, max(1, math.ceil(tag["count"] / 3)) + 2):
            if n == 1:
                urls = [base]
            elif "?" in base:
                urls = [f"{base}&paged={n}"]  # canonical form sorts the query anyway
            else:
                urls = [f"{base}page/{n}/"]
            for url in urls:
                pages[canonical(url)] = (tag["slug"], n)
    return pages


@pytest.mark.parametrize("variant", EXCERPTS, indirect=True)
def test_incremental_run_over_unchanged_excerpts_reads_only_first_pages(site, tmp_path):
    """An excerpt is a digest of the post: unchanged excerpts on page 1 say the tag is
    unchanged, so the second run reads page 1 of each tag and nothing else."""
    origin, truth = site
    db = tmp_path / "incremental.db"
    crawl(origin, db, "--all-tags")
    connection = sqlite3.connect(db)
    versions = connection.execute("SELECT count(*) FROM article_versions").fetchone()[0]
    again = crawl(origin, db, "--all-tags")
    run_id = connection.execute("SELECT max(id) FROM runs").fetchone()[0]
    fetched = {
        canonical(url)
        for (url,) in connection.execute("SELECT url FROM captures WHERE run_id = ?", [run_id])
    }
    pages = archive_pages(truth)
    read = {pages[url] for url in fetched if url in pages}
    beyond_first = sorted(page for page in read if page[1] > 1)
    assert not beyond_first, f"pages past the first read again: {beyond_first}"
    # WordPress's tag sitemap leaves out empty tags, so --all-tags may not know them.
    unread = sorted(t["slug"] for t in truth["tags"] if t["count"] and (t["slug"], 1) not in read)
    assert not unread, f"tags whose first page was not read: {unread}"
    articles = {canonical(p["link"]) for p in visible_posts(truth)}
    assert not fetched & articles, f"unchanged articles fetched again: {fetched & articles}"
    assert connection.execute("SELECT count(*) FROM article_versions").fetchone()[0] == versions
    assert "0 new, 0 changed" in again.stdout


@pytest.mark.parametrize("variant", EXCERPTS, indirect=True)
def test_no_articles_on_excerpts_says_it_stored_excerpts(site, tmp_path):
    origin, _ = site
    result = crawl(origin, tmp_path / "excerpts.db", "--all-tags", "--no-articles")
    assert "excerpt" in (result.stdout + result.stderr).lower()
