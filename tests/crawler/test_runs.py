"""Scheduled runs: incremental crawls over a site that changes, history, locks, signals."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from archive.lock import RunLock
from tests import helpers
from tests.crawler.changing_site import Blog, changing_site
from tests.helpers import ROOT, check_provenance, check_warc_file, run_cli, warcs


def crawl(origin: str, db: Path, *args: str):
    return helpers.crawl(origin, db, "--tag", "news", "--tag", "views", *args)


def the_blog() -> Blog:
    blog = Blog()
    blog.add(1, "One", "First post.", "news")
    blog.add(2, "Two", "Second post.", "news")
    blog.add(3, "Three", "Third post.", "news", "views")
    blog.add(4, "Four", "Fourth post.", "news", "views")
    blog.add(5, "Five", "Fifth post.", "news")
    return blog


def one(db: Path, sql: str, *params):
    return sqlite3.connect(db).execute(sql, params).fetchone()


def test_three_runs_over_a_changing_site(tmp_path):
    db = tmp_path / "a.db"
    blog = the_blog()
    with changing_site(blog) as origin:
        first = crawl(origin, db)
        assert first.returncode == 0, first.stderr
        assert "5 articles stored (5 new" in first.stdout

        blog.requests.clear()
        second = crawl(origin, db)
        assert second.returncode == 0, second.stderr
        assert "(0 new, 0 changed" in second.stdout
        # only page 1 of each tag (and robots.txt, read by each crawler process): everything
        # there is stored and unchanged
        assert sorted(set(blog.paths())) == ["/robots.txt", "/tag/news/", "/tag/views/"]
        assert len(blog.paths()) - blog.paths().count("/robots.txt") == 2
        run2 = one(db, "SELECT max(id) FROM runs")[0]
        kinds = dict(sqlite3.connect(db).execute(
            "SELECT url, revisit_of IS NOT NULL FROM captures WHERE run_id = ?", [run2]
        ).fetchall())  # fmt: skip
        assert kinds[f"{origin}/tag/news/"] and kinds[f"{origin}/tag/views/"]  # revisit records

        blog.add(6, "Six", "A new post.", "news")  # added
        blog.posts[5].text = "Fifth post, edited."  # edited
        blog.posts[4].tags = ("news",)  # taken out of "views"
        del blog.posts[3]  # deleted: its permalink now answers 404
        third = crawl(origin, db)
        assert third.returncode == 0, third.stderr
        assert "(1 new, 1 changed" in third.stdout

    run3, started3 = one(db, "SELECT id, started_at FROM runs ORDER BY id DESC LIMIT 1")
    statuses = [s for (s,) in sqlite3.connect(db).execute("SELECT status FROM runs ORDER BY id")]
    assert statuses == ["finished", "finished", "finished"]
    assert one(db, "SELECT articles_new, articles_changed FROM runs WHERE id = ?", run3) == (1, 1)
    # the edit is a new version; the old one is kept
    versions = (
        sqlite3.connect(db)
        .execute(
            "SELECT v.content_text FROM article_versions v JOIN articles a ON a.id = v.article_id "
            "WHERE a.title = 'Five' ORDER BY v.id"
        )
        .fetchall()
    )
    assert [v for (v,) in versions] == ["Summary\nFifth post.", "Summary\nFifth post, edited."]
    # the deleted post is marked gone, never deleted
    assert one(db, "SELECT gone_at FROM articles WHERE title = 'Three'") == (started3,)
    # the removed tag membership keeps the time it was last seen there
    seen = dict(sqlite3.connect(db).execute(
        "SELECT t.slug, l.last_seen FROM article_tags l JOIN tags t ON t.id = l.tag_id "
        "JOIN articles a ON a.id = l.article_id WHERE a.title = 'Four'"
    ).fetchall())  # fmt: skip
    assert seen["news"] == started3 and seen["views"] < started3
    # "what changed in run N", the README's query
    changed = (
        sqlite3.connect(db)
        .execute(
            """SELECT a.title, CASE WHEN v.id = (SELECT min(id) FROM article_versions
                  WHERE article_id = a.id) THEN 'new' ELSE 'changed' END
           FROM article_versions v JOIN articles a ON a.id = v.article_id
           JOIN runs r ON v.first_seen = r.started_at WHERE r.id = ?
           UNION ALL SELECT a.title, 'gone' FROM articles a JOIN runs r
           ON a.gone_at = r.started_at WHERE r.id = ? ORDER BY 1""",
            [run3, run3],
        )
        .fetchall()
    )
    assert changed == [("Five", "changed"), ("Six", "new"), ("Three", "gone")]
    for path in warcs(db):
        check_warc_file(path)
    check_provenance(db)


def test_not_modified_answers_become_revisits_and_still_read(tmp_path):
    db = tmp_path / "a.db"
    blog = the_blog()
    blog.etags = True
    with changing_site(blog) as origin:
        assert crawl(origin, db).returncode == 0
        second = crawl(origin, db, "--stats-json", str(tmp_path / "s.json"))
    assert second.returncode == 0, second.stderr
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["tag_archiver/conditional_requests"] >= 2
    assert stats["tag_archiver/pages/not_modified"] == 2  # both page 1s: read back from WARC
    assert stats["tag_archiver/articles/unchanged"] == 3  # news page 1 (5, 4) and views (4, 3)
    rows = (
        sqlite3.connect(db)
        .execute(
            "SELECT c.status, o.status FROM captures c JOIN captures o ON o.id = c.revisit_of WHERE c.status = 304"
        )
        .fetchall()
    )
    assert rows and all(original == 200 for _, original in rows)
    listing = subprocess.run(
        [Path(sys.executable).parent / "warcio", "index", "-f", "warc-type,warc-profile", *map(str, warcs(db))],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "server-not-modified" in listing
    for path in warcs(db):
        check_warc_file(path)


def test_a_second_run_on_a_locked_database_refuses(tmp_path):
    db = tmp_path / "a.db"
    with changing_site(the_blog()) as origin, RunLock(db):
        result = crawl(origin, db)
    assert result.returncode == 4
    assert "another tag-archiver run" in result.stderr
    assert not (tmp_path / "a-warc").exists()  # it touched nothing


def test_sigterm_mid_run_is_interrupted_then_completed(tmp_path):
    db = tmp_path / "a.db"
    blog = the_blog()
    blog.delay = 0.4
    with changing_site(blog) as origin:
        process = subprocess.Popen(
            [sys.executable, "-m", "crawler", "crawl", origin, "--db", str(db), "--delay", "0",
             "--tag", "news", "--tag", "views", "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=1"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(blog.requests) < 4:
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=60)
        assert process.returncode == 5, err
        assert one(db, "SELECT status FROM runs") == ("interrupted",)
        assert not list((tmp_path / "a-warc").glob("*.open"))  # closed and renamed
        for path in warcs(db):
            check_warc_file(path)
        check_provenance(db)
        blog.delay = 0
        again = crawl(origin, db)
    assert again.returncode == 0, again.stderr
    assert one(db, "SELECT count(*) FROM articles") == (5,)
    assert one(db, "SELECT count(*) FROM articles WHERE record_source = 'single'") == (5,)
    assert [s for (s,) in sqlite3.connect(db).execute("SELECT status FROM runs ORDER BY id")] == [
        "interrupted",
        "finished",
    ]


def test_retry_after_is_honoured(tmp_path):
    db = tmp_path / "a.db"
    blog = the_blog()
    blog.throttle["/tag/news/"] = 1  # one 429 with Retry-After: 2, then the page
    with changing_site(blog) as origin:
        result = crawl(origin, db)
    assert result.returncode == 0, result.stderr
    times = [t for t, path in blog.requests if path == "/tag/news/"]
    assert len(times) == 2 and times[1] - times[0] >= 2.0
    assert one(db, "SELECT count(*) FROM captures WHERE status = 429") == (1,)  # archived too


def test_runs_command_lists_runs(tmp_path):
    db = tmp_path / "a.db"
    with changing_site(the_blog()) as origin:
        assert crawl(origin, db).returncode == 0
        assert crawl(origin, db).returncode == 0
    result = run_cli("runs", "--db", str(db))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["run", "started", "status"]
    assert [line.split()[2] for line in lines[1:]] == ["finished", "finished"]
