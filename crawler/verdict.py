"""A run's verdict: its counters and what its owner saw, in; (status, exit code, message), out.

The one place that decides how a run ended. The CLI's exit code and message, the `runs` row's
status and the summary line all come from `verdict()` (crawler.runs.ArchiveRun calls it),
so they cannot disagree. Pure: no Scrapy, no clock, no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Documented in the README; cron and systemd act on them."""

    OK = 0
    FAILED = 1  # nothing useful was archived, or the run could not store: see the message
    USAGE = 2  # bad command line (click's own code)
    PARTIAL = 3  # finished, but some pages could not be fetched or read
    # verify: the archive and the site's REST API disagree (the same code as PARTIAL: for
    # cron, "done, but look at what it found")
    DISCREPANCIES = 3
    LOCKED = 4  # another run holds the database: nothing was done
    INTERRUPTED = 5  # SIGINT/SIGTERM: in-flight work committed, WARCs closed, run marked so


@dataclass(frozen=True)
class Verdict:
    status: str  # the runs row's: finished / failed / interrupted (locked: no row of its own)
    exit_code: ExitCode
    message: str | None  # why it failed or stopped; None for a run that finished


INTERRUPTED = "interrupted (SIGINT/SIGTERM); what was fetched is committed"
FORCED = (
    "stopped at once (a second signal, or the stop took longer than TAG_ARCHIVER_STOP_TIMEOUT); "
    "the next run repairs the WARC files"
)


def errors(stats: Mapping[str, Any]) -> int:
    """Pages that failed or were lost, plus exceptions in our own callbacks (bugs count too)."""
    exceptions = sum(v for k, v in stats.items() if k.startswith("spider_exceptions/"))
    return stats.get("tag_archiver/errors", 0) + exceptions


def verdict(
    stats: Mapping[str, Any],
    *,
    failure: str | None = None,
    locked: str | None = None,
    interrupted: bool = False,
    forced: bool = False,
    close_reason: str | None = None,
) -> Verdict:
    """How the run ended.

    `stats` are its counters (Scrapy's stats); `failure` the first reason a component gave
    for not being able to do the run's job; `locked` the lock holder's message when another
    run held the database; `interrupted` a SIGINT/SIGTERM; `forced` a stop that did not wait
    for the pages in flight; `close_reason` the spider's close reason.
    """
    if locked:
        return Verdict("failed", ExitCode.LOCKED, locked)
    if interrupted or close_reason == "shutdown":
        return Verdict("interrupted", ExitCode.INTERRUPTED, FORCED if forced else INTERRUPTED)
    if failure:
        return Verdict("failed", ExitCode.FAILED, failure)
    if close_reason not in ("finished", None):
        return Verdict("failed", ExitCode.FAILED, f"the crawl stopped early ({close_reason})")
    if errors(stats):
        return Verdict("finished", ExitCode.PARTIAL, None)
    return Verdict("finished", ExitCode.OK, None)


def summary_line(stats: Mapping[str, Any], seconds: float, ended: Verdict) -> str:
    """The one line a run leaves in the journal, with the verdict's message when it failed."""
    line = (
        f"{stats.get('tag_archiver/pages/tag_archive', 0)} tag pages and "
        f"{stats.get('tag_archiver/pages/single', 0)} article pages in {seconds:.1f} s; "
        f"{stats.get('tag_archiver/articles/stored', 0)} articles stored "
        f"({stats.get('tag_archiver/articles/new', 0)} new, "
        f"{stats.get('tag_archiver/articles/changed', 0)} changed, "
        f"{stats.get('tag_archiver/articles/unchanged', 0)} unchanged); "
        f"{errors(stats)} errors"
    )
    return f"{line}; FAILED: {ended.message}" if ended.message else line
