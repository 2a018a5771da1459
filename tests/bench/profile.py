"""Where a page's CPU goes: the benchmark's crawl, per crawler process and per component.

    python -m tests.bench.profile                        # 20 tags x 100 pages (2,000 pages)
    python -m tests.bench.profile --tags 2 --pages 3     # tiny
    python -m tests.bench.profile --crawlers 1 --json profile.json --keep

Builds the benchmark's site (tests/bench/site.py) and serves it with the benchmark's nginx
(tests/bench/bench.py: gzip on the fly), then runs the benchmark's tag-archiver crawl
(bench.commands(): --delay 0 --no-articles) twice, each over a server of its own:

1. unprofiled, under tests/bench/measure.py: the whole process tree's CPU. Every Python
   process also writes its own getrusage (RUSAGE_SELF) at exit, which gives each crawler
   process's CPU (tests/bench/profile_hook.py, installed as sitecustomize, no profiler).
2. profiled: every thread of every crawler process under cProfile, on the thread's own
   CPU clock (profile_hook.py again), the stats of each process dumped at exit.

The crawl runs in several processes (crawler/shares.py): the first is the CLI's, which
starts the others as `python -m crawler.share CONFIG`; all of them inherit PYTHONPATH and
so import the hook. Each profiled function's tottime goes to a component by its file or
module (COMPONENT_RULES); built-ins by name (sqlite3, lxml, _regex, zlib...). Time in
functions of no component of their own (the standard library but asyncio and sqlite3,
builtins such as str.join or hashlib, w3lib and parsel, used by both Scrapy and the
extractor) is split between their callers by what each caller accounted for, up the call
graph until a function with a component: zlib under Scrapy's HttpCompressionMiddleware is
HTTP decompression, under warcio or gzip WARC. "other" is the crawler's own glue (crawler/),
imports and interpreter startup, and what no caller resolves ("unresolved").

The profiler inflates CPU: a read of the thread's CPU clock (a system call) on every call
and return, some 3-4 us a call here, against well under 1 us of work in most Python calls,
so left in it favours code of many small calls (Scrapy, Twisted) over long C calls (zlib,
SQLite's FTS5, lxml's parser). The first table takes it out: one cost a call, half from
the function called and half from its caller, fitted so that what is left over the whole
run is the unprofiled run's CPU (fit_per_call); the second table leaves it in. The CPU
ms/page figures are the unprofiled run's. (Checked once by hand: extract_page alone over
the site's pages, unprofiled, came to within a few percent of the extraction share times
the crawl's CPU.)
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from tests.bench.bench import ROOT, Measure, Nginx, commands, count_fetches
from tests.bench.site import Site, build_site

HOOK = Path(__file__).with_name("profile_hook.py")
PROFILE_ENV, RUSAGE_ENV = "TAG_ARCHIVER_BENCH_PROFILE", "TAG_ARCHIVER_BENCH_RUSAGE"
SYSTEM = "tag-archiver"  # the bench's server slots: run 0 unprofiled, run 1 profiled

COMPONENTS = {
    "framework": "Scrapy + Twisted + asyncio",
    "extraction": "extraction (archive/extract + lxml)",
    "storing": "storing (archive/store*, run_ledger, sqlite3)",
    "warc": "WARC (archive/warc, warcio, zlib/gzip)",
    "decompression": "HTTP decompression",
    "dateparser": "dateparser",
    "other": "other",
}
UNRESOLVED = "unresolved"  # reported in "other"; counted against coverage
GENERIC = None  # no component of its own: its callers'

STORING_MODULES = (
    "store.py", "store_thread.py", "run_ledger.py", "writer.py", "schema.py", "known_articles.py",
)  # fmt: skip
FRAMEWORK_PACKAGES = (
    "scrapy", "twisted", "zope", "queuelib", "itemadapter", "itemloaders", "protego",
    "pydispatch", "OpenSSL", "cryptography", "service_identity", "hyperlink", "automat",
    "constantly", "incremental", "attr", "attrs", "tldextract", "h2", "hpack", "hyperframe",
    "priority",
)  # fmt: skip

# (kind, prefix, component): kind "repo" (a path in this repository), "site" (in
# site-packages), "std" (in the standard library), "builtin" (a substring of a built-in's
# name). First match wins; a Python file nothing matches is GENERIC.
COMPONENT_RULES: list[tuple[str, str, str | None]] = [
    ("repo", "archive/extract/", "extraction"),
    ("repo", "archive/warc/", "warc"),
    *(("repo", f"archive/{name}", "storing") for name in STORING_MODULES),
    ("repo", "", "other"),  # the crawler's glue (crawler/), the rest of archive/
    ("site", "scrapy/downloadermiddlewares/httpcompression.py", "decompression"),
    ("site", "scrapy/utils/_compression.py", "decompression"),
    ("site", "scrapy/utils/gz.py", "decompression"),
    *(("site", f"{package}/", "framework") for package in FRAMEWORK_PACKAGES),
    ("site", "lxml/", "extraction"),
    ("site", "warcio/", "warc"),
    *(
        ("site", f"{package}/", "dateparser")
        for package in ("dateparser", "dateparser_data", "dateutil", "regex", "pytz", "tzlocal")
    ),
    ("site", "sqlite_utils/", "storing"),
    ("site", "sqlite_fts4", "storing"),
    ("std", "asyncio/", "framework"),
    ("std", "selectors.py", "framework"),
    ("std", "sqlite3/", "storing"),
    ("std", "importlib/", "other"),  # imports
    ("frozen", "", "other"),  # <frozen importlib._bootstrap>: imports
    ("builtin", "sqlite3", "storing"),
    ("builtin", "lxml", "extraction"),
    ("builtin", "_regex", "dateparser"),
    ("builtin", "select.epoll", "framework"),
    ("builtin", "_socket", "framework"),
]
# Functions of the crawler's glue whose own time is a component's: the spider's extract()
# calls extract_page, and the parsed page's lxml tree is freed as that call returns.
FUNCTION_RULES = {("crawler/spiders/tag_archive.py", "extract"): "extraction"}
# GENERIC, but WARC when no caller says otherwise (zlib and gzip are mostly the WARC's)
WARC_BY_DEFAULT = [("std", "gzip.py"), ("std", "_compression.py"), ("builtin", "zlib")]

STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()
SITE_PACKAGES = sorted(
    {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")},
    key=lambda p: -len(str(p)),
)


def where(func: tuple[str, int, str]) -> tuple[str, str]:
    """(kind, name): 'builtin' and the built-in's name; 'repo', 'site' or 'std' and the
    path inside; 'frozen'; or 'elsewhere' and the file."""
    filename, _, name = func
    if filename == "~":
        return "builtin", name
    if filename.startswith("<frozen"):
        return "frozen", filename
    path = Path(filename)
    if not path.is_absolute():
        return "elsewhere", filename
    for base, kind in (*((p, "site") for p in SITE_PACKAGES), (ROOT, "repo"), (STDLIB, "std")):
        if path.is_relative_to(base):
            return kind, path.relative_to(base).as_posix()
    return "elsewhere", filename


def direct(func: tuple[str, int, str]) -> tuple[str | None, str]:
    """(component or GENERIC, what GENERIC time falls back to when no caller resolves it)."""
    kind, name = where(func)
    if kind == "repo" and (name, func[2]) in FUNCTION_RULES:
        return FUNCTION_RULES[(name, func[2])], UNRESOLVED
    if kind == "repo" and name.startswith("tests/"):
        return "other", UNRESOLVED
    for rule_kind, prefix, component in COMPONENT_RULES:
        if rule_kind != kind:
            continue
        if (prefix in name) if kind == "builtin" else name.startswith(prefix):
            return component, UNRESOLVED
    for rule_kind, prefix in WARC_BY_DEFAULT:
        if rule_kind == kind and ((prefix in name) if kind == "builtin" else name == prefix):
            return GENERIC, "warc"
    return GENERIC, UNRESOLVED


class Attribution:
    """Components of one process's profiled time (its pstats dict), less `per_call` seconds
    of the profiler's own cost for each call, half charged to the function called and half
    to its caller (where the clock reads around a call land)."""

    def __init__(self, stats: dict, per_call: float = 0.0) -> None:
        self.stats = stats
        self.per_call = per_call
        self._up: dict = {}
        self.made: dict[tuple, int] = defaultdict(int)  # calls each function made
        for entry in stats.values():
            for caller, value in entry[4].items():
                self.made[caller] += value[0]

    def own(self, func: tuple) -> float:
        """func's tottime, less the profiler's cost of its calls, in and out."""
        count, tottime = self.stats[func][1], self.stats[func][2]
        return max(0.0, tottime - self.per_call / 2 * (count + self.made.get(func, 0)))

    def split(self, func: tuple, field: int, visiting: set) -> dict[str, float]:
        """The shares of func's time by component: its own, or its callers' (by each
        caller's part of func's tottime, field 2, or, higher up, cumtime, field 3)."""
        component, fallback = direct(func)
        if component is not GENERIC:
            return {component: 1.0}
        callers = self.stats[func][4] if func in self.stats else {}
        total = sum(value[field] for value in callers.values())
        shares: dict[str, float] = defaultdict(float)
        if total > 0:
            for caller, value in callers.items():
                if value[field] > 0:
                    for name, share in self.up(caller, visiting).items():
                        shares[name] += share * value[field] / total
        found = sum(shares.values())
        if found <= 0:
            return {fallback: 1.0}
        shares = {name: share / found for name, share in shares.items()}  # cycles cut
        if fallback != UNRESOLVED and UNRESOLVED in shares:
            shares[fallback] = shares.get(fallback, 0.0) + shares.pop(UNRESOLVED)
        return shares

    def up(self, func: tuple, visiting: set) -> dict[str, float]:
        if func in self._up:
            return self._up[func]
        if func in visiting:
            return {}  # a cycle: left to the other callers
        visiting.add(func)
        shares = self.split(func, 3, visiting)
        visiting.discard(func)
        self._up[func] = shares
        return shares

    def components(self) -> tuple[dict[str, float], dict[tuple, float], dict[tuple, float]]:
        """Seconds by component; the seconds each function gave to "other" (unresolved
        included), and those it left unresolved."""
        seconds: dict[str, float] = defaultdict(float)
        others: dict[tuple, float] = defaultdict(float)
        unresolved: dict[tuple, float] = defaultdict(float)
        for func in self.stats:
            tottime = self.own(func)
            if tottime <= 0:
                continue
            for name, share in self.split(func, 2, set()).items():
                seconds[name] += tottime * share
                if name in ("other", UNRESOLVED):
                    others[func] += tottime * share
                if name == UNRESOLVED:
                    unresolved[func] += tottime * share
        return dict(seconds), dict(others), dict(unresolved)


def role(report: dict) -> str | None:
    """'first' (the CLI), 'other' (a crawler.share process), None (not a crawler process)."""
    argv0 = Path(report["argv"][0]).as_posix() if report.get("argv") else ""
    if argv0.endswith("crawler/__main__.py"):
        return "first"
    if argv0.endswith("crawler/share.py"):
        return "other"
    return None


def reports(folder: Path) -> list[dict]:
    """Each process's JSON (profile_hook), its role added."""
    found = []
    for path in sorted(folder.glob("*.json")):
        report = json.loads(path.read_text())
        report["role"] = role(report)
        report["cpu"] = report["user"] + report["sys"]
        prof = path.with_suffix(".prof")
        report["prof"] = str(prof) if prof.exists() else None
        found.append(report)
    return found


