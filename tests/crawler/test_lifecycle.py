"""A run's life: stopped at any moment, and every page it asked for given a verdict.

Real crawls of real loopback servers, in their own process sessions, so that every helper
process a run starts can be seen to end with it (tests/processes.py).
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from crawler.snapshot import serving
from tests.crawler.changing_site import Blog, changing_site
from tests.crawler.hostile_site import archive, post, single
from tests.crawler.slow_close import DONE as SLOW_CLOSE_DONE
from tests.helpers import (
    FIXTURES,
    INTERRUPTED,
    OK,
    PARTIAL,
    Crawl,
    check_database,
    check_provenance,
    check_warc_file,
    rows,
    warcs,
)

# --- stop at any moment ---------------------------------------------------------------------


def snapshot_crawl(origin: str, db: Path, *extra: str) -> Crawl:
    return Crawl(origin, "--all-tags", "--db", str(db), "--delay", "0", *extra)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("after", [0.0, 0.05, 0.25])
def test_a_stop_right_after_the_spider_opened_ends_the_run(tmp_path, signum, after):
    """Finding 1: SIGTERM just after "Spider opened" hung in multiprocessing's exit handler,
    on a helper started while the stop had begun (3 of 3 tries)."""
    from crawler.snapshot import serve_snapshot

    db = tmp_path / "a.db"
    with serve_snapshot(FIXTURES / "block") as server:
        crawl = snapshot_crawl(server.origin, db)
        assert crawl.wait_for("Spider opened")
        time.sleep(after)
        ended = crawl.end(crawl.signal(signum))
        assert ended.left == []  # no helper outlives its run
        assert ended.seconds < 15, ended.stderr[-2000:]
        if "Closing spider (finished)" not in ended.stderr:  # else the run was over already
            assert ended.returncode == INTERRUPTED, ended.stderr[-2000:]
            assert "interrupted" in ended.stderr
            assert set(rows(db, "SELECT status FROM runs")) <= {("interrupted",)}
        assert not list(db.with_name("a-warc").glob("*.open"))  # closed and renamed
        check_database(db)
        check_provenance(db)
        again = snapshot_crawl(server.origin, db).end()
    assert again.returncode == 0, again.stderr[-2000:]
    assert rows(db, "SELECT status FROM runs ORDER BY id DESC LIMIT 1") == [("finished",)]
    assert rows(db, "SELECT count(*) FROM articles") == [(16,)]


def test_a_stop_while_the_spider_closes_lets_the_close_finish(tmp_path):
    """A SIGTERM after "Closing spider (finished)", while the item pipelines close (here one
    that takes 2 s): the close under way runs to its end, the pipelines' and the
    spider_closed handlers' (the run's other crawler processes awaited, the database writer
    stopped), before the process ends. Crawler.stop_async() at that moment returned as soon
    as the close's downloads had ended, and the process ended under the rest."""
    from crawler import settings as project
    from crawler.snapshot import serve_snapshot

    pipelines = {**project.ITEM_PIPELINES, "tests.crawler.slow_close.SlowClose": 900}
    db = tmp_path / "a.db"
    with serve_snapshot(FIXTURES / "block") as server:
        run = snapshot_crawl(server.origin, db, "--crawlers", "1",
                             "--set", f"ITEM_PIPELINES={json.dumps(pipelines)}")  # fmt: skip
        assert run.wait_for("Closing spider (finished)"), run.stderr()[-2000:]
        ended = run.end(run.signal(signal.SIGTERM))
    assert SLOW_CLOSE_DONE in ended.stderr, ended.stderr[-2000:]
    assert ended.stderr.index(SLOW_CLOSE_DONE) < ended.stderr.index("tag-archiver: ")
    assert ended.returncode in (OK, INTERRUPTED), ended.stderr[-2000:]
    check_database(db)
    check_provenance(db)


@pytest.mark.parametrize("marker", ["Scrapy 2.", "Enabled item pipelines", "Closing spider"])
def test_a_stop_before_the_first_request_or_during_shutdown_is_bounded(tmp_path, marker):
    from crawler.snapshot import serve_snapshot

    db = tmp_path / "a.db"
    with serve_snapshot(FIXTURES / "block") as server:
        crawl = snapshot_crawl(server.origin, db)
        assert crawl.wait_for(marker)
        ended = crawl.end(crawl.signal(signal.SIGTERM))
    assert ended.left == []
    assert ended.seconds < 15
    assert ended.returncode in (OK, INTERRUPTED), ended.stderr[-2000:]
    assert "Traceback" not in ended.stderr
    if db.exists():
        check_database(db)
        assert not list(db.with_name("a-warc").glob("*.open"))


