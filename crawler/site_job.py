"""One site's crawl, as a child process, into its shard: what `crawl --sites`
(crawler.sites_run) and a fleet worker (crawler.fleet) each do per site.

The child is `python -m crawler crawl SITE ... --db SHARD/archive.db --warc-dir SHARD/warc`,
the same command a person runs for one site, in a session of its own; its output goes to
SHARD/crawl.log. It is stopped gracefully (SIGTERM: the run ends `interrupted`, exit 5) when
its time limit passes or the caller asks, and killed if that stop does not end it; it gets
SIGTERM too if the process that started it dies (PR_SET_PDEATHSIG), so a killed worker
leaves no crawl behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from archive.shards import Shard
from crawler.sites import SiteConfig
from crawler.stop import STOP_SIGNALS

LOG_NAME = "crawl.log"
# After a graceful stop, how long the crawl gets to end its run (its own stop timeout, 30 s
# by default, and its exit) before it is killed.
STOP_GRACE = 45.0
POLL_INTERVAL = 0.2
_PR_SET_PDEATHSIG = 1


@dataclass
class SiteOutcome:
    url: str
    key: str
    exit_code: int  # the crawl's (crawler.run.ExitCode); -N: killed by signal N
    summary: str  # the crawl's own summary line, or what happened to it
    seconds: float
    shard: Path
    timed_out: bool = False


def crawl_command(site: SiteConfig, shard: Shard) -> list[str]:
    """The child's command line. With many sites at once, parallelism comes from the sites:
    each crawl uses one crawler process unless its site says otherwise."""
    args = site.crawl_args()
    if site.crawlers is None:
        args += ["--crawlers", "1"]
    return [
        sys.executable,
        "-m",
        "crawler",
        "crawl",
        *args,
        "--db",
        str(shard.db),
        "--warc-dir",
        str(shard.warc_dir),
    ]


def crawl_into_shard(
    site: SiteConfig,
    shard: Shard,
    *,
    time_limit: float | None = None,
    stop: threading.Event | None = None,
) -> SiteOutcome:
    """Crawl `site` into `shard` (created if missing) and wait for the crawl to end.
    `time_limit`: seconds before it is stopped gracefully; `stop`: set by the caller to stop
    it now. Never raises for what the crawl does: its exit code and summary say."""
    shard.directory.mkdir(parents=True, exist_ok=True)
    log_path = shard.directory / LOG_NAME
    started = time.monotonic()
    with open(log_path, "ab") as log:
        start = log.tell()
        log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {site.url}\n".encode())
        log.flush()
        try:
            with STOP_SIGNALS.blocked_for_child():
                child = subprocess.Popen(
                    crawl_command(site, shard),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # the caller's Ctrl-C reaches it once, from us
                    preexec_fn=_stop_with_parent,
                )
        except OSError as exc:
            return SiteOutcome(
                site.url, site.key, 1, f"could not start the crawl: {exc}", 0.0, shard.directory
            )
    timed_out = False
    stopping_since: float | None = None
    while child.poll() is None:
        now = time.monotonic()
        if stopping_since is None:
            over = time_limit is not None and now - started > time_limit
            if over or (stop is not None and stop.is_set()):
                timed_out = over
                _signal(child, signal.SIGTERM)
                stopping_since = now
        elif now - stopping_since > STOP_GRACE:
            _signal(child, signal.SIGKILL)
        time.sleep(POLL_INTERVAL)
    summary = _summary(log_path, start) or f"the crawl ended with exit status {child.returncode}"
    if timed_out:
        summary += f" (stopped: over its time limit of {time_limit:g} s)"
    return SiteOutcome(
        site.url,
        site.key,
        child.returncode,
        summary,
        time.monotonic() - started,
        shard.directory,
        timed_out,
    )


def _signal(child: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)  # its whole session: the crawl and its helpers


def _stop_with_parent() -> None:
    """In the child, before exec: SIGTERM when the thread that started it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _summary(log_path: Path, start: int) -> str | None:
    """The crawl's last `tag-archiver: ...` line written since `start`."""
    with open(log_path, "rb") as log:
        log.seek(start)
        lines = log.read().decode("utf-8", "replace").splitlines()
    found = [line for line in lines if line.startswith("tag-archiver: ")]
    return found[-1].removeprefix("tag-archiver: ") if found else None