def crawl_env(hook_dir: Path, variable: str, out: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": f"{hook_dir}{os.pathsep}{ROOT}", variable: str(out)}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    env.pop(PROFILE_ENV if variable == RUSAGE_ENV else RUSAGE_ENV, None)
    return env


def shown(env: dict[str, str], command: list[str], cwd: Path) -> str:
    names = ("PYTHONPATH", PROFILE_ENV, RUSAGE_ENV)
    variables = " ".join(f"{n}={shlex.quote(env[n])}" for n in names if n in env)
    return f"cd {shlex.quote(str(cwd))} && {variables} {shlex.join(command)}"


def check_fetches(nginx: Nginx, run: int, site: Site, figures: dict, label: str) -> Measure:
    result = Measure(run, SYSTEM, figures["wall"], figures["cpu"], 0.0, figures["code"])
    count_fetches(nginx.logs[(run, SYSTEM)], site, result)
    if result.code != 0 or result.missing:
        raise SystemExit(
            f"the {label} crawl exited {result.code} and fetched {result.fetched} of "
            f"{site.pages} pages (missing e.g. {result.missing_sample})"
        )
    return result


def profile(tags: int, pages: int, crawlers: int | None, work: Path) -> dict:
    site = build_site(work / "site", tags, pages)
    hook_dir = work / "hook"
    hook_dir.mkdir()
    shutil.copyfile(HOOK, hook_dir / "sitecustomize.py")
    nginx_tmp = work / "nginx"
    nginx_tmp.mkdir()
    nginx = Nginx(site.root, nginx_tmp, runs=2)
    runs = {}
    try:
        for run, (label, variable) in enumerate(
            (("unprofiled", RUSAGE_ENV), ("profiled", PROFILE_ENV))
        ):
            out = work / label
            dumps = out / "processes"
            dumps.mkdir(parents=True)
            command = commands(nginx.origin(run, SYSTEM), site.tags, out)[SYSTEM]
            if crawlers is not None:
                command += ["--crawlers", str(crawlers)]
            env = crawl_env(hook_dir, variable, dumps)
            output = out / "output.txt"
            print(f"  {label} crawl of {site.pages} pages...", file=sys.stderr, flush=True)
            if label == "unprofiled":
                measure = [sys.executable, "-m", "tests.bench.measure", "--output", str(output)]
                command = [*measure, "--", *command]
                measured = subprocess.run(
                    command, cwd=work, env=env, check=True, capture_output=True, text=True
                )
                figures = json.loads(measured.stdout)
            else:
                started = time.monotonic()
                with output.open("wb") as sink:
                    code = subprocess.run(command, cwd=work, env=env, stdout=sink, stderr=sink)
                figures = {"wall": time.monotonic() - started, "cpu": 0.0, "code": code.returncode}
            if figures["code"] != 0:
                print(output.read_text(errors="replace")[-3000:], file=sys.stderr)
            check_fetches(nginx, run, site, figures, label)
            runs[label] = {
                "command": shown(env, command, work),
                "wall": figures["wall"],
                "tree_cpu": figures["cpu"] if label == "unprofiled" else None,
                "processes": reports(dumps),
            }
    finally:
        nginx.stop()
    return {"pages": site.pages, "tags": tags, "pages_per_tag": pages, "runs": runs}


def fit_per_call(stats: list[dict], target: float) -> float:
    """The profiler's cost of a call (seconds) that leaves, removed from every function
    (Attribution.own, never below zero), `target` seconds: the unprofiled run's CPU."""
    attributions = [Attribution(one) for one in stats]

    def left(per_call: float) -> float:
        total = 0.0
        for attribution in attributions:
            attribution.per_call = per_call
            total += sum(attribution.own(func) for func in attribution.stats)
        return total

    low, high = 0.0, 1e-6
    if left(low) <= target:
        return 0.0
    while left(high) > target and high < 1e-3:
        low, high = high, high * 2
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (middle, high) if left(middle) > target else (low, middle)
    return (low + high) / 2


def shares_of(seconds: dict[str, float]) -> dict[str, float]:
    """Percent by component, unresolved time in "other"."""
    total = sum(seconds.values())
    if not total:
        return dict.fromkeys(COMPONENTS, 0.0)
    shares = {name: 100 * seconds.get(name, 0.0) / total for name in COMPONENTS}
    shares["other"] += 100 * seconds.get(UNRESOLVED, 0.0) / total
    return shares


def analyse(result: dict) -> dict:
    """Per group (first, other, whole run): CPU figures and component shares, with the
    profiler's per-call cost removed (fit_per_call, over the whole run) and without."""
    pages = result["pages"]
    unprofiled = [p for p in result["runs"]["unprofiled"]["processes"] if p["role"]]
    profiled = [p for p in result["runs"]["profiled"]["processes"] if p["role"]]
    stats = {p["pid"]: pstats.Stats(p["prof"]).stats for p in profiled if p["prof"]}
    calls = sum(entry[1] for one in stats.values() for entry in one.values())
    per_call = fit_per_call(list(stats.values()), sum(p["cpu"] for p in unprofiled))
    groups = {}
    for group, roles in (("first", {"first"}), ("other", {"other"}), ("whole", {"first", "other"})):
        mine = [p for p in profiled if p["role"] in roles]
        plain = [p for p in unprofiled if p["role"] in roles]
        if not mine:
            continue
        corrected: dict[str, float] = defaultdict(float)
        raw: dict[str, float] = defaultdict(float)
        unresolved: dict[tuple, float] = defaultdict(float)
        others: dict[tuple, float] = defaultdict(float)
        threads: dict[str, float] = defaultdict(float)
        for process in mine:
            if process["pid"] not in stats:
                continue
            for cost, seconds in ((per_call, corrected), (0.0, raw)):
                found, other, left = Attribution(stats[process["pid"]], cost).components()
                for name, value in found.items():
                    seconds[name] += value
                if cost == per_call:
                    for func, value in other.items():
                        others[func] += value
                if cost == 0.0:
                    for func, value in left.items():
                        unresolved[func] += value
            for thread in process.get("threads", []):
                # thread names end in a number per pool and process: grouped without it
                threads[re.sub(r"[_-]?\d+$", "", thread["name"])] += thread["profiled"]
        total = sum(raw.values())
        groups[group] = {
            "processes": len(mine),
            "processes_unprofiled": len(plain),
            "cpu_ms_per_page": 1000 * sum(p["cpu"] for p in plain) / pages if plain else None,
            "profiled_cpu_ms_per_page": 1000 * sum(p["cpu"] for p in mine) / pages,
            "corrected_ms_per_page": 1000 * sum(corrected.values()) / pages,
            "profiled_seconds": total,
            "shares": shares_of(corrected),
            "raw_shares": shares_of(raw),
            "unresolved_share": 100 * raw.get(UNRESOLVED, 0.0) / total if total else 0.0,
            "top_unresolved": [
                (pstats.func_std_string(func), value)
                for func, value in sorted(unresolved.items(), key=lambda i: -i[1])[:10]
            ],
            "top_other": [
                (pstats.func_std_string(func), 1000 * value / pages)
                for func, value in sorted(others.items(), key=lambda i: -i[1])[:8]
            ],
            "threads": {name: 100 * value / total for name, value in threads.items() if total},
            "missing_profiles": [p["pid"] for p in mine if p["pid"] not in stats],
        }
    every = result["runs"]["unprofiled"]["processes"] + result["runs"]["profiled"]["processes"]
    ignored = [
        " ".join(p["argv"])
        for p in every
        if p["role"] is None and not any("tests/bench/measure" in a for a in p["argv"])
    ]
    return {
        "groups": groups,
        "per_call_us": per_call * 1e6,
        "calls_per_page": calls / pages,
        "tree_cpu_ms_per_page": 1000 * result["runs"]["unprofiled"]["tree_cpu"] / pages,
        "ignored_processes": ignored,
    }


def table(analysis: dict, key: str = "shares", cpu: bool = True) -> list[str]:
    names = {"first": "first process (CLI)", "other": "other process(es)", "whole": "whole run"}
    columns = ["process", "count"]
    if cpu:
        columns += ["CPU ms/page, unprofiled", "CPU ms/page, profiled"]
    columns += [f"{label} %" for label in COMPONENTS.values()]
    lines = ["| " + " | ".join(columns) + " |", "| --- |" + " ---: |" * (len(columns) - 1)]
    for group, figures in analysis["groups"].items():
        cells = [names[group], str(figures["processes"])]
        if cpu:
            ms = figures["cpu_ms_per_page"]
            text = "n/a" if ms is None else f"{ms:.2f}"
            if group == "whole":
                text += f" (tree: {analysis['tree_cpu_ms_per_page']:.2f})"
            cells += [text, f"{figures['profiled_cpu_ms_per_page']:.2f}"]
        cells += [f"{figures[key].get(name, 0.0):.1f}" for name in COMPONENTS]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def report(result: dict, analysis: dict) -> list[str]:
    runs = result["runs"]
    whole = analysis["groups"].get("whole", {})
    lines = [
        f"tag-archiver CPU profile: {result['pages']:,} tag pages ({result['tags']} tags x "
        f"{result['pages_per_tag']}), {os.cpu_count()} cores; unprofiled crawl "
        f"{runs['unprofiled']['wall']:.1f} s wall, profiled {runs['profiled']['wall']:.1f} s",
        "",
        *table(analysis),
        "",
        "- CPU ms/page: user+sys CPU of the row's processes (getrusage at their exit) over "
        "all the site's pages, so the rows add up to the whole run; 'tree': "
        "tests/bench/measure.py's whole process tree, which also counts each interpreter's "
        "teardown after that reading.",
        "- Component %: shares of the profiled run's CPU (cProfile on each thread's CPU "
        f"clock) less the profiler's own cost, {analysis['per_call_us']:.2f} us a call "
        f"({analysis['calls_per_page']:,.0f} calls/page), half taken from the function "
        "called and half from its caller (never below 0): the cost that leaves the "
        "unprofiled run's CPU. So component ms/page = % x unprofiled CPU ms/page. "
        "Uncorrected shares, the profiler's cost left in (it favours many small calls "
        "over long C calls: zlib, sqlite, lxml's parser):",
        "",
        *table(analysis, "raw_shares", cpu=False),
        "",
    ]
    for group, figures in analysis["groups"].items():
        threads = ", ".join(
            f"{name} {share:.1f}%"
            for name, share in sorted(figures["threads"].items(), key=lambda i: -i[1])
            if share >= 0.1
        )
        lines.append(
            f"- {group}: classified {100 - figures['unresolved_share']:.1f}% of profiled time "
            f"({figures['profiled_seconds']:.1f} s; corrected "
            f"{figures['corrected_ms_per_page']:.2f} ms/page); by thread, uncorrected: {threads}"
        )
        if figures["missing_profiles"]:
            lines.append(f"  - no profile from pids {figures['missing_profiles']} (os._exit?)")
        if figures["unresolved_share"] > 10:
            lines.append("  - top unclassified functions:")
            lines += [f"    - {s:.2f} s {func}" for func, s in figures["top_unresolved"]]
    if whole:
        lines.append("- 'other', its largest functions in the whole run (corrected ms/page): ")
        lines += [f"  - {ms:.2f} {func}" for func, ms in whole["top_other"]]
    if analysis["ignored_processes"]:
        lines.append(f"- not crawler processes, left out: {analysis['ignored_processes']}")
    lines += [
        "",
        "Commands:",
        f"- unprofiled: {runs['unprofiled']['command']}",
        f"- profiled: {runs['profiled']['command']}",
    ]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--pages", type=int, default=100, help="pages per tag")
    parser.add_argument(
        "--crawlers", type=int, help="the crawl's --crawlers (default: the product's)"
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    print(f"command: {shlex.join([sys.executable, '-m', 'tests.bench.profile', *sys.argv[1:]])}")
    work = Path(tempfile.mkdtemp(prefix="tag-archiver-profile-"))
    work.chmod(0o755)  # nginx's workers run as an unprivileged user: they must read the site
    try:
        result = profile(args.tags, args.pages, args.crawlers, work)
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))  # call graphs walked up
        analysis = analyse(result)
        print("\n".join(report(result, analysis)))
        if args.json:
            args.json.write_text(json.dumps({**result, **analysis}, indent=1, default=str) + "\n")
    finally:
        if args.keep:
            print(f"work folder: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