def test_sigint_mid_crawl_commits_closes_and_marks_interrupted(tmp_path):
    db = tmp_path / "a.db"
    blog = Blog()
    for n in range(1, 9):
        blog.add(n, f"Post {n}", f"Text {n}.", "news")
    blog.delay = 0.3
    with changing_site(blog) as origin:
        crawl = Crawl(origin, "--db", str(db), "--delay", "0", "--tag", "news",
                      "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "--set", "TAG_ARCHIVER_BATCH_SIZE=1")  # fmt: skip
        deadline = time.monotonic() + 30
        while len(blog.requests) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        ended = crawl.end(crawl.signal(signal.SIGINT))
    assert ended.returncode == INTERRUPTED, ended.stderr[-2000:]
    assert ended.left == [] and ended.seconds < 15
    assert rows(db, "SELECT status FROM runs") == [("interrupted",)]
    assert rows(db, "SELECT count(*) FROM articles")[0][0] >= 1  # what was read is committed
    assert not list(db.with_name("a-warc").glob("*.open"))
    for path in warcs(db):
        check_warc_file(path)
    check_provenance(db)


def test_a_second_signal_stops_at_once_and_leaves_a_repairable_archive(tmp_path):
    db = tmp_path / "a.db"
    blog = Blog()
    for n in range(1, 9):
        blog.add(n, f"Post {n}", f"Text {n}.", "news")
    blog.delay = 3.0  # every page in flight takes long: a graceful stop would wait for it
    with changing_site(blog) as origin:
        crawl = Crawl(origin, "--db", str(db), "--delay", "0", "--tag", "news")
        deadline = time.monotonic() + 30
        while len(blog.requests) < 2 and time.monotonic() < deadline:  # robots.txt, page 1
            time.sleep(0.05)
        since = crawl.signal(signal.SIGTERM)
        time.sleep(0.3)
        crawl.signal(signal.SIGTERM)
        ended = crawl.end(since)
        assert ended.returncode == INTERRUPTED, ended.stderr[-2000:]
        assert ended.seconds < 2.5, ended.stderr[-2000:]  # not the 3 s the page takes
        assert ended.left == []
        check_database(db)
        blog.delay = 0
        again = Crawl(origin, "--db", str(db), "--delay", "0", "--tag", "news").end()
    assert again.returncode == 0, again.stderr[-2000:]
    assert rows(db, "SELECT status FROM runs ORDER BY id") == [("interrupted",), ("finished",)]
    assert not list(db.with_name("a-warc").glob("*.open"))
    for path in warcs(db):
        check_warc_file(path)
    check_provenance(db)


def test_a_stop_that_cannot_finish_is_forced_after_the_stop_timeout(tmp_path):
    """A page in flight on a server that never answers: the graceful stop would wait for
    DOWNLOAD_TIMEOUT (30 s); TAG_ARCHIVER_STOP_TIMEOUT bounds it."""
    db = tmp_path / "a.db"
    blog = Blog()
    blog.add(1, "One", "First.", "news")
    with changing_site(blog) as origin:
        assert Crawl(origin, "--db", str(db), "--delay", "0", "--tag", "news").end().returncode == 0
        blog.delay = 60.0
        crawl = Crawl(origin, "--db", str(db), "--delay", "0", "--tag", "news", "--full",
                      "--set", "TAG_ARCHIVER_STOP_TIMEOUT=2")  # fmt: skip
        deadline = time.monotonic() + 30
        while len(blog.requests) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        ended = crawl.end(crawl.signal(signal.SIGTERM))
    assert ended.returncode == INTERRUPTED, ended.stderr[-2000:]
    assert 1.5 < ended.seconds < 10, ended.stderr[-2000:]
    assert "TAG_ARCHIVER_STOP_TIMEOUT" in ended.stderr
    assert ended.left == []
    assert rows(db, "SELECT status FROM runs ORDER BY id") == [("finished",), ("interrupted",)]
    assert not list(db.with_name("a-warc").glob("*.open"))
    check_database(db)
    check_provenance(db)


# --- every request gets a verdict -----------------------------------------------------------

LOOP_POSTS = [(1, "one", "One", "One text.", ("loop",)), (2, "two", "Two", "Two text.", ("loop",))]
CYCLE_ARTICLE = (3, "cycle", "Cycle", "Cycle text.", ("loop",))


class _CycleHandler(BaseHTTPRequestHandler):
    """/tag/loop/ lists two posts and a page 2 that redirects a -> b -> a; post "cycle",
    listed on page 1 too, redirects to itself by way of another URL."""

    protocol_version = "HTTP/1.1"
    redirects: ClassVar[dict[str, str]] = {
        "/tag/loop/page/2/": "/tag/loop/?paged=2",
        "/tag/loop/?paged=2": "/tag/loop/page/2/",
        "/2024/01/04/cycle/": "/?p=3",
        "/?p=3": "/2024/01/04/cycle/",
    }

    def do_GET(self) -> None:
        if self.path in self.redirects:
            return self.answer(301, b"", [("Location", self.redirects[self.path])])
        if self.path == "/tag/loop/":
            nav = (
                '<nav class="navigation pagination"><span class="page-numbers current">1</span>'
                '<a class="page-numbers" href="/tag/loop/page/2/">2</a></nav>'
            )
            posts = "".join(post(*p) for p in [*LOOP_POSTS, CYCLE_ARTICLE])
            return self.answer(200, archive("loop", posts, nav).encode())
        for p in LOOP_POSTS:
            if self.path == f"/2024/01/0{p[0] % 9 + 1}/{p[1]}/":
                return self.answer(200, single(*p).encode())
        self.answer(404, b"<html><body class='error404'>Not found</body></html>")

    def answer(self, status: int, body: bytes, headers: list | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=UTF-8")
        for name, value in headers or []:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def cycle_site() -> Iterator[str]:
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _CycleHandler)) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"


