"""Several crawler processes for one run (crawler.shares): the same archive as one process,
the site's politeness divided between them, and every stop or failure of any of them the
run's own."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawler.shares import divided, plan
from crawler.snapshot import serve_snapshot
from crawler.verdict import ExitCode
from tests.archive_view import crawl_view
from tests.crawler.changing_site import Blog, changing_site
from tests.helpers import (
    FIXTURES,
    ROOT,
    THEMES,
    Crawl,
    check_database,
    check_provenance,
    check_warc_file,
    crawl,
    crawl_or_fail,
    rows,
    warcs,
)

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_PORT = 47811
PIDS = re.compile(
    r"crawling in (\d+) processes \(TAG_ARCHIVER_CRAWLERS\); the others: pids ([\d ]+)"
)


def settings(**values) -> Settings:
    return Settings({"CONCURRENT_REQUESTS_PER_DOMAIN": 8, "CONCURRENT_REQUESTS": 16,
                     "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, **values})  # fmt: skip


@pytest.mark.parametrize(
    ("values", "tags", "expected"),
    [
        ({"TAG_ARCHIVER_CRAWLERS": 0}, None, os.cpu_count()),  # 0: one per core
        ({"TAG_ARCHIVER_CRAWLERS": 4}, None, 4),
        ({"TAG_ARCHIVER_CRAWLERS": 4}, 3, 3),  # no more than the tags named
        ({"TAG_ARCHIVER_CRAWLERS": 4}, 1, 1),
        ({"TAG_ARCHIVER_CRAWLERS": 4, "CONCURRENT_REQUESTS_PER_DOMAIN": 2}, None, 2),
        ({"TAG_ARCHIVER_CRAWLERS": 4, "DOWNLOAD_DELAY": 1}, None, 1),  # a polite crawl
        ({"TAG_ARCHIVER_CRAWLERS": 4, "AUTOTHROTTLE_ENABLED": True}, None, 1),
    ],
)
def test_plan_never_gives_a_site_more_than_one_process_would(values, tags, expected):
    assert plan(settings(**values), tags) == expected


def test_the_concurrency_limits_are_divided_between_the_processes():
    assert divided(settings(), 2) == {"CONCURRENT_REQUESTS_PER_DOMAIN": 4, "CONCURRENT_REQUESTS": 8}
    assert (
        divided(settings(CONCURRENT_REQUESTS_PER_DOMAIN=3), 2)["CONCURRENT_REQUESTS_PER_DOMAIN"]
        == 1
    )


@pytest.mark.parametrize("theme", THEMES)
def test_two_processes_archive_what_one_does(theme, tmp_path, golden):
    """Discovered tags (sitemaps) spread over two processes; articles under tags walked by
    different processes are fetched once; rows, captures, counts and search answers equal
    one process's, and both equal what the code before crawler processes and lean extraction
    and storing archived (the golden file, recorded with it); every row points at a whole
    WARC record of either process."""
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    # A fixed port: the snapshot's pages name their origin, and so do their payload digests.
    with serve_snapshot(FIXTURES / theme, port=GOLDEN_PORT) as server:
        single = crawl_or_fail(server.origin, one, "--all-tags", "--crawlers", "1")
        double = crawl_or_fail(server.origin, two, "--all-tags", "--crawlers", "2")
    assert "crawling in" not in single.stderr
    assert PIDS.search(double.stderr).group(1) == "2"
    searches = ("scaling", "laws", "compute", "data", "agents")
    view = crawl_view(two, searches)
    assert crawl_view(one, searches) == view
    assert view["search"]["scaling"]  # the searches find something
    recorded = json.dumps(view, indent=1, sort_keys=True, default=str)
    golden(GOLDEN / f"archived-{theme}.json", recorded + "\n")
    summary = re.compile(r" in [\d.]+ s;")
    assert summary.sub("", single.stdout) == summary.sub("", double.stdout).replace(
        "two.db", "one.db"
    )
    # Each page once, though two processes read the tag pages listing it.
    assert rows(two, "SELECT url, count(*) FROM captures WHERE url NOT LIKE '%robots.txt' "
                     "GROUP BY url HAVING count(*) > 1") == []  # fmt: skip
    assert len(warcs(two)) == 2
    (listed,) = rows(two, "SELECT warc_files FROM runs")[0]
    assert sorted(path.name for path in warcs(two)) == sorted(re.findall(r'"([^"]+)"', listed))
    for path in warcs(two):
        check_warc_file(path)
    check_provenance(two)
    check_database(two)


def blog_of_two_tags(posts: int = 12) -> Blog:
    blog = Blog()
    for n in range(1, posts + 1):
        blog.add(n, f"Post {n}", f"Text {n}.", "news" if n % 2 else "notes")
    return blog


def test_a_stop_reaches_every_process_and_the_run_is_interrupted(tmp_path):
    db = tmp_path / "a.db"
    blog = blog_of_two_tags()
    blog.delay = 0.3
    with changing_site(blog) as origin:
        run = Crawl(origin, "--db", str(db), "--delay", "0", "--tag", "news", "--tag", "notes",
                    "--crawlers", "2", "--set", "TAG_ARCHIVER_BATCH_SIZE=1")  # fmt: skip
        assert run.wait_for("the others: pids"), run.stderr()[-2000:]
        (child,) = map(int, PIDS.search(run.stderr()).group(2).split())
        deadline = time.monotonic() + 30
        while len([p for p in blog.paths() if p.startswith("/tag/")]) < 4:
            assert time.monotonic() < deadline, run.stderr()[-2000:]
            time.sleep(0.05)
        ended = run.end(run.signal(signal.SIGINT))
    assert ended.returncode == ExitCode.INTERRUPTED, ended.stderr[-3000:]
    assert ended.seconds < 15 and ended.left == []
    assert not alive(child)
    assert "Traceback" not in ended.stderr
    assert rows(db, "SELECT status FROM runs") == [("interrupted",)]
    assert not list(db.with_name("a-warc").glob("*.open"))
    for path in warcs(db):
        check_warc_file(path)
    check_provenance(db)


def test_a_failure_in_another_process_fails_the_run(tmp_path):
    """The second tag goes to the second process, which finds no such tag archive (a URL
    answering 404): exit 1, with its reason as the run's; the first process's tag is
    archived."""
    db = tmp_path / "a.db"
    with changing_site(blog_of_two_tags()) as origin:
        missing = f"{origin}/tag-archive-that-is-not/"
        result = crawl(origin, db, "--tag", "news", "--tag", missing, "--crawlers", "2")
    assert result.returncode == ExitCode.FAILED, result.stderr[-3000:]
    assert f"FAILED: unknown tag: '{missing}'" in result.stderr
    assert rows(db, "SELECT status FROM runs") == [("failed",)]
    assert rows(db, "SELECT count(*) FROM articles") == [(6,)]


def test_the_other_processes_stop_when_the_first_is_killed(tmp_path):
    db = tmp_path / "a.db"
    blog = blog_of_two_tags(posts=40)
    blog.delay = 0.2
    with changing_site(blog) as origin:
        run = Crawl(origin, "--db", str(db), "--delay", "0", "--tag", "news", "--tag", "notes",
                    "--crawlers", "2")  # fmt: skip
        assert run.wait_for("the others: pids"), run.stderr()[-2000:]
        (child,) = map(int, PIDS.search(run.stderr()).group(2).split())
        time.sleep(1)
        run.process.kill()
        run.process.wait()
        deadline = time.monotonic() + 20
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(child), "the other crawler process outlived the run's first"
        run.end()
        blog.delay = 0
        again = crawl(origin, db, "--tag", "news", "--tag", "notes", "--crawlers", "2")
    assert again.returncode == 0, again.stderr[-3000:]
    assert rows(db, "SELECT status FROM runs ORDER BY id") == [("interrupted",), ("finished",)]
    check_provenance(db)


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def test_the_other_processes_start_before_the_run_is_open(tmp_path):
    """They import and set up while the first process opens the run: here the run waits for
    a write lock the test holds, and the other process is already up, waiting to be told the
    run; once the lock goes, both crawl as one run."""
    db = tmp_path / "a.db"
    with changing_site(blog_of_two_tags()) as origin:
        crawl_or_fail(origin, db, "--tag", "news")  # the schema exists: only the run waits
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            run = Crawl(origin, "--db", str(db), "--delay", "0", "--tag", "news",
                        "--tag", "notes", "--crawlers", "2", "--full")  # fmt: skip
            assert run.wait_for("the others: pids", timeout=8), run.stderr()[-2000:]
            (child,) = map(int, PIDS.search(run.stderr()).group(2).split())
            assert alive(child)
            assert rows(db, "SELECT count(*) FROM runs") == [(1,)]  # not yet opened
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        ended = run.end()
    assert ended.returncode == 0, ended.stderr[-3000:]
    assert rows(db, "SELECT status FROM runs ORDER BY id") == [("finished",), ("finished",)]
    assert rows(db, "SELECT count(*) FROM articles") == [(12,)]


def test_another_process_told_no_run_exits_at_once_and_reports_nothing(tmp_path):
    """The first process ended before its run began (the end of stdin before a run line)."""
    result_path = tmp_path / "result.json"
    config = {"options": {}, "claims": "", "ledger": "", "write_turns": "",
              "result": str(result_path)}  # fmt: skip
    child = subprocess.run(
        [sys.executable, "-m", "crawler.share", json.dumps(config)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr
    assert child.stderr == ""
    assert not result_path.exists()
