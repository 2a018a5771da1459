"""Crawls through the real CLI over real HTTP on loopback: the captured test bed, a hostile site."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

from tests.crawler.hostile_site import hostile_site, robots_down_site
from tests.helpers import FIXTURES, ROOT, crawl, dump, run_cli
from tests.wordpress_truth import assert_matches_truth, file_truth


def test_crawl_matches_wordpress_rest_truth(theme_site, tmp_path):
    theme, server = theme_site
    result = crawl(server.origin, tmp_path / "a.db", "--all-tags", stats=tmp_path / "s.json")
    assert result.returncode == 0, result.stderr
    assert "16 articles stored (16 new" in result.stdout
    assert_matches_truth(
        tmp_path / "a.db", file_truth(FIXTURES / theme / "rest-truth.json", server.origin)
    )
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["tag_archiver/articles/skipped/password-protected"] >= 1
    assert stats["tag_archiver/pages/tag_archive"] == 11  # 7 tags, history has 4 pages, podcasts 2
    assert "Draft: Never Published" not in (tmp_path / "a.db").read_bytes().decode(
        "utf-8", "replace"
    )


def test_second_run_changes_nothing_but_last_seen(theme_site, tmp_path):
    _, server = theme_site
    db = tmp_path / "a.db"
    assert crawl(server.origin, db, "--tag", "history", "--tag", "podcasts").returncode == 0
    # A re-crawl records itself (a runs row) and its fetches (captures, WARC); nothing else changes.
    before = dump(db, skip_tables=("captures", "runs"))
    captures = sqlite3.connect(db).execute("SELECT count(*) FROM captures").fetchone()[0]
    again = crawl(
        server.origin, db, "--tag", "history", "--tag", "podcasts", "--full", "--refresh-articles"
    )
    assert again.returncode == 0, again.stderr
    assert "0 new, 0 changed" in again.stdout
    assert dump(db, skip_tables=("captures", "runs")) == before
    assert (
        sqlite3.connect(db).execute("SELECT count(*) FROM captures").fetchone()[0] == 2 * captures
    )


def test_pages_are_scheduled_from_the_last_page_number(theme_site, tmp_path):
    """Classic themes print "1 … 4": pages 2 and 3 have no link on page 1 and are still fetched."""
    _, server = theme_site
    server.requests_seen.clear()
    result = crawl(server.origin, tmp_path / "a.db", "--tag", "history", "--no-articles")
    assert result.returncode == 0, result.stderr
    assert {"/tag/history/page/2/", "/tag/history/page/3/", "/tag/history/page/4/"} <= set(
        server.requests_seen
    )
    assert "/tag/history/page/5/" not in server.requests_seen
    assert not [p for p in server.requests_seen if p.startswith("/20")]  # --no-articles


def test_unknown_tag_fails_naming_it(theme_site, tmp_path):
    _, server = theme_site
    result = crawl(server.origin, tmp_path / "a.db", "--tag", "history", "--tag", "no-such-tag-xyz")
    assert result.returncode == 1
    assert "unknown tag: 'no-such-tag-xyz'" in result.stderr
    # the known tag was still archived: nothing lost
    assert (
        sqlite3.connect(tmp_path / "a.db").execute("SELECT count(*) FROM articles").fetchone()[0]
        == 10
    )


def test_unreachable_site_fails_clearly(tmp_path):
    result = crawl("http://127.0.0.1:9", tmp_path / "a.db", "--tag", "news")
    assert result.returncode == 1
    assert "site unreachable" in result.stderr


def test_bad_arguments_are_usage_errors(tmp_path):
    result = run_cli("crawl", "http://127.0.0.1:9", "--db", str(tmp_path / "a.db"))
    assert result.returncode == 2 and "--tag" in result.stderr


def test_a_database_that_is_not_ours_is_refused_before_crawling(tmp_path):
    (tmp_path / "a.db").write_bytes(b"not sqlite at all" * 64)
    result = crawl("http://127.0.0.1:9", tmp_path / "a.db", "--tag", "news")
    assert result.returncode == 1 and "cannot open" in result.stderr


def test_hostile_site(tmp_path):
    tags = ["news", "paged", "empty", "notatag", "latin", "binary", "broken"]
    with hostile_site() as origin:
        args = [arg for tag in tags for arg in ("--tag", tag)]
        result = crawl(origin, tmp_path / "a.db", *args, stats=tmp_path / "s.json")
    # done, with errors; and a named tag whose archive is no tag archive, neither as
    # /tag/notatag/ nor as /?tag=notatag, is an unknown tag: the run failed
    assert result.returncode == 1, result.stderr
    assert "unknown tag: 'notatag'" in result.stderr
    stats = json.loads((tmp_path / "s.json").read_text())
    expected = {
        "tag_archiver/pages/not_tag_archive": 1,
        "tag_archiver/tags/unknown": 1,
        "tag_archiver/tags/empty": 1,
        "tag_archiver/pages/past_last": 1,
        "tag_archiver/articles/listed_again": 1,
        "tag_archiver/extraction/binary": 1,
        "tag_archiver/errors/download": 1,  # /tag/broken/ answered 500 after its retries
    }
    assert {k: stats.get(k) for k in expected} == expected
    assert stats.get("spider_exceptions/count", 0) == 0
    db = sqlite3.connect(tmp_path / "a.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    titles = dict(db.execute("SELECT title, author FROM articles"))
    assert titles == dict.fromkeys(
        ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Café “quotes”"], "Ann Author"
    )
    # the article listed twice is one row; Beta is under two tags
    tags_of_beta = db.execute(
        "SELECT group_concat(slug) FROM tags JOIN article_tags ON tag_id = tags.id "
        "JOIN articles ON articles.id = article_id WHERE title = 'Beta'"
    ).fetchone()[0]
    assert sorted(tags_of_beta.split(",")) == ["more", "news"]
    for line in ("is not a tag archive", "lists no posts", "past the last page", "cannot extract"):
        assert line in result.stderr


def test_demo_runs_on_a_fresh_directory(tmp_path):
    result = run_cli("demo", "--db", str(tmp_path / "demo.db"))
    assert result.returncode == 0, result.stderr
    assert "3 articles stored (3 new" in result.stdout
    assert "Andrej Karpathy on the Decade of AI Agents" in result.stdout
    assert "[AI scaling, scaling laws]" in result.stdout
    db = sqlite3.connect(tmp_path / "demo.db")
    assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 3
    assert db.execute("SELECT count(*) FROM article_tags").fetchone()[0] == 4
    takeaways = db.execute(
        "SELECT count(*) FROM section_items JOIN sections ON sections.id = section_id "
        "WHERE heading = 'Key Takeaways'"
    ).fetchone()[0]
    assert takeaways == 7


def test_robots_txt_5xx_means_disallow_all(tmp_path):
    """RFC 9309 §2.3.1.4; Scrapy alone would fail open and crawl."""
    with robots_down_site() as (origin, seen):
        result = crawl(origin, tmp_path / "a.db", "--tag", "news")
    assert result.returncode == 1
    assert "robots.txt answered 503" in result.stderr and "RFC 9309" in result.stderr
    assert seen == []  # not one page was fetched


def test_redirect_off_site_is_not_followed(tmp_path):
    with hostile_site() as origin:
        result = crawl(
            origin, tmp_path / "a.db", "--tag", "away", "--tag", "news", stats=tmp_path / "s.json"
        )
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats.get("offsite/filtered", 0) >= 1
    assert "127.0.0.2" not in "".join(k for k in stats)
    assert result.returncode == 3  # news was archived; away could not be
    assert "tag 'away': its archive was never read" in result.stderr
    assert stats["tag_archiver/tags/unread"] == 1


def test_progress_lines_while_crawling(theme_site, tmp_path):
    _, server = theme_site
    result = crawl(
        server.origin,
        tmp_path / "a.db",
        "--tag",
        "history",
        "--set",
        "TAG_ARCHIVER_PROGRESS_INTERVAL=0.05",
    )
    assert result.returncode == 0, result.stderr
    assert "progress: " in result.stderr and "finished (finished): " in result.stderr


def test_all_tags_without_a_sitemap_follows_tag_links(tmp_path):
    with hostile_site() as origin:
        result = crawl(origin, tmp_path / "a.db", "--all-tags", stats=tmp_path / "s.json")
    assert result.returncode == 0, result.stderr
    assert "discovering tags from the site's pages" in result.stderr
    db = sqlite3.connect(tmp_path / "a.db")
    slugs = {row[0] for row in db.execute("SELECT slug FROM tags")}
    assert {"news", "more", "paged"} <= slugs  # "more" was found on the news pages
    titles = {row[0] for row in db.execute("SELECT title FROM articles")}
    assert titles == {"Alpha", "Beta", "Gamma", "Delta", "Epsilon"}
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["tag_archiver/tags/dead_link"] == 1  # /tag/more/ is linked but answers 404
    assert stats.get("offsite/filtered", 0) == 0  # the off-site tag link was never even asked for


def test_scrapy_crawl_from_the_repository_root(theme_site, tmp_path):
    _, server = theme_site
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "tags", "-a", f"site={server.origin}",
         "-a", "tags=ai-scaling,scaling-laws", "-s", f"TAG_ARCHIVER_DB={tmp_path / 'a.db'}",
         "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    db = sqlite3.connect(tmp_path / "a.db")
    assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 3
