"""`tag-archiver verify` and `crawl --verify`, the real CLI against the captured test bed and
its REST API served on loopback (tests/crawler/rest_site.py), faithful and hostile."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.browse import make_datasette
from tests.crawler.rest_site import RestSite, delete_article, rest_site
from tests.helpers import check_provenance, check_warc_file, dump, run_cli, warcs

# Post ids in rest-truth.json; "history" lists 11 posts, one of them password-protected.
HISTORY_4, HISTORY_6, HISTORY_8 = 17, 19, 21
FAST_RETRIES = ("--set", "RETRY_TIMES=1")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[RestSite, Path]]:
    """The served test bed (REST pages of 3 posts, so lists have several pages), and a
    database crawled from it with every tag, to copy for each test."""
    folder = tmp_path_factory.mktemp("crawled")
    with rest_site(page_size=3) as server:
        db = folder / "crawled.db"
        result = run_cli("crawl", server.origin, "--db", str(db), "--delay", "0", "--all-tags")
        assert result.returncode == 0, result.stderr
        yield server, db


@pytest.fixture
def served(site, tmp_path) -> Iterator[tuple[RestSite, Path]]:
    """The site as crawled (faults off, posts as in the truth file) and a copy of the crawl."""
    server, crawled = site
    posts = [dict(p) for p in server.posts]
    db = tmp_path / "a.db"
    source, target = sqlite3.connect(crawled), sqlite3.connect(db)
    source.backup(target)
    source.close()
    target.close()
    shutil.copytree(crawled.with_name("crawled-warc"), tmp_path / "a-warc")
    server.faults = set()
    try:
        yield server, db
    finally:
        server.posts = posts
        server.faults = set()


def verify(origin: str, db: Path, *args: str):
    return run_cli("verify", origin, "--db", str(db), "--delay", "0", *args)


def rows(db: Path, sql: str, *params) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def last_findings(db: Path) -> list[tuple]:
    return rows(
        db,
        "SELECT kind, tag, wp_post_id, field FROM verifications "
        "WHERE run_id = (SELECT max(run_id) FROM verifications) ORDER BY id",
    )


def test_crawl_then_verify_in_one_run_matches(tmp_path):
    db = tmp_path / "a.db"
    with rest_site(page_size=3) as server:
        result = run_cli("crawl", server.origin, "--db", str(db), "--delay", "0", "--all-tags",
                         "--verify", "--crawlers", "2")  # fmt: skip
        rest_requests = list(server.rest_requests)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout.splitlines()
    assert out[0].startswith("tag-archiver: 11 tag pages and 16 article pages")
    assert out[1] == f"verify: {server.origin}/ against its REST API (/wp-json/)"
    assert out[2:9] == [
        "tag ai-agents: expected 3, archived 3",
        "tag ai-scaling: expected 1, archived 1",
        "tag history: expected 10, archived 10",
        "tag podcasts: expected 2, archived 2",
        "tag productivity: expected 6, archived 6",
        "tag quotes: expected 1, archived 1",
        "tag scaling-laws: expected 3, archived 3",
    ]
    assert out[9].startswith(
        "verify: 7 tags, 26 posts listed under them: 0 missing, 0 extra, 0 mismatch, "
        "0 inconsistent, 0 unavailable; the archive matches (run 1"
    )
    # pages of 3: the 8 tags in 3 pages; history's 11 posts in 4, productivity's 6 in 2
    assert rest_requests.count("/wp/v2/tags") == 3
    assert rest_requests.count("/wp/v2/posts") == 7 + 3 + 1
    # one run: the crawl's, which says it was verified, lists every WARC file: those of its
    # two crawler processes and the verification's
    ((status, options, files),) = rows(db, "SELECT status, options, warc_files FROM runs")
    assert status == "finished"
    assert json.loads(options)["verify"] == {"verify": True, "all_tags": True}
    assert sorted(json.loads(files)) == [w.name for w in warcs(db)] and len(warcs(db)) == 3
    assert rows(db, "SELECT run_id, kind, count(*) FROM verifications GROUP BY 1, 2") == [
        (1, "expected", 7)
    ]
    # the REST exchanges are archived like every other, and their captures name the run
    rest = rows(db, "SELECT run_id, status FROM captures WHERE url LIKE '%/wp-json/wp/v2/%'")
    assert len(rest) == len(rest_requests) and set(rest) == {(1, 200)}
    for path in warcs(db):
        check_warc_file(path)
    check_provenance(db)


def test_verify_alone_has_its_own_run_and_changes_no_article(served):
    server, db = served
    before = dump(db, skip_tables=("runs", "captures", "verifications"))
    result = verify(server.origin, db, "--tag", "history", "--tag", "PODCASTS")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[1:3] == [
        "tag history: expected 10, archived 10",
        "tag podcasts: expected 2, archived 2",
    ]
    run = rows(db, "SELECT id, status, tags, options FROM runs ORDER BY id DESC LIMIT 1")[0]
    assert run[1:] == ("finished", '["history", "podcasts"]', '{"verify": true, "all_tags": false}')
    assert last_findings(db) == [
        ("expected", "history", None, None),
        ("expected", "podcasts", None, None),
    ]
    assert rows(db, "SELECT DISTINCT run_id FROM verifications") == [(run[0],)] == [(2,)]
    assert dump(db, skip_tables=("runs", "captures", "verifications")) == before


def test_verify_names_what_changed_and_datasette_shows_it(served):
    server, db = served
    lost_title, lost_url = delete_article(db, HISTORY_6)  # lost from the archive
    server.posts = [p for p in server.posts if p["id"] != HISTORY_8]  # deleted on the site
    for post in server.posts:
        if post["id"] == HISTORY_4:  # edited on the site
            post["title"] = {"rendered": "History Notes, Part 4 &#8211; revised"}
            post["modified_gmt"] = "2099-01-01T00:00:00"
    added = {**server.posts[-1], "id": 99, "title": {"rendered": "Added Later"}, "tags": [10]}
    added["link"] = f"{server.origin}/2099/01/01/added-later/"
    server.posts.append(added)  # published on the site after the crawl

    result = verify(server.origin, db, "--tag", "history")
    assert result.returncode == 3, result.stdout + result.stderr
    out = result.stdout
    assert "tag history: expected 10, archived 9" in out
    assert f'  missing: "{lost_title}" <{lost_url}>, post {HISTORY_6}: WordPress lists it' in out
    assert f'  missing: "Added Later" <{added["link"]}>, post 99:' in out
    assert (
        "title: WordPress says 'History Notes, Part 4 – revised', the archive "
        "'History Notes, Part 4' (modified on the site at 2099-01-01T00:00:00Z" in out
    )
    assert '  extra: "History Notes, Part 8" <' in out
    assert "2 missing, 1 extra, 1 mismatch, 0 inconsistent, 0 unavailable; DISCREPANCIES" in out
    assert last_findings(db) == [
        ("expected", "history", None, None),
        ("mismatch", "history", HISTORY_4, "title"),
        ("missing", "history", HISTORY_6, None),
        ("missing", "history", 99, None),
        ("extra", "history", HISTORY_8, None),
    ]

    datasette = make_datasette(db)

    async def canned() -> list[dict]:
        await datasette.invoke_startup()
        response = await datasette.client.get(f"/{db.stem}/last_verification.json?_shape=array")
        assert response.status_code == 200, response.text
        return response.json()

    shown = asyncio.run(canned())
    assert [(r["kind"], r["wp_post_id"]) for r in shown][1:] == [
        ("mismatch", HISTORY_4),
        ("missing", HISTORY_6),
        ("missing", 99),
        ("extra", HISTORY_8),
    ]
    assert lost_title in shown[2]["message"]


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        (("forbidden",), "/wp-json/ answered HTTP 403 (rest_forbidden: Sorry, you are not allowed to do that.); ?rest_route= answered HTTP 403"),
        (("html",), "/wp-json/ answered HTTP 404; ?rest_route= answered HTML with status 200, not JSON (titled 'PJFP.com"),
        (("garbage",), "/wp-json/ answered a body that is not JSON (18 bytes); ?rest_route= answered a body"),
    ],
)  # fmt: skip
def test_an_unavailable_api_is_one_clear_line_and_exit_1(served, faults, message):
    server, db = served
    server.faults = set(faults)
    result = verify(server.origin, db, *FAST_RETRIES)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f"tag-archiver: verify: the REST API of {server.origin}/ is unavailable:"
    )
    assert message in last
    assert last_findings(db) == [("unavailable", None, None, None)]
    status, failure = rows(db, "SELECT status, failure FROM runs ORDER BY id DESC LIMIT 1")[0]
    assert status == "failed" and message in failure


def test_plain_permalinks_fall_back_to_rest_route(served):
    server, db = served
    server.faults = {"wp-json-404"}
    result = verify(server.origin, db, "--tag", "history")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "against its REST API (?rest_route=)" in result.stdout
    assert (
        rows(db, "SELECT count(*) FROM captures WHERE url LIKE '%?rest_route=/wp/v2/posts%'")[0][0]
        == 4
    )


@pytest.mark.parametrize(
    ("faults", "findings", "text"),
    [
        # page 2 of history answers 500 after every retry: no extras claimed, no count
        (("page2-500",), [("expected", "history", None, None), ("unavailable", "history", None, "page")],
         "page 2 could not be read: answered HTTP 500 (after retries)"),
        (("lying-total",), [("expected", "history", None, None), ("inconsistent", "history", None, "X-WP-Total")],
         "its X-WP-Total header claims 12 posts, but its pages list 11"),
        (("lying-count",), [("expected", "history", None, None), ("inconsistent", "history", None, "count")],
         "the tag's count claims 13 posts, but its pages list 11"),
        (("wrong-shape",), [("expected", "history", None, None), ("unavailable", "history", None, "page")],
         "answered JSON of the wrong shape (a dict, not a list)"),
        (("bad-entry",), [("expected", "history", None, None)] + [("unavailable", "history", None, None)] * 4,
         "entry 0 is not a post (no whole-number id and link)"),
    ],
)  # fmt: skip
def test_a_lying_or_broken_api_is_a_finding_never_a_guess(served, faults, findings, text):
    server, db = served
    server.faults = set(faults)
    result = verify(server.origin, db, "--tag", "history", *FAST_RETRIES)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert text in result.stdout
    assert last_findings(db) == findings
    assert " extra: " not in result.stdout  # an incomplete list proves nothing missing


def test_crawl_verify_exit_codes(served, tmp_path):
    server, db = served
    # the crawl finds nothing new, verify a lie: 0 becomes 3
    server.faults = {"lying-count"}
    result = run_cli(
        "crawl", server.origin, "--db", str(db), "--delay", "0", "--tag", "history", "--verify"
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "1 inconsistent" in result.stdout
    # REST blocked: the crawl's own verdict stands, with a warning
    server.faults = {"forbidden"}
    result = run_cli(
        "crawl", server.origin, "--db", str(db), "--delay", "0", "--tag", "history", "--verify"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tag-archiver: warning: not verified: the REST API of" in result.stderr
    assert "the crawl's own result stands" in result.stderr
    # a crawl that failed is not verified
    result = run_cli(
        "crawl", server.origin, "--db", str(db), "--delay", "0", "--tag", "no-such-tag-here",
        "--verify",
    )  # fmt: skip
    assert result.returncode == 1
    assert "verify: not run, the crawl did not finish" in result.stderr


def test_verify_bad_input(tmp_path):
    missing = tmp_path / "none.db"
    result = run_cli("verify", "http://127.0.0.1:9", "--db", str(missing))
    assert result.returncode == 1 and "no database at" in result.stderr
    assert not missing.exists()
    db = tmp_path / "empty.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.close()
    result = run_cli("verify", "http://127.0.0.1:9", "--db", str(db))
    assert result.returncode == 1 and "not a tag-archiver database" in result.stderr


def test_an_unreachable_site_is_unavailable(served):
    _server, db = served
    result = verify("http://127.0.0.1:9", db, *FAST_RETRIES)
    assert result.returncode == 1, result.stdout + result.stderr
    # (Scrapy's own RobotsTxtMiddleware logs the refused connection with its traceback
    # before this; the verdict is the last line)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "tag-archiver: verify: the REST API of http://127.0.0.1:9/ is unavailable"
    )
    assert "robots.txt could not be fetched (DownloadConnectionRefusedError)" in last
