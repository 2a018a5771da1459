"""`tag-archiver crawl --sites FILE --db CORPUS`: many sites in one run, on one machine.

Each site is crawled by its own crawl process into its own shard (crawler.site_job), a few
at a time (`parallel`), so each keeps its own politeness (delay, concurrency, robots.txt,
Retry-After, backoff) and one site's failure never touches another's. As each crawl ends, its
shard is merged into the corpus (archive.merge), by this process alone, which holds the
corpus's run lock throughout. Shards stay in CORPUS-shards/ (one directory per site key), so
the next run of each site is incremental.

A first SIGINT/SIGTERM stops every crawl gracefully (what they captured is merged; exit 5); a
second kills them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from archive.errors import ArchiveError
from archive.lock import RunLock
from archive.merge import merge_shard
from archive.shards import Shard
from archive.store import Store
from archive.warc.files import default_warc_dir
from crawler.site_job import SiteOutcome, crawl_into_shard
from crawler.sites import SiteConfig
from crawler.stop import STOP_SIGNALS
from crawler.verdict import ExitCode

# From the best exit code to the worst: the run exits with its worst site's.
SEVERITY = (
    ExitCode.OK,
    ExitCode.PARTIAL,
    ExitCode.LOCKED,
    ExitCode.INTERRUPTED,
    ExitCode.FAILED,
)
_OUTCOME_NAMES = {
    ExitCode.OK: "done",
    ExitCode.PARTIAL: "with errors",
    ExitCode.LOCKED: "locked",
    ExitCode.INTERRUPTED: "interrupted",
    ExitCode.FAILED: "failed",
}
DEFAULT_PARALLEL = 8


def worst_exit(codes: Iterable[int]) -> int:
    """The worst of the sites' exit codes (SEVERITY); a crawl killed by a signal, or with
    a code no crawl gives, counts as failed. No sites: OK."""
    worst = ExitCode.OK
    for code in codes:
        known = ExitCode(code) if code in {c.value for c in SEVERITY} else ExitCode.FAILED
        if SEVERITY.index(known) > SEVERITY.index(worst):
            worst = known
    return int(worst)


def default_shards_dir(db: Path) -> Path:
    """corpus.db -> corpus-shards/, beside it."""
    return db.with_name(f"{db.stem}-shards")


class _Stopper:
    """A StopListener (crawler.stop): a first signal stops the crawls gracefully, a
    second kills them (crawler.site_job sends the signals)."""

    def __init__(self) -> None:
        self.stop = threading.Event()

    def signal_received(self, signum: int, count: int) -> None:
        self.stop.set()


def crawl_sites(
    sites: list[SiteConfig],
    db: Path,
    *,
    parallel: int = DEFAULT_PARALLEL,
    shards_dir: Path | None = None,
    warc_root: Path | None = None,
    time_limit: float | None = None,
    report: Callable[[str], None] = print,
) -> int:
    """Crawl `sites` into the database `db`; returns the worst site's exit code. Reports a
    line per site as it ends, then the total. RunLocked if another run holds `db`."""
    shards_dir = shards_dir or default_shards_dir(db)
    warc_root = warc_root or default_warc_dir(db)
    stopper = _Stopper()
    started = time.monotonic()
    codes: list[int] = []
    with RunLock(db), Store(db) as corpus:
        STOP_SIGNALS.listen(stopper)
        try:
            with ThreadPoolExecutor(max(1, parallel), thread_name_prefix="site") as pool:
                running = {
                    pool.submit(
                        crawl_into_shard,
                        site,
                        Shard(shards_dir / site.key),
                        time_limit=time_limit,
                        stop=stopper.stop,
                    ): site
                    for site in sites
                }
                for future in as_completed(running):
                    outcome = future.result()
                    code, line = _merged(corpus, outcome, warc_root)
                    codes.append(code)
                    report(line)
        finally:
            STOP_SIGNALS.forget(stopper)
    worst = worst_exit(codes)
    counts = Counter(_OUTCOME_NAMES[ExitCode(worst_exit([c]))] for c in codes)
    parts = ", ".join(f"{counts[name]} {name}" for name in _OUTCOME_NAMES.values() if counts[name])
    report(
        f"tag-archiver: {len(sites)} sites in {time.monotonic() - started:.1f} s: {parts}; "
        f"exit {worst}"
    )
    return worst


def _merged(corpus: Store, outcome: SiteOutcome, warc_root: Path) -> tuple[int, str]:
    """Merge the site's shard; its exit code and report line."""
    line = f"  {outcome.url}: {outcome.summary}"
    if not Shard(outcome.shard).exists():
        return worst_exit([outcome.exit_code, ExitCode.FAILED]), f"{line}; nothing to merge"
    try:
        merged = merge_shard(corpus, Shard(outcome.shard), warc_root)
    except ArchiveError as exc:
        return int(ExitCode.FAILED), f"{line}; NOT MERGED: {exc}"
    line += f"; merged {merged.runs} run(s), {merged.captures} captures"
    return outcome.exit_code, f"{line} [exit {outcome.exit_code}]"
