"""`crawl --sites`: many loopback sites in one run, each into its shard, merged as it ends."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from crawler.sites_run import worst_exit
from crawler.snapshot import serve_snapshot
from crawler.verdict import ExitCode
from tests.archive_view import articles_view
from tests.helpers import (
    ROOT,
    check_database,
    check_provenance,
    crawl_or_fail,
    rows,
    run_cli,
    write_sites_file,
)
from tests.processes import wait_for_no_process_mentioning

BLOCK = ROOT / "tests/fixtures/wordpress/block"
CLOSED = "http://127.0.0.1:9/"  # nothing listens on the discard port


@pytest.fixture(scope="module")
def sites():
    with serve_snapshot() as demo, serve_snapshot(BLOCK) as block:
        yield {"demo": f"{demo.origin}/", "block": f"{block.origin}/"}


def without_record_ids(view: dict) -> dict:
    return {url: {k: v for k, v in e.items() if k != "warc_record_id"} for url, e in view.items()}


def test_one_command_crawls_every_site_and_exits_with_the_worst(sites, tmp_path):
    demo = {"url": sites["demo"], "tags": ["ai-scaling", "scaling-laws"]}
    block = {"url": sites["block"], "tags": "all"}
    path = write_sites_file(tmp_path / "sites.toml", [demo, block, {"url": CLOSED, "tags": ["x"]}],
                      {"delay": 0})  # fmt: skip
    corpus = tmp_path / "corpus.db"
    result = run_cli("crawl", "--sites", str(path), "--db", str(corpus))
    assert result.returncode == ExitCode.FAILED, result.stderr
    lines = result.stdout.splitlines()
    for url, code in ((sites["demo"], 0), (sites["block"], 0), (CLOSED, 1)):
        [line] = [line for line in lines if line.strip().startswith(url)]
        assert f"[exit {code}]" in line, line
    assert "site unreachable" in next(line for line in lines if CLOSED in line)
    assert (
        "tag-archiver: 3 sites in" in result.stdout and "2 done, 1 failed; exit 1" in result.stdout
    )

    # The corpus holds, site by site, what the same sites crawled one by one hold.
    single = tmp_path / "single.db"
    crawl_or_fail(demo["url"], single, "--tag", "ai-scaling", "--tag", "scaling-laws")
    crawl_or_fail(block["url"], single, "--all-tags")
    for url in (sites["demo"], sites["block"]):
        assert without_record_ids(articles_view(corpus, url)) == without_record_ids(
            articles_view(single, url)
        )
        assert articles_view(corpus, url)  # not two empty views
    assert rows(corpus, "SELECT s.url, r.status FROM runs r JOIN sites s ON s.id = r.site_id "
                "ORDER BY s.url") == sorted(
        [(sites["demo"], "finished"), (sites["block"], "finished"), (CLOSED, "failed")]
    )  # fmt: skip
    check_database(corpus)
    check_provenance(corpus)

    # The next run is incremental: each site's shard remembers it.
    again = run_cli("crawl", "--sites", str(path), "--db", str(corpus))
    assert again.returncode == ExitCode.FAILED
    block_line = next(line for line in again.stdout.splitlines() if sites["block"] in line)
    assert "0 article pages" in block_line and "0 new, 0 changed" in block_line
    assert rows(corpus, "SELECT count(*) FROM runs") == [(6,)]

    # What researchers ask of one site
    runs = run_cli("runs", "--db", str(corpus), "--site", sites["demo"])
    assert runs.returncode == 0 and runs.stdout.count(sites["demo"]) == 2
    assert sites["block"] not in runs.stdout
    exported = run_cli("export", "--db", str(corpus), "--site", sites["block"])
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(records) == 16 and all(r["url"].startswith(sites["block"]) for r in records)
    unknown = run_cli("export", "--db", str(corpus), "--site", "https://elsewhere.test/")
    assert unknown.returncode == 1 and "holds no site https://elsewhere.test/" in unknown.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tag", "x"], "--tag is a per-site option with --sites"),
        (["--delay", "0"], "--delay is a per-site option with --sites"),
        (["http://a.test/"], "give SITE_URL or --sites, not both"),
    ],
)
def test_per_site_options_belong_in_the_sites_file(tmp_path, args, message):
    path = write_sites_file(tmp_path / "sites.toml", [{"url": CLOSED, "tags": ["x"]}])
    result = run_cli("crawl", "--sites", str(path), "--db", str(tmp_path / "c.db"), *args)
    assert result.returncode == ExitCode.USAGE
    assert message in result.stderr


def test_a_bad_sites_file_is_named_with_its_line(tmp_path):
    path = tmp_path / "sites.toml"
    path.write_text('[[site]]\nurl = "http://a.test/"\ntagz = ["x"]\n')
    result = run_cli("crawl", "--sites", str(path), "--db", str(tmp_path / "c.db"))
    assert result.returncode == ExitCode.USAGE
    assert f"{path}, line 3" in result.stderr and "unknown key 'tagz'" in result.stderr
    assert not (tmp_path / "c.db").exists()  # nothing was started


def test_multi_site_options_need_sites(tmp_path):
    result = run_cli("crawl", "http://a.test/", "--tag", "x", "--parallel", "2")
    assert result.returncode == ExitCode.USAGE and "--parallel goes with --sites" in result.stderr


def test_a_stop_ends_every_crawl_and_merges_what_they_captured(sites, tmp_path):
    slow = [{"url": sites["block"], "tags": "all"}, {"url": sites["demo"], "tags": ["ai-scaling"]}]
    path = write_sites_file(tmp_path / "sites.toml", slow, {"delay": 0.4})
    corpus = tmp_path / "corpus.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler", "crawl", "--sites", str(path), "--db", str(corpus)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    log = tmp_path / "corpus-shards" / "127.0.0.1-{}".format(sites["block"].rsplit(":", 1)[1][:-1])
    deadline = time.monotonic() + 60
    while not (log / "warc").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)  # the block site's crawl is under way, a page each 0.4 s
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == ExitCode.INTERRUPTED, stdout + stderr
    assert wait_for_no_process_mentioning(str(tmp_path), 10) == [], "a crawl outlived the run"
    statuses = dict(
        rows(corpus, "SELECT s.url, r.status FROM runs r JOIN sites s ON s.id = r.site_id")
    )
    assert statuses[sites["block"]] == "interrupted"
    assert rows(corpus, "SELECT count(*) FROM captures")[0][0] > 0  # what it captured, merged
    check_provenance(corpus)


def test_a_site_over_its_time_limit_is_stopped(sites, tmp_path):
    """A page a second over some 28 pages: well past the limit, which itself leaves the crawl
    time to start on a loaded machine (a stop before its run began would record no run)."""
    path = write_sites_file(tmp_path / "sites.toml", [{"url": sites["block"], "tags": "all"}],
                            {"delay": 1})  # fmt: skip
    corpus = tmp_path / "corpus.db"
    started = time.monotonic()
    result = run_cli("crawl", "--sites", str(path), "--db", str(corpus), "--site-time-limit", "8")
    assert time.monotonic() - started < 90
    assert result.returncode == ExitCode.INTERRUPTED, result.stdout + result.stderr
    assert "over its time limit of 8 s" in result.stdout
    assert rows(corpus, "SELECT status FROM runs") == [("interrupted",)]
    assert rows(corpus, "SELECT count(*) FROM captures")[0][0] > 0  # what it fetched, merged


def test_the_worst_exit_code_wins():
    assert worst_exit([]) == ExitCode.OK
    assert worst_exit([0, 3, 0]) == ExitCode.PARTIAL
    assert worst_exit([3, 4]) == ExitCode.LOCKED
    assert worst_exit([5, 4, 0]) == ExitCode.INTERRUPTED
    assert worst_exit([5, 1, 3]) == ExitCode.FAILED
    assert worst_exit([0, -9]) == ExitCode.FAILED  # a crawl killed by a signal
