"""Several machines (crawler.fleet): a real Redis, real workers (`tag-archiver worker`, each in
a process of its own, as on its own machine), real sites on loopback.

The workers here use a short visibility timeout and lock TTL (VISIBILITY, LOCK_TTL) so that a
killed worker's site goes to the other one within seconds rather than an hour.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import sqlite_utils

from crawler.sites import SiteConfig
from crawler.snapshot import serve_snapshot
from tests.archive_view import articles_view
from tests.bench.site import build_site
from tests.helpers import ROOT, check_provenance, dump, run_cli, serve_static, write_sites_file
from tests.processes import session_members, wait_for_session_end
from tests.redis_server import RedisServer, free_port
from tests.wordpress_truth import live_origin

VISIBILITY = 8.0  # seconds: a killed worker's site goes to another worker after this long
LOCK_TTL = 4.0
# What a worker's options would be on a real machine, but quick: a failed site is tried
# twice, half a second apart.
WORKER_OPTIONS = (
    "--visibility-timeout", str(VISIBILITY),
    "--lock-ttl", str(LOCK_TTL),
    "--retries", "1",
    "--retry-delay", "0.5",
)  # fmt: skip
DEMO_TAGS = ["ai-scaling", "scaling-laws"]
STATIC_TAG = "tag-000"
STATIC_PAGES = 30
T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float = 60, what: str = "") -> T:
    """`check()`'s first true value, tried every 50 ms; fails the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what or check}")
        time.sleep(0.05)


# --- sites ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paginated(tmp_path_factory) -> Path:
    """A static WordPress-like site: one tag of STATIC_PAGES archive pages (tests/bench/site.py;
    no article pages, so it is crawled with `articles = false`)."""
    return build_site(tmp_path_factory.mktemp("paginated"), 1, STATIC_PAGES).root


def static_site(origin: str, delay: float = 0) -> dict:
    return {"url": origin, "tags": [STATIC_TAG], "delay": delay, "articles": False}


# --- Redis, workers, submit ------------------------------------------------------------------


@pytest.fixture
def broker() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def crawl_sessions(*needles: str) -> set[int]:
    """The sessions of `python -m crawler crawl` processes whose command line holds every
    needle (a shard's path, a site's URL): one per crawl, its helpers included."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        args = cmdline(int(entry.name))
        if args[1:4] == ["-m", "crawler", "crawl"] and all(
            any(needle in arg for arg in args) for needle in needles
        ):
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            found.add(int(stat[stat.rindex(")") + 2 :].split()[3]))
    return found


def fetching(shard: Path) -> bool:
    """The shard's crawl has begun its run and captured pages (a WARC file is open)."""
    return any((shard / "warc").glob("*.warc.gz.open"))


def live(sessions: set[int]) -> set[int]:
    return {session for session in sessions if session_members(session)}


