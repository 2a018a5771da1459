"""Fleet throughput on this machine: sites and pages per minute with one and two workers.

    python -m tests.bench.fleet_bench                     # 8 sites of 10 pages, 2 runs each
    python -m tests.bench.fleet_bench --sites 16 --pages 20 --runs 3

Each site is the benchmark site (tests/bench/site.py: one tag of PAGES archive pages of
~80 KB, five articles each) on a port of its own, crawled with `articles = false` and no
delay. For each layout (workers x sites at once), a fresh redis-server and fresh data
directories; the time is that of `tag-archiver fleet submit --wait`, from queueing to the
last site's result, with the workers already started.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from tests.bench.site import build_site
from tests.helpers import ROOT, serve_static, write_sites_file
from tests.redis_server import RedisServer

LAYOUTS = ((1, 2), (2, 2), (1, 4))  # (workers, --concurrency)
READY_TIMEOUT = 60.0


def run(layout: tuple[int, int], sites: int, site_root: Path, work: Path) -> tuple[float, int]:
    """(seconds, pages) of one submission crawled by the layout's workers."""
    workers, concurrency = layout
    with RedisServer() as redis, ExitStack() as stack:
        origins = [stack.enter_context(serve_static(site_root)) for _ in range(sites)]
        sites_file = write_sites_file(
            work / "sites.toml",
            [{"url": origin, "tags": ["tag-000"], "articles": False} for origin in origins],
            {"delay": 0},
        )
        started: list[tuple[subprocess.Popen, Path]] = []
        try:
            for n in range(workers):
                log = work / f"worker-{n}.log"
                with open(log, "w") as out:
                    process = subprocess.Popen(
                        [sys.executable, "-m", "crawler", "worker", "--broker", redis.url,
                         "--data", str(work / f"data-{n}"), "--hostname", f"w{n}@bench",
                         "--concurrency", str(concurrency)],
                        cwd=ROOT, stdout=out, stderr=out,
                    )  # fmt: skip
                started.append((process, log))
            deadline = time.monotonic() + READY_TIMEOUT
            for n, (_process, log) in enumerate(started):
                while f"w{n}@bench ready." not in log.read_text():
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"worker {n} did not start: {log.read_text()[-2000:]}")
                    time.sleep(0.05)
            begun = time.monotonic()
            result = subprocess.run(
                [sys.executable, "-m", "crawler", "fleet", "submit", str(sites_file),
                 "--broker", redis.url, "--wait"],
                cwd=ROOT, capture_output=True, text=True,
            )  # fmt: skip
            seconds = time.monotonic() - begun
        finally:
            for process, _log in started:
                process.terminate()
            for process, _log in started:
                process.wait()
    if result.returncode != 0:
        raise RuntimeError(f"fleet submit failed: {result.stdout}{result.stderr}")
    return seconds, sum(int(n) for n in re.findall(r": (\d+) tag pages", result.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=8)
    parser.add_argument("--pages", type=int, default=10, help="tag archive pages a site")
    parser.add_argument("--runs", type=int, default=2)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        site_root = build_site(Path(tmp) / "site", 1, options.pages).root
        for layout in LAYOUTS:
            for number in range(options.runs):
                work = Path(tmp) / f"run-{layout[0]}x{layout[1]}-{number}"
                work.mkdir()
                seconds, pages = run(layout, options.sites, site_root, work)
                print(
                    f"{layout[0]} worker(s) x {layout[1]} sites at once, run {number + 1}: "
                    f"{options.sites} sites, {pages} pages in {seconds:.1f} s = "
                    f"{options.sites / seconds * 60:.1f} sites/min, "
                    f"{pages / seconds * 60:.0f} pages/min",
                    flush=True,
                )


if __name__ == "__main__":
    main()