def test_redirect_cycles_are_failed_pages_and_the_run_exits_3(tmp_path):
    """Finding 2: a page that redirects a -> b -> a was dropped by the duplicate filter
    without an errback: exit 0, 0 errors, nothing said."""
    db = tmp_path / "a.db"
    with cycle_site() as origin:
        ended = Crawl(origin, "--db", str(db), "--delay", "0", "--tag", "loop",
                      "--stats-json", str(tmp_path / "s.json")).end()  # fmt: skip
    assert ended.returncode == PARTIAL, ended.stderr[-3000:]
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["tag_archiver/pages/verdict/failed/tag"] == 1  # page 2
    assert stats["tag_archiver/pages/verdict/failed/article"] == 1  # the cycling post
    assert stats["tag_archiver/pages/verdict/stored"] == 3  # page 1 and the two posts
    assert stats["tag_archiver/errors"] == 2
    assert "redirect cycle: " in ended.stderr
    assert (
        f"{origin}/tag/loop/page/2/ -> {origin}/tag/loop/?paged=2 -> {origin}/tag/loop/page/2/"
        in ended.stderr
    )
    assert "2 errors" in ended.stdout + ended.stderr
    assert rows(db, "SELECT status, errors FROM runs") == [("finished", 2)]


def test_a_page_asked_for_twice_is_one_page(tmp_path):
    """The duplicate filter's ordinary work (page 2 both scheduled from page 1's numbers and
    followed as its next link) is neither a failure nor a second verdict."""
    from crawler.snapshot import serve_snapshot

    db = tmp_path / "a.db"
    with serve_snapshot(FIXTURES / "classic") as server:
        ended = snapshot_crawl(server.origin, db, "--stats-json", str(tmp_path / "s.json")).end()
    assert ended.returncode == 0, ended.stderr[-2000:]
    stats = json.loads((tmp_path / "s.json").read_text())
    asked = stats["tag_archiver/pages/tag_archive"] + stats["tag_archiver/pages/single"]
    verdicts = sum(
        v
        for k, v in stats.items()
        if k.count("/") == 3 and k.startswith("tag_archiver/pages/verdict/")
    )
    assert stats.get("tag_archiver/pages/verdict/failed", 0) == 0
    assert verdicts >= asked


# --- the verdict: one function ----------------------------------------------------------------


def test_the_verdict_function_decides_status_exit_code_and_message():
    from crawler.verdict import ExitCode, verdict

    clean = {"tag_archiver/errors": 0}
    assert verdict(clean, close_reason="finished") == verdict(clean)
    assert verdict(clean).exit_code is ExitCode.OK and verdict(clean).status == "finished"
    partial = verdict({"tag_archiver/errors": 2}, close_reason="finished")
    assert (partial.status, partial.exit_code, partial.message) == (
        "finished",
        ExitCode.PARTIAL,
        None,
    )
    bug = verdict({"spider_exceptions/KeyError": 1})
    assert bug.exit_code is ExitCode.PARTIAL
    failed = verdict(clean, failure="site unreachable")
    assert (failed.status, failed.exit_code, failed.message) == (
        "failed",
        ExitCode.FAILED,
        "site unreachable",
    )
    stopped = verdict({"tag_archiver/errors": 3}, failure="x", interrupted=True)
    assert (stopped.status, stopped.exit_code) == ("interrupted", ExitCode.INTERRUPTED)
    assert verdict(clean, close_reason="shutdown").exit_code is ExitCode.INTERRUPTED
    assert "at once" in verdict(clean, interrupted=True, forced=True).message
    locked = verdict(clean, locked="another run", interrupted=True)
    assert (locked.exit_code, locked.message) == (ExitCode.LOCKED, "another run")
    early = verdict(clean, close_reason="store_error")
    assert early.exit_code is ExitCode.FAILED and "store_error" in early.message