class Worker:
    """`tag-archiver worker` in a session of its own, its stderr in a file."""

    def __init__(self, broker: str, data: Path, name: str, *options: str) -> None:
        self.name = f"{name}@test"  # Celery's node names are NAME@HOST
        self.data = data
        self.log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 -- closed in stop()
            "w+", prefix=f"worker-{name}-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crawler", "worker", "--broker", broker, "--data", str(data),
             "--hostname", self.name, *options],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=self.log_file,
            start_new_session=True,
        )  # fmt: skip

    def log(self) -> str:
        return Path(self.log_file.name).read_text(errors="replace")

    def wait_ready(self) -> None:
        wait_for(
            lambda: f"{self.name} ready." in self.log() or self.process.poll() is not None,
            what=f"worker {self.name} ready",
        )
        assert self.process.poll() is None, self.log()[-3000:]

    def kill(self) -> None:
        """SIGKILL to the worker's main process and its pool processes at once (its crawls,
        each in a session of its own, are left to end as they do)."""
        for pid in session_members(self.process.pid):
            os.kill(pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM (a warm shutdown), then SIGKILL for anything left, crawls included."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        for pid in wait_for_session_end(self.process.pid, timeout=5):
            os.kill(pid, signal.SIGKILL)
        for session in crawl_sessions(str(self.data)):
            for pid in wait_for_session_end(session, timeout=10):
                os.kill(pid, signal.SIGKILL)
        self.log_file.close()


@pytest.fixture
def workers(broker: RedisServer, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """start(name, *options): a worker DATA-NAME/ with WORKER_OPTIONS, once it is ready."""
    started: list[Worker] = []

    def start(name: str, *options: str) -> Worker:
        worker = Worker(broker.url, tmp_path / f"data-{name}", name, *WORKER_OPTIONS, *options)
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


def submit_command(sites_file: Path, broker: str, *options: str) -> list[str]:
    return [sys.executable, "-m", "crawler", "fleet", "submit", str(sites_file),
            "--broker", broker, "--visibility-timeout", str(VISIBILITY), *options]  # fmt: skip


@pytest.fixture
def submit_in_background() -> Iterator[Callable[[Path, str], subprocess.Popen]]:
    """start(sites_file, broker): `fleet submit --wait` running; ended at the test's end."""
    started: list[subprocess.Popen] = []

    def start(sites_file: Path, broker: str) -> subprocess.Popen:
        process = subprocess.Popen(
            submit_command(sites_file, broker, "--wait"),
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def site_lines(stdout: str) -> dict[str, str]:
    """`fleet submit --wait`'s line per site, by URL."""
    lines = [line for line in stdout.splitlines() if not line.startswith("tag-archiver: ")]
    by_url = {line.split(": ", 1)[0]: line for line in lines}
    assert len(by_url) == len(lines), stdout
    return by_url


def results(broker: RedisServer) -> list[dict]:
    """Every final result the workers recorded (crawler.fleet: done:<task id>)."""
    with broker.client() as client:
        return [json.loads(client.get(key)) for key in client.keys("tag-archiver:done:*")]


# --- merged and single databases -------------------------------------------------------------


def merge(corpus: Path, *data: Path) -> subprocess.CompletedProcess:
    result = run_cli("merge", "--db", str(corpus), *map(str, data))
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def crawl_one_by_one(sites: list[dict], db: Path) -> None:
    """Each site on its own, with `tag-archiver crawl`, as a person would, into `db`."""
    for site in sites:
        args = SiteConfig.from_dict({**site, "delay": 0}).crawl_args()
        result = run_cli("crawl", *args, "--db", str(db))
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]


def site_articles(db: Path, origin: str) -> dict[str, dict]:
    """articles_view() of one site's articles, with the site by URL instead of by id, and
    without the WARC record ids (each crawl writes its own records)."""
    sites = {
        row["id"]: row["url"] for row in sqlite_utils.Database(db).query("SELECT * FROM sites")
    }
    return {
        url: {
            **{k: v for k, v in entry.items() if k not in ("warc_record_id", "site_id")},
            "site": sites.get(entry.get("site_id")),
        }
        for url, entry in articles_view(db).items()
        if url.startswith(origin.rstrip("/") + "/")
    }


def check_merged(corpus: Path, single: Path, origins: list[str], *data: Path) -> None:
    """The merged database holds, site by site, what single crawls archived; every capture
    resolves to its whole WARC record; merging again adds nothing."""
    for origin in origins:
        merged = site_articles(corpus, origin)
        assert merged, f"nothing merged from {origin}"
        assert merged == site_articles(single, origin), origin
    check_provenance(corpus).close()
    before = dump(corpus)
    again = merge(corpus, *data)
    assert " 0 run(s) merged" in again.stdout and "already merged" in again.stdout, again.stdout
    assert dump(corpus) == before


def with_shards(*data: Path) -> list[Path]:
    """The data directories a worker wrote shards in (merge refuses an empty directory: a
    worker may have been given no site)."""
    return [d for d in data if d.is_dir() and any(d.iterdir())]


# --- the tests -------------------------------------------------------------------------------


@pytest.mark.wordpress
def test_two_workers_crawl_every_site_and_the_merge_equals_single_crawls(
    broker, workers, paginated, tmp_path
):
    block = live_origin("block")
    unreachable = f"http://127.0.0.1:{free_port()}"
    with serve_snapshot() as demo, serve_static(paginated) as static:
        sites = [
            {"url": demo.origin, "tags": DEMO_TAGS, "delay": 0},
            {"url": block, "tags": ["scaling-laws", "ai-scaling"], "delay": 0},
            static_site(static),
            {"url": unreachable, "tags": ["news"], "delay": 0},
        ]
        a, b = workers("a"), workers("b")
        sites_file = write_sites_file(tmp_path / "sites.toml", sites)
        result = subprocess.run(
            submit_command(sites_file, broker.url, "--wait"),
            cwd=ROOT, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        assert result.returncode == 1, result.stdout + result.stderr  # the unreachable site's
        lines = site_lines(result.stdout)
        assert sorted(lines) == sorted(SiteConfig.from_dict(s).url for s in sites)
        for site in sites[:3]:
            line = lines[SiteConfig.from_dict(site).url]
            assert line.endswith((f"[exit 0] on {a.name}", f"[exit 0] on {b.name}")), line
        failed = lines[f"{unreachable}/"]  # tried again once (--retries 1), then given up
        assert "FAILED: site unreachable" in failed, failed
        assert failed.endswith(
            (f"[exit 1] on {a.name} after 2 tries", f"[exit 1] on {b.name} after 2 tries")
        )
        assert "try 2 of 2" in a.log() + b.log()
        assert "exit 1" in result.stdout.splitlines()[-1]

        single = tmp_path / "single.db"
        crawl_one_by_one(sites[:3], single)
    corpus = tmp_path / "corpus.db"
    merge(corpus, *with_shards(a.data, b.data))
    check_merged(corpus, single, [demo.origin, block, static], *with_shards(a.data, b.data))


def test_a_worker_killed_mid_site_leaves_it_to_the_other_and_no_crawl_behind(
    broker, workers, submit_in_background, paginated, tmp_path
):
    with serve_static(paginated) as slow:
        site = static_site(slow, delay=0.5)  # STATIC_PAGES pages: some 15 s
        key = SiteConfig.from_dict(site).key
        a, b = workers("a"), workers("b")
        submitting = submit_in_background(
            write_sites_file(tmp_path / "sites.toml", [site]), broker.url
        )
        taken = wait_for(
            lambda: next((w for w in (a, b) if (w.data / key / "crawl.log").exists()), None),
            what="a worker takes the site",
        )
        other = b if taken is a else a
        crawl = wait_for(lambda: crawl_sessions(str(taken.data)), what="its crawl starts")
        wait_for(lambda: fetching(taken.data / key), what="its crawl fetches pages")
        taken.kill()
        # Its pool process gone, the crawl gets SIGTERM (PR_SET_PDEATHSIG) and ends.
        wait_for(lambda: not live(crawl), what="the killed worker's crawl ends")

        stdout, stderr = submitting.communicate(timeout=180)
        assert submitting.returncode == 0, stdout + stderr + other.log()[-3000:]
        line = site_lines(stdout)[SiteConfig.from_dict(site).url]
        assert line.endswith(f"[exit 0] on {other.name}"), line
        assert not crawl_sessions(str(taken.data))

        single = tmp_path / "single.db"
        crawl_one_by_one([site], single)
    killed_runs = sqlite_utils.Database(taken.data / key / "archive.db").query(
        "SELECT status FROM runs"
    )
    assert [r["status"] for r in killed_runs] == ["interrupted"]
    corpus = tmp_path / "corpus.db"
    merge(corpus, a.data, b.data)
    check_merged(corpus, single, [slow], a.data, b.data)


# A pool process whose worker died without taking it along: in place of the worker, a process
# that starts it and is SIGKILLed. It runs a site's crawl under crawler.fleet.CrawlGuard, as
# the task does, and writes the outcome when the crawl has ended.
ORPHAN = """
import json, os, sys
from pathlib import Path
from archive.shards import Shard
from crawler.fleet import CrawlGuard, SiteLock, broker_client
from crawler.site_job import crawl_into_shard
from crawler.sites import SiteConfig

broker, site, shard, out = sys.argv[1:]
site = SiteConfig.from_dict(json.loads(site))
lock = SiteLock(broker_client(broker), site.key, "orphan", ttl=30)
assert lock.acquire()
with CrawlGuard(lock, parent=os.getppid()) as guard:
    outcome = crawl_into_shard(site, Shard(Path(shard)), stop=guard.stop)
lock.release()
Path(out).write_text(json.dumps([outcome.exit_code, guard.orphaned, guard.lost]))
"""
PARENT = "import subprocess, sys, time; subprocess.Popen(sys.argv[1:]); time.sleep(600)"


def test_a_pool_process_whose_worker_died_stops_its_crawl(broker, paginated, tmp_path):
    out = tmp_path / "outcome.json"
    shard = tmp_path / "shard"
    with serve_static(paginated) as slow:
        site = static_site(slow, delay=0.5)
        parent = subprocess.Popen(
            [sys.executable, "-c", PARENT, sys.executable, "-c", ORPHAN, broker.url,
             json.dumps(site), str(shard), str(out)],
            cwd=ROOT, start_new_session=True,
        )  # fmt: skip
        crawl = wait_for(lambda: crawl_sessions(str(shard)), what="the crawl starts")
        wait_for(lambda: fetching(shard), what="the crawl fetches pages")
        parent.kill()
        parent.wait()
        wait_for(out.exists, what="the orphaned process notices and its crawl ends")
    assert json.loads(out.read_text()) == [5, True, False]  # interrupted: stopped gracefully
    assert not live(crawl)
    assert wait_for_session_end(parent.pid, timeout=10) == []
    with broker.client() as client:
        assert client.keys("tag-archiver:lock:*") == []


def test_a_site_is_never_crawled_by_two_workers_at_once(
    broker, workers, submit_in_background, paginated, tmp_path
):
    with serve_static(paginated) as origin:
        site = static_site(origin, delay=0.1)  # some 4 s
        url = SiteConfig.from_dict(site).url
        a, b = workers("a", "--concurrency", "1"), workers("b", "--concurrency", "1")
        sites_file = write_sites_file(tmp_path / "sites.toml", [site])
        first = submit_in_background(sites_file, broker.url)
        second = submit_in_background(sites_file, broker.url)  # the same site, again
        most = 0
        while first.poll() is None or second.poll() is None:
            most = max(most, len(crawl_sessions(url)))
            time.sleep(0.02)
        for submitting in (first, second):
            stdout, stderr = submitting.communicate()
            assert submitting.returncode == 0, stdout + stderr
    assert most == 1
    crawls = sorted(results(broker), key=lambda r: r["started_at"])
    assert [r["exit_code"] for r in crawls] == [0, 0]
    assert crawls[0]["ended_at"] <= crawls[1]["started_at"]
    assert "being crawled (locked by " in a.log() + b.log()


def test_a_site_handed_out_again_while_it_is_crawled_is_crawled_once(
    broker, workers, paginated, tmp_path
):
    """A visibility timeout shorter than a crawl: Redis hands the message out again while
    the crawl runs. The copy finds the site locked and waits, then finds the result."""
    short = "3"
    with serve_static(paginated) as origin:
        site = static_site(origin, delay=0.3)  # some 10 s
        key = SiteConfig.from_dict(site).key
        a = workers("a", "--visibility-timeout", short)  # two slots: the copy takes the other
        sites_file = write_sites_file(tmp_path / "sites.toml", [site])
        result = subprocess.run(
            submit_command(sites_file, broker.url, "--wait", "--visibility-timeout", short),
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(site_lines(result.stdout)) == 1
    assert "being crawled (locked by a@test" in a.log(), a.log()[-3000:]
    # The copy, waiting for the lock, runs once more after the crawl has ended.
    wait_for(
        lambda: "already crawled (a copy of its message delivered again)" in a.log(),
        what="the copy finds the result",
    )
    starts = [
        line
        for line in (a.data / key / "crawl.log").read_text().splitlines()
        if line.startswith("--- ")
    ]
    assert len(starts) == 1  # crawled once


def test_a_site_over_its_time_limit_is_stopped_and_not_tried_again(
    broker, workers, paginated, tmp_path
):
    with serve_static(paginated) as slow:
        site = static_site(slow, delay=0.5)
        a = workers("a", "--site-time-limit", "3", "--retries", "2")
        result = subprocess.run(
            submit_command(write_sites_file(tmp_path / "sites.toml", [site]), broker.url, "--wait"),
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert result.returncode == 5, result.stdout + result.stderr  # interrupted
    line = site_lines(result.stdout)[SiteConfig.from_dict(site).url]
    assert line.endswith(f"(stopped: over its time limit of 3 s) [exit 5] on {a.name}"), line
    assert "try 2 of" not in a.log()


def test_a_site_locked_elsewhere_waits_for_its_lock(broker, workers, paginated, tmp_path):
    with serve_static(paginated) as origin:
        site = static_site(origin)
        key = SiteConfig.from_dict(site).key
        with broker.client() as client:
            client.set(f"tag-archiver:lock:{key}", "another worker", px=int(LOCK_TTL * 1000))
        locked_until = time.time() + LOCK_TTL
        a = workers("a")
        result = subprocess.run(
            submit_command(write_sites_file(tmp_path / "sites.toml", [site]), broker.url, "--wait"),
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "being crawled (locked by another worker); tried again in" in a.log()
    (crawled,) = results(broker)
    assert crawled["started_at"] >= locked_until - 0.5


def test_a_message_delivered_again_returns_the_recorded_result(broker, workers, tmp_path):
    from crawler.fleet import submit

    site = SiteConfig.from_dict({"url": f"http://127.0.0.1:{free_port()}", "tags": ["news"]})
    recorded = {"url": site.url, "exit_code": 3, "summary": "crawled before", "worker": "c"}
    with broker.client() as client:
        client.set(f"tag-archiver:done:{site.key}@night-1", json.dumps(recorded))
    a = workers("a")
    lines: list[str] = []
    code = submit([site], broker.url, wait=True, submission="night-1", report=lines.append)
    assert code == 3
    assert lines[1] == f"{site.url}: crawled before [exit 3] on c"
    assert not (a.data / site.key).exists()  # not crawled again
    assert "already crawled" in a.log()


def test_submit_fails_fast_when_the_broker_is_down(tmp_path):
    sites_file = write_sites_file(tmp_path / "sites.toml", [static_site("http://127.0.0.1:9")])
    port = free_port()
    result = run_cli(
        "fleet", "submit", str(sites_file), "--broker", f"redis://:secret@127.0.0.1:{port}/0",
        "--wait", timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"tag-archiver: cannot reach the broker at redis://:**@127.0.0.1:{port}/0: "
    ), result.stderr
    assert "Connection refused" in result.stderr
    assert "Traceback" not in result.stderr and "secret" not in result.stderr


def test_a_broker_that_goes_away_ends_the_wait(broker, submit_in_background, tmp_path):
    sites_file = write_sites_file(tmp_path / "sites.toml", [static_site("http://127.0.0.1:9")])
    submitting = submit_in_background(sites_file, broker.url)  # no worker: it waits
    with broker.client() as client:
        wait_for(lambda: client.llen("celery") == 1, what="the site queued")
    broker.stop()
    stdout, stderr = submitting.communicate(timeout=60)
    assert submitting.returncode == 1, stdout + stderr
    assert stderr.startswith(
        f"tag-archiver: lost the broker at {broker.url} while waiting for 1 of 1 sites: "
    ), stderr
    assert "Traceback" not in stderr


def test_a_bad_sites_file_is_a_usage_error(tmp_path):
    sites_file = tmp_path / "sites.toml"
    sites_file.write_text('[[site]]\nurl = "http://127.0.0.1:9/"\ntags = ["x"]\ndelay = -1\n')
    result = run_cli("fleet", "submit", str(sites_file), "--broker", "redis://127.0.0.1:9/0")
    assert result.returncode == 2
    assert result.stderr.startswith(f"tag-archiver: {sites_file}, line 4"), result.stderr


def test_the_commands_have_help_and_the_librarys_defaults():
    from crawler import fleet, fleet_cli

    for args in (["fleet", "--help"], ["fleet", "submit", "--help"], ["worker", "--help"]):
        result = run_cli(*args)
        assert result.returncode == 0 and "Usage:" in result.stdout, result.stderr
    for name in (
        "DEFAULT_VISIBILITY_TIMEOUT",
        "DEFAULT_CONCURRENCY",
        "DEFAULT_RETRIES",
        "DEFAULT_RETRY_DELAY",
        "DEFAULT_LOCK_TTL",
    ):
        assert getattr(fleet_cli, name) == getattr(fleet, name), name


# --- the nightly schedule from Celery beat ---------------------------------------------------


def test_beat_queues_every_site_on_its_schedule(broker, workers, paginated, tmp_path):
    worker = workers("a")
    with serve_static(paginated) as origin:
        site = static_site(origin)
        sites_file = write_sites_file(tmp_path / "sites.toml", [site])
        shard = worker.data / SiteConfig.from_dict(site).key / "archive.db"
        beat = subprocess.Popen(
            [sys.executable, "-m", "crawler", "fleet", "beat", str(sites_file), "--broker",
             broker.url, "--every", "3", "--state", str(tmp_path / "beat-state"),
             "--visibility-timeout", str(VISIBILITY)],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
        try:

            def finished_runs() -> int:
                if not shard.exists():
                    return 0
                db = sqlite_utils.Database(shard)
                try:
                    return db.execute(
                        "SELECT count(*) FROM runs WHERE status = 'finished'"
                    ).fetchone()[0]
                except sqlite3.OperationalError:  # its first crawl is creating it
                    return 0
                finally:
                    db.close()

            wait_for(lambda: finished_runs() >= 2, timeout=120, what="two scheduled crawls")
        finally:
            beat.terminate()
            output = beat.communicate(timeout=30)[0]
    assert "1 sites, every 3 s" in output
    assert "Traceback" not in output


def test_beat_refuses_a_time_of_day_it_cannot_read(tmp_path):
    sites_file = write_sites_file(
        tmp_path / "sites.toml", [{"url": "http://a.test/", "tags": ["x"]}]
    )
    result = run_cli("fleet", "beat", str(sites_file), "--broker", "redis://127.0.0.1:9/0",
                     "--at", "25:00")  # fmt: skip
    assert result.returncode == 2
    assert "--at takes a time of day as HH:MM, not '25:00'" in result.stderr
