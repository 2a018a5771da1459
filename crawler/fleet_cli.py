"""`tag-archiver fleet submit` and `tag-archiver worker`: the command line of crawler.fleet.

Celery is imported by the commands themselves: `tag-archiver --help` and every other command
stay as fast as without it.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import click

from crawler.verdict import ExitCode

# The defaults of crawler.fleet, spelled here so that --help needs no Celery.
DEFAULT_VISIBILITY_TIMEOUT = 3600.0
DEFAULT_CONCURRENCY = 2
DEFAULT_RETRIES = 2
DEFAULT_RETRY_DELAY = 60.0
DEFAULT_LOCK_TTL = 30.0

BROKER_OPTION = click.option(
    "--broker",
    required=True,
    metavar="URL",
    envvar="TAG_ARCHIVER_BROKER",
    help="The Redis that holds the queue, e.g. redis://queue.example:6379/0 "
    "(or $TAG_ARCHIVER_BROKER).",
)
VISIBILITY_OPTION = click.option(
    "--visibility-timeout",
    type=click.FloatRange(min=1),
    default=DEFAULT_VISIBILITY_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long a site taken by a worker stays invisible to the others: a killed worker's "
    "site goes to another worker after this long. Give the same value to submit and to every "
    "worker.",
)


@click.group()
def fleet() -> None:
    """Several machines: queue a sites file's sites for the workers (`tag-archiver worker`)."""


@fleet.command()
@click.argument("sites_file", type=click.Path(dir_okay=False, path_type=Path))
@BROKER_OPTION
@click.option(
    "--wait",
    is_flag=True,
    help="Wait for every site to end: a line per site as it ends, then exit with the worst "
    "site's exit code.",
)
@VISIBILITY_OPTION
def submit(sites_file: Path, broker: str, wait: bool, visibility_timeout: float) -> None:
    """Queue every site of SITES_FILE (a sites file, as for `crawl --sites`) for the workers.

    Each site is crawled by one worker at a time (by another if that one dies mid-site), into
    that worker's --data directory; merge those afterwards with `tag-archiver merge --db
    corpus.db DIR...`.

    Exit codes: without --wait, 0 queued; with it, the worst site's (0 ok, 1 failed,
    3 partial, 4 locked, 5 interrupted). 1 the broker cannot be reached or went away;
    2 a bad sites file.
    """
    from crawler.cli import fail, load_sites_file  # the command line's own, loaded by now

    sites = load_sites_file(sites_file)
    from crawler.fleet import FleetError
    from crawler.fleet import submit as submit_sites

    try:
        code = submit_sites(
            sites, broker, wait=wait, visibility_timeout=visibility_timeout, report=click.echo
        )
    except FleetError as exc:
        fail(exc, ExitCode.FAILED)
    sys.exit(code)


@fleet.command()
@click.argument("sites_file", type=click.Path(dir_okay=False, path_type=Path))
@BROKER_OPTION
@click.option(
    "--at",
    default="03:15",
    show_default=True,
    metavar="HH:MM",
    help="Queue every site each day at this time (this machine's local time).",
)
@click.option(
    "--every",
    type=click.FloatRange(min=1),
    default=None,
    metavar="SECONDS",
    help="Instead of --at: queue every site this often.",
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("tag-archiver-beat.db"),
    show_default=True,
    help="Where beat records what it last queued (so a restart neither repeats nor skips).",
)
@VISIBILITY_OPTION
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
    default="INFO",
    show_default=True,
)
def beat(
    sites_file: Path,
    broker: str,
    at: str,
    every: float | None,
    state: Path,
    visibility_timeout: float,
    log_level: str,
) -> None:
    """Queue SITES_FILE's sites every night from Celery beat (one beat for the fleet), until
    stopped. The sites file is read at start: restart beat after changing it. Merging the
    workers' shards stays a separate step (`tag-archiver merge`, from a timer or cron).
    """
    from crawler.cli import fail, load_sites_file  # the command line's own, loaded by now

    sites = load_sites_file(sites_file)
    from crawler.fleet import FleetError, run_beat

    when = f"every {every:g} s" if every else f"daily at {at}"
    click.echo(f"tag-archiver beat: {len(sites)} sites, {when}", err=True)
    try:
        code = run_beat(
            sites,
            broker,
            at=at,
            every=every,
            state=state,
            visibility_timeout=visibility_timeout,
            loglevel=log_level,
        )
    except FleetError as exc:
        fail(exc, ExitCode.USAGE)
    sys.exit(code)


@click.command()
@BROKER_OPTION
@click.option(
    "--data",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where this worker keeps its shards, one directory per site (DIR/<site key>/), kept "
    "from run to run so each site's next crawl is incremental.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Sites crawled at once, each by its own process.",
)
@click.option(
    "--site-time-limit",
    type=click.FloatRange(min=1),
    default=None,
    metavar="SECONDS",
    help="Stop a site's crawl gracefully past this long (what it fetched is kept; not retried).",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=DEFAULT_RETRIES,
    show_default=True,
    help="Tries again of a site whose crawl failed (exit 1) or was killed.",
)
@click.option(
    "--retry-delay",
    type=click.FloatRange(min=0),
    default=DEFAULT_RETRY_DELAY,
    show_default=True,
    metavar="SECONDS",
    help="Wait before the first try again; each next one waits twice as long.",
)
@click.option(
    "--lock-ttl",
    type=click.FloatRange(min=1),
    default=DEFAULT_LOCK_TTL,
    show_default=True,
    metavar="SECONDS",
    help="A site's lock outlives a killed worker by at most this long (renewed every third "
    "of it while its crawl runs).",
)
@VISIBILITY_OPTION
@click.option(
    "--hostname",
    default=None,
    metavar="NAME",
    help="The worker's name in results and logs (default tag-archiver@HOST); one per worker.",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
    default="INFO",
    show_default=True,
)
def worker(
    broker: str,
    data: Path,
    concurrency: int,
    site_time_limit: float | None,
    retries: int,
    retry_delay: float,
    lock_ttl: float,
    visibility_timeout: float,
    hostname: str | None,
    log_level: str,
) -> None:
    """Crawl sites queued by `tag-archiver fleet submit`, until stopped.

    Logs to stderr. A first SIGTERM or Ctrl-C takes no new site and waits for the crawls
    running (Celery's warm shutdown); a second Ctrl-C, or SIGQUIT, stops at once and their
    sites go back to the queue. A worker killed outright leaves its sites to another worker
    after --visibility-timeout, its crawls stopped.
    """
    from crawler.cli import fail  # the command line's own, loaded by now
    from crawler.fleet import FleetError, WorkerSettings, run_worker

    name = hostname or f"tag-archiver@{socket.gethostname()}"
    settings = WorkerSettings(
        data=data,
        site_time_limit=site_time_limit,
        retries=retries,
        retry_delay=retry_delay,
        lock_ttl=lock_ttl,
    )
    click.echo(f"tag-archiver worker {name}: {concurrency} site(s) at once into {data}", err=True)
    try:
        code = run_worker(
            broker,
            settings,
            concurrency=concurrency,
            visibility_timeout=visibility_timeout,
            hostname=name,
            loglevel=log_level,
        )
    except FleetError as exc:
        fail(exc, ExitCode.FAILED)
    sys.exit(code)
