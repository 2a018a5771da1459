"""Run a command and measure its whole process tree: wall time, CPU, peak RSS.

    python -m tests.bench.measure -- COMMAND ARGS...   # prints one JSON line
    python -m tests.bench.measure --output FILE -- COMMAND ARGS...   # its output kept in FILE

os.wait4() on the command alone undercounts: multiprocessing's forkserver and the workers it
forks are not waited for by the command, so their CPU never reaches its rusage. This process
makes itself the child subreaper (prctl PR_SET_CHILD_SUBREAPER): every descendant that
outlives its parent is re-parented here and waited for, so RUSAGE_CHILDREN holds the CPU of
the whole tree. Peak RSS is the largest sum over the tree, sampled from /proc every 50 ms
(ru_maxrss gives only the largest single process; it is the floor of the figure).
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# Seconds between two readings of the tree's RSS. Each reads all of /proc: every 50 ms that
# took about 9% of a core, out of the two the measured command has, and more from a command
# with more processes; every 200 ms, a quarter of that.
SAMPLE_INTERVAL = 0.2


def _tree_rss(root: int) -> int:
    """Bytes resident in all of `root`'s descendants (not `root` itself), from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            statm = (entry / "statm").read_text()
        except OSError:
            continue  # it ended meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        rss[pid] = int(statm.split()[1]) * PAGE_SIZE
    total = 0
    for pid, size in rss.items():
        ancestor = parents[pid]
        while ancestor not in (root, 0, 1) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == root and pid != root:
            total += size
    return total


def measure(
    command: list[str], cwd: str | None = None, env: dict | None = None, output: str | None = None
) -> dict:
    """`output`: a file for the command's stdout and stderr (default: discarded)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    sink = open(output, "wb") if output else subprocess.DEVNULL  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=sink, stderr=sink)
    if output:
        sink.close()  # the command has its own copy
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(SAMPLE_INTERVAL):
            peak = max(peak, _tree_rss(os.getpid()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, _ = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    while True:  # the orphans re-parented here: forkservers, pool workers
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall": wall,
        "cpu": cpu,
        # a peak between two samples still shows in the largest single process's maxrss
        "rss_mb": max(peak, after.ru_maxrss * 1024) / 2**20,
        "code": os.waitstatus_to_exitcode(status),
    }


if __name__ == "__main__":
    args = sys.argv[1:]
    output = None
    if args[:1] == ["--output"]:
        output, args = args[1], args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    print(json.dumps(measure(args, output=output)))
