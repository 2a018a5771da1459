"""Benchmark: tag-archiver against a plain Scrapy spider and wget, on one static site.

    python -m tests.bench.bench                 # 2,000 and 20,000 pages, 3 runs each
    python -m tests.bench.bench --sizes 2000 --runs 5
    python -m tests.bench.bench --smoke         # tiny, for CI: checks it works, times nothing

Builds the site (tests/bench/site.py) and serves it with nginx on 127.0.0.1 (gzip_static).
For each size, alternating the three, runs (a) tag-archiver crawl --delay 0 --no-articles
(extraction, SQLite, WARC), (b) the plain spider that only follows pagination, (c) wget
--warc-file -r over the same tag pages. Each command's whole process tree is measured
(tests/bench/measure.py): wall time, user+sys CPU, peak RSS. Then re-extraction speed from
the crawl's WARCs, and FTS query latency on a database of synthetic articles. Prints medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.bench.site import build_site

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = """daemon off; worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off; sendfile on; keepalive_timeout 30;
  client_body_temp_path {tmp}/b; proxy_temp_path {tmp}/p; fastcgi_temp_path {tmp}/f;
  uwsgi_temp_path {tmp}/u; scgi_temp_path {tmp}/s;
  types {{ text/html html; text/plain txt; }}
  server {{
    listen 127.0.0.1:{port}; root {root}; gzip_static on;
    location / {{ try_files $uri $uri/index.html =404; }}
  }}
}}
"""


@dataclass
class Measure:
    wall: float
    cpu: float
    rss_mb: float
    code: int


def measure(command: list[str], cwd: Path) -> Measure:
    """The command's whole process tree, extraction workers included (tests/bench/measure.py)."""
    # PYTHONPATH: the repository's packages import from anywhere, but no scrapy.cfg is in
    # reach of cwd, so `scrapy runspider` gets Scrapy's defaults, not tag-archiver's settings.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    output = subprocess.run(
        [sys.executable, "-m", "tests.bench.measure", "--", *command],
        cwd=cwd, env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    result = json.loads(output)
    return Measure(result["wall"], result["cpu"], result["rss_mb"], result["code"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Nginx:
    def __init__(self, root: Path, tmp: Path) -> None:
        self.port = free_port()
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=self.port, root=root))
        self.process = subprocess.Popen(
            [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-p", str(tmp)]
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def commands(origin: str, tags: list[str], work: Path, run: int) -> dict[str, list[str]]:
    out = work / f"run{run}"
    out.mkdir(parents=True, exist_ok=True)
    tag_args = [arg for tag in tags for arg in ("--tag", tag)]
    return {
        "tag-archiver": [sys.executable, "-m", "crawler", "crawl", origin, *tag_args, "--db", str(out / "a.db"),
                         "--delay", "0", "--no-articles", "--log-level", "ERROR"],
        "plain scrapy": [sys.executable, "-m", "scrapy", "runspider", str(ROOT / "tests/bench/plain_spider.py"),
                         "-a", f"site={origin}", "-a", f"tags={','.join(tags)}", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"],
        "wget": ["wget", "-q", "-r", "-l", "inf", "--no-parent", "-e", "robots=on", "--accept-regex", "/tag/",
                 "--compression=auto", f"--warc-file={out / 'wget'}", "-P", str(out / "wget-files"),
                 *[f"{origin}/tag/{tag}/" for tag in tags]],
    }  # fmt: skip


def fts_latency(articles: int, work: Path) -> float:
    """Median ms of a stemmed full-text query over `articles` synthetic articles."""
    from archive.store import Store

    store = Store(work / "fts.db")
    words = [
        "scale",
        "scaling",
        "agents",
        "inference",
        "compute",
        "data",
        "models",
        "training",
        "evaluation",
        "policy",
    ]
    with store.db.atomic():
        store.db["articles"].insert_all(
            {
                "url": f"http://b.test/{n}/", "title": f"Article {n} on {words[n % 10]}",
                "content_text": " ".join(words[(n + k) % 10] for k in range(400)),
                "record_source": "single", "extractor_version": "1", "first_seen": "t", "last_seen": "t",
            }
            for n in range(articles)
        )  # fmt: skip
        # Written around the Store, so indexed here as Store.save would have.
        store.db["articles"].rebuild_fts()
    times = []
    for word in words:
        started = time.perf_counter()
        store.db.execute(
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rank LIMIT 20",
            [word],
        ).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    store.close()
    return statistics.median(times)


def bench(size: int, runs: int, work: Path, report: list[str]) -> None:
    tags_count = max(1, size // 100) if size >= 100 else 2
    pages_per_tag = size // tags_count
    site = work / f"site-{size}"
    build_site(site, tags_count, pages_per_tag)
    pages = tags_count * pages_per_tag
    tags = [f"tag-{t:03d}" for t in range(tags_count)]
    nginx_tmp = Path(tempfile.mkdtemp(dir=work))
    nginx_tmp.chmod(0o755)
    nginx = Nginx(site, nginx_tmp)
    results: dict[str, list[Measure]] = {}
    try:
        origin = f"http://127.0.0.1:{nginx.port}"
        for run in range(runs):
            for name, command in commands(origin, tags, work / f"size-{size}", run).items():
                results.setdefault(name, []).append(measure(command, work))
        reextract = measure(
            [sys.executable, "-m", "crawler", "reextract", "--db", str(work / f"size-{size}" / "re.db"),
             *map(str, sorted((work / f"size-{size}" / "run0" / "a-warc").glob("*.warc.gz")))],
            work,
        )  # fmt: skip
    finally:
        nginx.stop()
    report.append(
        f"\n{pages} tag pages ({tags_count} tags x {pages_per_tag}), median of {runs} runs"
    )
    report.append(
        f"{'':<14}{'wall s':>9}{'pages/s':>10}{'CPU ms/page':>13}{'peak RSS MB':>13}{'exit':>6}"
    )
    medians = {}
    for name, measures in results.items():
        wall = statistics.median(m.wall for m in measures)
        cpu = statistics.median(m.cpu for m in measures)
        rss = max(m.rss_mb for m in measures)
        medians[name] = (wall, cpu)
        codes = ",".join(sorted({str(m.code) for m in measures}))
        report.append(
            f"{name:<14}{wall:>9.2f}{pages / wall:>10.0f}{cpu * 1000 / pages:>13.2f}{rss:>13.0f}{codes:>6}"
        )
    a = medians["tag-archiver"]
    for other in ("plain scrapy", "wget"):
        b = medians[other]
        report.append(
            f"tag-archiver / {other}: wall {a[0] / b[0]:.2f}x, CPU per page {a[1] / b[1]:.2f}x"
        )
    report.append(
        f"re-extraction from WARC: {pages / reextract.wall:.0f} pages/s ({reextract.wall:.2f} s, exit {reextract.code})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="2000,20000", help="tag pages per site, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fts-articles", type=int, default=100_000)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one run: checks it works")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    sizes = [6] if args.smoke else [int(s) for s in args.sizes.split(",")]
    runs = 1 if args.smoke else args.runs
    fts_articles = 500 if args.smoke else args.fts_articles
    work = Path(tempfile.mkdtemp(prefix="tag-archiver-bench-"))
    work.chmod(0o755)  # nginx's workers run as an unprivileged user: they must read the site
    report = [f"tag-archiver benchmark on {os.cpu_count()} cores"]
    try:
        for size in sizes:
            bench(size, runs, work, report)
        report.append(
            f"\nFTS query latency, {fts_articles} articles: {fts_latency(fts_articles, work):.2f} ms (median)"
        )
        print("\n".join(report))
    finally:
        if args.keep:
            print(f"work folder: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
