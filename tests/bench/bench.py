"""Benchmark: tag-archiver against a plain Scrapy spider and wget, on one static site.

    python -m tests.bench.bench                          # 2,000 and 20,000 pages, 3 runs each
    python -m tests.bench.bench --sizes 2000 --runs 5 --json results.json
    python -m tests.bench.bench --smoke                  # tiny, for CI: checks it works

Builds the site (tests/bench/site.py: 20 tags, 4 with --smoke; five distinct full articles
and ~80 KB of HTML a page; numbered pagination on half the tags, only older/newer links on
the others) and serves it with nginx on 127.0.0.1, compressing on the fly (gzip level 1, as a
WordPress behind nginx is served). For each size, in turns (A B C A B C ...), it runs
(a) tag-archiver crawl --delay 0 --no-articles (extraction, SQLite, WARC), (b) the plain
Scrapy spider that only follows the pagination, (c) wget --warc-file -r over the same tag
pages. Each command's whole process tree is measured (tests/bench/measure.py): wall time,
user+sys CPU, peak of the summed RSS.

Each (run, system) pair is served on its own port with its own access log, so the
benchmark counts, for each, the distinct tag archive pages answered 200: a system that
missed a page, or a command that failed, is an error (printed; exit status 1).

Then re-extraction speed from the crawl's WARCs, and FTS query latency on a database of
synthetic articles. Prints markdown tables of medians and the paired ratios (each the
median of the per-run ratios), and writes everything to --json PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.bench.site import NUMBERED, PER_PAGE, Site, build_site

ROOT = Path(__file__).resolve().parents[2]
SYSTEMS = ("tag-archiver", "plain scrapy", "wget")
TAGS = 20  # tags of a site of SIZE pages: SIZE / TAGS pages each

# text/html is always compressed when gzip is on (listing it again only draws a warning).
NGINX_CONF = """daemon off; worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{
  sendfile on; keepalive_timeout 30;
  client_body_temp_path {tmp}/b; proxy_temp_path {tmp}/p; fastcgi_temp_path {tmp}/f;
  uwsgi_temp_path {tmp}/u; scgi_temp_path {tmp}/s;
  types {{ text/html html; text/plain txt; text/css css; application/javascript js; }}
  default_type application/octet-stream;
  gzip on; gzip_comp_level 1; gzip_vary on;
  gzip_types text/plain text/css application/javascript application/json application/xml;
  log_format bench '$status $request_method "$request_uri" $body_bytes_sent $gzip_ratio "$http_user_agent"';
  index index.html;
{servers}
}}
"""
SERVER = """  server {{ listen 127.0.0.1:{port}; root {root}; access_log {log} bench; }}"""
LOG_LINE = re.compile(r'^(\d{3}) (\S+) "(.*?)" (\d+) (\S+) "(.*)"$')


@dataclass
class Measure:
    run: int
    system: str
    wall: float
    cpu: float
    rss_mb: float
    code: int
    server_cpu: float = 0.0  # nginx's worker, serving and compressing, meanwhile
    fetched: int = 0  # distinct tag archive pages answered 200
    missing: int = 0
    missing_sample: list[str] = field(default_factory=list)
    refetched: int = 0  # 200s for tag pages beyond the first of each
    other_requests: int = 0  # robots.txt, anything else, and every non-200
    gzipped: float = 0.0  # share of the tag pages answered 200 that were sent gzipped
    user_agents: list[str] = field(default_factory=list)


def measure(command: list[str], cwd: Path, output: Path | None = None) -> dict:
    """The command's whole process tree, extraction workers included (tests/bench/measure.py);
    its stdout and stderr go to `output`."""
    # PYTHONPATH: the repository's packages import from anywhere, but no scrapy.cfg is in
    # reach of cwd, so `scrapy runspider` gets Scrapy's defaults, not tag-archiver's settings.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    output = subprocess.run(
        [sys.executable, "-m", "tests.bench.measure", *(["--output", str(output)] if output else []), "--", *command],
        cwd=cwd, env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return json.loads(output)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class Nginx:
    """One nginx for the site; one server (port, access log) per (run, system)."""

    def __init__(self, root: Path, tmp: Path, runs: int) -> None:
        keys = [(run, system) for run in range(runs) for system in SYSTEMS]
        self.ports = dict(zip(keys, free_ports(len(keys)), strict=True))
        self.logs = {
            key: tmp / f"access-run{key[0]}-{key[1].replace(' ', '-')}.log" for key in keys
        }
        servers = "\n".join(
            SERVER.format(port=self.ports[key], root=root, log=self.logs[key]) for key in keys
        )
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, servers=servers))
        self.process = subprocess.Popen(
            [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-p", str(tmp)]
        )
        for port in self.ports.values():
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError as error:
                    if self.process.poll() is not None:
                        log = (tmp / "error.log").read_text()
                        raise RuntimeError(f"nginx failed: {log}") from error
                    time.sleep(0.05)
            else:
                raise RuntimeError("nginx did not start")

    def origin(self, run: int, system: str) -> str:
        return f"http://127.0.0.1:{self.ports[(run, system)]}"

    def cpu(self) -> float:
        """Seconds of CPU nginx's processes have used so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(entry.name) == self.process.pid or int(fields[1]) == self.process.pid:
                total += int(fields[11]) + int(fields[12])
        return total / ticks

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def count_fetches(log: Path, site: Site, result: Measure) -> None:
    """From the (run, system)'s access log: which tag pages it was answered 200."""
    fetched: Counter[str] = Counter()
    gzipped = 0
    agents: set[str] = set()
    lines = log.read_text().splitlines() if log.exists() else []
    for line in lines:
        match = LOG_LINE.match(line)
        if not match:
            result.other_requests += 1
            continue
        status, _, uri, _, ratio, agent = match.groups()
        agents.add(agent)
        if status == "200" and uri in site.paths:
            fetched[uri] += 1
            gzipped += ratio != "-"
        else:
            result.other_requests += 1
    result.fetched = len(fetched)
    missing = sorted(site.paths - fetched.keys())
    result.missing = len(missing)
    result.missing_sample = missing[:5]
    result.refetched = sum(fetched.values()) - len(fetched)
    result.gzipped = gzipped / max(1, sum(fetched.values()))
    result.user_agents = sorted(agents)


def commands(origin: str, tags: tuple[str, ...], out: Path) -> dict[str, list[str]]:
    out.mkdir(parents=True, exist_ok=True)
    tag_args = [arg for tag in tags for arg in ("--tag", tag)]
    return {
        "tag-archiver": [sys.executable, "-m", "crawler", "crawl", origin, *tag_args, "--db", str(out / "a.db"),
                         "--delay", "0", "--no-articles", "--log-level", "ERROR"],
        # Scrapy's defaults, but for 8 requests at a time, as tag-archiver's --delay 0 has
        "plain scrapy": [sys.executable, "-m", "scrapy", "runspider", str(ROOT / "tests/bench/plain_spider.py"),
                         "-a", f"site={origin}", "-a", f"tags={','.join(tags)}", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"],
        # -l inf: a tag with only "Older posts" links is as deep as it has pages (wget's
        # default depth is 5); the regex keeps wget to the tag archive pages the others fetch
        "wget": ["wget", "-q", "-r", "-l", "inf", "--no-parent", "-e", "robots=on",
                 "--accept-regex", r"/tag/[^/]+/(page/[0-9]+/)?$", "--compression=auto",
                 f"--warc-file={out / 'wget'}", "-P", str(out / "wget-files"),
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


def check_site(site: Site) -> None:
    """Two pages of each pagination form, through the extractor: PER_PAGE articles, each
    with a title, a date and content of its own, and a way on to the next page."""
    from archive.extract.page import extract_page

    headers = {"Content-Type": "text/html; charset=UTF-8"}
    digests = set()
    for form in sorted(set(site.forms.values())):
        tag = next(t for t, f in site.forms.items() if f == form)
        for number in range(1, min(2, site.pages_per_tag) + 1):
            path = f"/tag/{tag}/" if number == 1 else f"/tag/{tag}/page/{number}/"
            body = (site.root / path.strip("/") / "index.html").read_bytes()
            page = extract_page(f"http://127.0.0.1{path}", headers, body)
            ok = [a for a in page.articles if a.title and a.published and a.content]
            digests.update(a.content.sha256 for a in ok)
            assert len(ok) == PER_PAGE and not page.skipped, (path, page.articles, page.skipped)
            if site.pages_per_tag > number:
                assert page.next_url or page.page_urls, (path, "no pagination found")
    assert len(digests) == PER_PAGE * len(set(site.forms.values())) * min(2, site.pages_per_tag)


def paired(results: list[Measure], a: str, b: str, figure: str) -> dict:
    """a's figure over b's in each run, and the median of those ratios."""
    runs = sorted({m.run for m in results})
    by = {(m.run, m.system): getattr(m, figure) for m in results}
    ratios = [by[(r, a)] / by[(r, b)] for r in runs if by[(r, b)] > 0]
    return {"median": statistics.median(ratios) if ratios else None, "runs": ratios}


def layout(size: int) -> tuple[int, int]:
    """(tags, pages per tag) for a site of about `size` pages."""
    tags = TAGS if size >= 5 * TAGS else 4  # 4: one tag of each pagination form
    return tags, max(1, round(size / tags))


def bench(size: int, runs: int, work: Path, errors: list[str]) -> dict:
    tags_count, pages_per_tag = layout(size)
    started = time.monotonic()
    site = build_site(work / f"site-{size}", tags_count, pages_per_tag)
    built = time.monotonic() - started
    check_site(site)
    nginx_tmp = Path(tempfile.mkdtemp(dir=work))
    nginx_tmp.chmod(0o755)
    nginx = Nginx(site.root, nginx_tmp, runs)
    results: list[Measure] = []
    out = work / f"size-{size}"
    try:
        for run in range(runs):
            for system in SYSTEMS:
                command = commands(nginx.origin(run, system), site.tags, out / f"run{run}")[system]
                output = work / "output" / f"{site.pages}-run{run}-{system.replace(' ', '-')}.txt"
                output.parent.mkdir(exist_ok=True)
                server_before = nginx.cpu()
                result = Measure(run, system, **measure(command, work, output))
                result.server_cpu = nginx.cpu() - server_before
                count_fetches(nginx.logs[(run, system)], site, result)
                results.append(result)
                print(
                    f"  {site.pages} pages, run {run + 1}/{runs}, {system}: {result.wall:.1f} s, "
                    f"{result.fetched}/{site.pages} pages, exit {result.code}",
                    file=sys.stderr, flush=True,
                )  # fmt: skip
                if result.code != 0:
                    said = output.read_text(errors="replace").strip()[-1500:]
                    errors.append(
                        f"{site.pages} pages, run {run + 1}: {system} exited {result.code}; "
                        f"its output ended:\n{said}"
                    )
                if result.missing:
                    errors.append(
                        f"{site.pages} pages, run {run + 1}: {system} fetched {result.fetched} of "
                        f"{site.pages} tag pages; missing {result.missing}, e.g. {result.missing_sample}"
                    )
            # wget's copy of the site is not read again: the site's size, once more, on disk
            shutil.rmtree(out / f"run{run}" / "wget-files", ignore_errors=True)
    finally:
        nginx.stop()
    # re-extraction from the WARCs of the first run in which tag-archiver fetched every page
    complete = [m.run for m in results if m.system == "tag-archiver" and not m.missing]
    warcs = sorted((out / f"run{complete[0]}" / "a-warc").glob("*.warc.gz")) if complete else []
    reextract = {"wall": None, "code": None}  # not run: no crawl to re-extract
    if warcs:
        command = [sys.executable, "-m", "crawler", "reextract", "--db", str(out / "re.db")]
        reextract = measure([*command, *map(str, warcs)], work, work / "output" / "reextract.txt")
    if reextract["code"] != 0:
        errors.append(
            f"{site.pages} pages: reextract exited {reextract['code']} ({len(warcs)} WARCs)"
        )
    medians = {}
    for system in SYSTEMS:
        mine = [m for m in results if m.system == system]
        wall = statistics.median(m.wall for m in mine)
        cpu = statistics.median(m.cpu for m in mine)
        medians[system] = {
            "wall": wall,
            "cpu": cpu,
            "rss_mb": statistics.median(m.rss_mb for m in mine),
            "rss_mb_max": max(m.rss_mb for m in mine),
            "pages_per_s": site.pages / wall,
            "cpu_ms_per_page": cpu * 1000 / site.pages,
            "server_cpu": statistics.median(m.server_cpu for m in mine),
            "fetched_min": min(m.fetched for m in mine),
            "codes": sorted({m.code for m in mine}),
        }
    forms = Counter(site.forms.values())
    return {
        "pages": site.pages,
        "tags": tags_count,
        "pages_per_tag": pages_per_tag,
        "numbered_tags": sum(n for form, n in forms.items() if form in NUMBERED),
        "forms": dict(forms),
        "html_bytes_per_page": site.html_bytes / site.pages,
        "build_s": built,
        "runs": runs,
        "measurements": [asdict(m) for m in results],
        "medians": medians,
        "ratios": {
            "tag-archiver/wget wall": paired(results, "tag-archiver", "wget", "wall"),
            "tag-archiver/plain scrapy CPU": paired(results, "tag-archiver", "plain scrapy", "cpu"),
            "tag-archiver/plain scrapy wall": paired(
                results, "tag-archiver", "plain scrapy", "wall"
            ),
        },
        "reextract": {
            "wall": reextract["wall"],
            "pages_per_s": site.pages / reextract["wall"] if reextract["wall"] else None,
            "code": reextract["code"],
        },
    }


def report(results: list[dict], fts: tuple[int, float]) -> list[str]:
    lines = [f"tag-archiver benchmark on {os.cpu_count()} cores"]
    for size in results:
        lines += [
            "",
            f"{size['pages']:,} tag pages ({size['tags']} tags x {size['pages_per_tag']}, "
            f"{size['numbered_tags']} tags with numbered pagination, the others older/newer "
            f"links only; {size['html_bytes_per_page'] / 1000:.0f} KB of HTML a page, gzip on "
            f"the fly), median of {size['runs']} alternating runs",
            "",
            "| system | wall s | pages/s | CPU s | CPU ms/page | peak RSS MB | pages fetched "
            "| gzipped | nginx CPU s | exit |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for system, m in size["medians"].items():
            mine = [x for x in size["measurements"] if x["system"] == system]
            gzipped = min(x["gzipped"] for x in mine)
            codes = ",".join(map(str, m["codes"]))
            lines.append(
                f"| {system} | {m['wall']:.2f} | {m['pages_per_s']:.0f} | {m['cpu']:.2f} "
                f"| {m['cpu_ms_per_page']:.2f} | {m['rss_mb']:.0f} | {m['fetched_min']}/{size['pages']} "
                f"| {gzipped:.0%} | {m['server_cpu']:.2f} | {codes} |"
            )
        lines.append("")
        for name, ratio in size["ratios"].items():
            each = ", ".join(f"{r:.2f}" for r in ratio["runs"])
            median = "n/a" if ratio["median"] is None else f"{ratio['median']:.2f}x"
            lines.append(f"- {name}: **{median}** (per run: {each})")
        re_ = size["reextract"]
        lines.append(
            f"- re-extraction from WARC: {re_['pages_per_s']:.0f} pages/s "
            f"({re_['wall']:.2f} s, exit {re_['code']})"
            if re_["wall"]
            else "- re-extraction from WARC: not run (no complete crawl)"
        )
    if results:
        header = " | ".join(f"{s['pages']:,}" for s in results)
        growth = len(results) > 1
        lines += [
            "",
            f"| peak summed RSS MB | {header} |" + (" growth |" if growth else ""),
            "| --- |" + " ---: |" * (len(results) + growth),
        ]
        for system in SYSTEMS:
            values = [s["medians"][system]["rss_mb"] for s in results]
            row = " | ".join(f"{v:.0f}" for v in values)
            lines.append(
                f"| {system} | {row} |" + (f" {values[-1] - values[0]:+.0f} |" if growth else "")
            )
    lines += ["", f"FTS query latency, {fts[0]:,} articles: {fts[1]:.2f} ms (median)"]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        nargs="+",
        default=["2000", "20000"],
        help="tag pages per site (default 2000 20000)",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fts-articles", type=int, default=100_000)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one run: checks it works")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    sizes = [12] if args.smoke else [int(s) for arg in args.sizes for s in arg.split(",") if s]
    runs = 1 if args.smoke else args.runs
    fts_articles = 500 if args.smoke else args.fts_articles
    work = Path(tempfile.mkdtemp(prefix="tag-archiver-bench-"))
    work.chmod(0o755)  # nginx's workers run as an unprivileged user: they must read the site
    errors: list[str] = []
    started = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        results = [bench(size, runs, work, errors) for size in sizes]
        fts = (fts_articles, fts_latency(fts_articles, work))
        print("\n".join(report(results, fts)))
        if args.json:
            growth = {
                system: results[-1]["medians"][system]["rss_mb"] - results[0]["medians"][system]["rss_mb"]
                for system in SYSTEMS
            }  # fmt: skip
            args.json.write_text(
                json.dumps(
                    {
                        "started": started,
                        "cores": os.cpu_count(),
                        "sizes": results,
                        "rss_growth_mb": growth if len(results) > 1 else None,
                        "fts": {"articles": fts[0], "median_ms": fts[1]},
                        "errors": errors,
                    },
                    indent=1,
                )
                + "\n"
            )
    finally:
        if args.keep:
            print(f"work folder: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if errors:
        print("\n".join(f"ERROR: {error}" for error in errors), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
