"""tag-archiver: the command line. Thin: options in, library calls, messages and exit codes out."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click
import sqlite_utils

from archive.errors import ArchiveError, StoreError
from archive.lock import RunLock, RunLocked
from archive.reextract import reextract as reextract_warcs
from archive.store import Store
from archive.warc.files import DEFAULT_MAX_SIZE, default_warc_dir, repair_open_files
from crawler.stop import STOP_SIGNALS
from crawler.verdict import ExitCode

if TYPE_CHECKING:
    from crawler.run import CrawlResult
    from crawler.sites import SiteConfig
    from crawler.verify import VerifyResult

# Scrapy (crawl, demo) and the WACZ packer (pack) are imported by the commands that use them:
# together they take seconds to import, which every other command would pay at start.

DEMO_TAGS = ("ai-scaling", "scaling-laws")


def db_option(default: str = "tag-archiver.db", help: str = "The SQLite database."):
    return click.option(
        "--db",
        default=default,
        show_default=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help=help,
    )


# Options the commands that fetch from a site share (crawl, verify).
DELAY_OPTION = click.option(
    "--delay",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds between requests (default 1, with AutoThrottle); 0 for local sites.",
)
CONTACT_OPTION = click.option(
    "--contact",
    metavar="URL_OR_EMAIL",
    help="Who the site's operator can reach; sent in the User-Agent.",
)
WARC_DIR_OPTION = click.option(
    "--warc-dir",
    type=click.Path(file_okay=False),
    help="Where WARC files go (default: DB-NAME-warc/ beside the database).",
)
SET_OPTION = click.option(
    "--set",
    "set_",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a Scrapy or TAG_ARCHIVER_ setting for this run (repeatable), like scrapy -s.",
)
STATS_JSON_OPTION = click.option(
    "--stats-json",
    type=click.Path(dir_okay=False),
    help="Write the run's counters (Scrapy stats) to this JSON file, for monitoring.",
)


def _existing_database(db: Path) -> None:
    """Commands that read a database: a clear message for a missing, empty or foreign one."""
    from archive.browse import check_database

    try:
        check_database(db)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc


def fail(error: object, code: int) -> NoReturn:
    """End the command on an error it expected: `tag-archiver: ERROR` on stderr, and `code`
    (crawler.verdict.ExitCode)."""
    click.echo(f"tag-archiver: {error}", err=True)
    sys.exit(int(code))


def load_sites_file(path: Path) -> list[SiteConfig]:
    """The sites of a sites file (crawl --sites, fleet submit and beat); a bad file ends the
    command with exit 2, its message naming the file, line and site."""
    from crawler.sites import load_sites

    try:
        return load_sites(path)
    except ArchiveError as exc:
        fail(exc, ExitCode.USAGE)


STOPPABLE_RUNS = ("crawl", "verify", "demo")  # they take SIGINT/SIGTERM (crawler.stop)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tag-archiver")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Crawl a WordPress blog's tag archives into a queryable SQLite archive."""
    if ctx.invoked_subcommand not in STOPPABLE_RUNS:
        STOP_SIGNALS.uninstall()


def _finish(result: CrawlResult, db: Path, stats_json: str | None = None) -> None:
    if stats_json:
        Path(stats_json).write_text(json.dumps(result.stats, indent=1, sort_keys=True, default=str))
    stream = sys.stderr if result.failure else sys.stdout
    click.echo(f"tag-archiver: {result.summary()}", file=stream)
    click.echo(f"database: {db}")
    sys.exit(int(result.exit_code))


def _check_db(db: Path) -> None:
    """Refuse a database we cannot write before spending a crawl on it."""
    try:
        Store(db).close()
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc


# crawl's options that a sites file gives per site instead (crawl --sites).
PER_SITE_OPTIONS = (
    "tags", "all_tags", "delay", "no_articles", "full", "refresh_articles", "contact",
    "warc_dir", "warc_max_size", "crawlers", "set_", "stats_json", "verify_after",
)  # fmt: skip


@main.command()
@click.argument("site_url", required=False)
@click.option(
    "--sites",
    "sites_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A sites file (TOML): crawl every site in it, each with its own options and "
    "politeness, into the one database (see the README, Many sites).",
)
@click.option(
    "--parallel",
    type=click.IntRange(min=1),
    default=None,
    help="With --sites: sites crawled at once, each by its own process (default 8).",
)
@click.option(
    "--site-time-limit",
    type=click.FloatRange(min=1),
    default=None,
    metavar="SECONDS",
    help="With --sites: stop a site's crawl gracefully past this long.",
)
@click.option(
    "--shards",
    "shards_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With --sites: where each site's own database and WARC files are kept between runs "
    "(default: DB-NAME-shards/ beside the database).",
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="SLUG",
    help="Tag slug or tag archive URL; repeat for more.",
)
@click.option(
    "--all-tags",
    is_flag=True,
    help="Every tag the site has: its sitemaps, else its REST API, else its tag links.",
)
@db_option(help="SQLite database to write.")
@DELAY_OPTION
@click.option("--no-articles", is_flag=True, help="Do not fetch each article's own page.")
@click.option(
    "--full",
    is_flag=True,
    help="Walk every page of every tag and refetch pages whole (default: incremental).",
)
@click.option(
    "--refresh-articles",
    is_flag=True,
    help="Refetch article pages already archived even when their archive block is unchanged.",
)
@CONTACT_OPTION
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
    default="INFO",
    show_default=True,
)
@WARC_DIR_OPTION
@click.option(
    "--warc-max-size",
    type=click.IntRange(min=1_000_000),
    default=DEFAULT_MAX_SIZE,
    show_default=True,
    help="Start a new WARC file past this many bytes (between exchanges only).",
)
@click.option(
    "--crawlers",
    type=click.IntRange(min=0),
    default=None,
    help="Crawler processes to spread the tags over (0: one per core; the default with "
    "--delay 0). A crawl with a delay always uses one.",
)
@SET_OPTION
@STATS_JSON_OPTION
@click.option(
    "--verify",
    "verify_after",
    is_flag=True,
    help="Then hold the archive against the site's REST API (see `tag-archiver verify`), "
    "for the crawl's tags (all of them with --all-tags).",
)
@click.pass_context
def crawl(
    ctx: click.Context,
    site_url: str | None,
    sites_file: Path | None,
    parallel: int | None,
    site_time_limit: float | None,
    shards_dir: Path | None,
    tags: tuple[str, ...],
    all_tags: bool,
    db: Path,
    delay: float | None,
    no_articles: bool,
    full: bool,
    refresh_articles: bool,
    contact: str | None,
    log_level: str,
    warc_dir: str | None,
    warc_max_size: int,
    crawlers: int | None,
    set_: tuple[str, ...],
    stats_json: str | None,
    verify_after: bool,
) -> None:
    """Crawl SITE_URL's tag archives (--tag ... or --all-tags) into the database; or, with
    --sites FILE, every site the file names.

    Incremental by default: a tag is walked until a page lists only articles already stored
    and unchanged; known permalinks are not refetched; unchanged pages become WARC revisits.

    Exit codes: 0 done; 1 failed (unknown tag, site unreachable, database unwritable);
    2 bad command line; 3 done, but some pages could not be fetched or read (or, with
    --verify, the archive disagrees with the REST API); 4 another run holds the database;
    5 interrupted by SIGINT/SIGTERM.
    """  # fmt: skip
    # First: a stop from here on is the run's to handle (crawler.stop), not a traceback.
    STOP_SIGNALS.install()
    if sites_file is not None:
        _crawl_sites(ctx, sites_file, db, parallel, site_time_limit, shards_dir)
        return
    if site_url is None:
        raise click.UsageError("name the site to crawl (SITE_URL), or give --sites FILE")
    for name, value in (("--parallel", parallel), ("--site-time-limit", site_time_limit)):
        if value is not None:
            raise click.UsageError(f"{name} goes with --sites")
    if shards_dir is not None:
        raise click.UsageError("--shards goes with --sites")
    from crawler.run import CrawlOptions, run_crawl

    if not tags and not all_tags:
        raise click.UsageError("name at least one --tag, or give --all-tags")
    extra = _extra_settings(warc_dir, warc_max_size, set_)
    if crawlers is not None:
        extra["TAG_ARCHIVER_CRAWLERS"] = crawlers
    _check_db(db)
    options = CrawlOptions(
        site=site_url,
        tags=list(tags),
        all_tags=all_tags,
        db=str(db),
        delay=delay,
        articles=not no_articles,
        full=full,
        refresh_articles=refresh_articles,
        contact=contact,
        log_level=log_level,
        extra_settings=extra,
    )
    if verify_after:
        from crawler.verify import run_crawl_and_verify, verify_tags

        with _locked(db, options):
            result, verification = run_crawl_and_verify(options, verify_tags(options))
        _finish_verified(result, verification, db, stats_json)
        return
    with _locked(db, options):
        result = run_crawl(options)
    _finish(result, db, stats_json)


def _crawl_sites(
    ctx: click.Context,
    sites_file: Path,
    db: Path,
    parallel: int | None,
    time_limit: float | None,
    shards_dir: Path | None,
) -> None:
    from click.core import ParameterSource

    from crawler.sites_run import DEFAULT_PARALLEL, crawl_sites

    if ctx.params["site_url"] is not None:
        raise click.UsageError("give SITE_URL or --sites, not both")
    for name in PER_SITE_OPTIONS:
        if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT:
            option = next(p for p in ctx.command.params if p.name == name).opts[0]
            raise click.UsageError(
                f"{option} is a per-site option with --sites: give it in the sites file "
                "([defaults] or the site's own table)"
            )
    sites = load_sites_file(sites_file)
    _check_db(db)
    try:
        code = crawl_sites(
            sites,
            db,
            parallel=parallel or DEFAULT_PARALLEL,
            shards_dir=shards_dir,
            time_limit=time_limit,
            report=click.echo,
        )
    except RunLocked as exc:
        fail(exc, ExitCode.LOCKED)
    click.echo(f"database: {db}")
    sys.exit(code)


@contextmanager
def _locked(db: Path, options) -> Iterator[None]:
    """The run lock around a run, taken here so a locked database is refused before Scrapy
    starts (exit 4)."""
    lock = RunLock(db)
    try:
        lock.acquire()
    except RunLocked as exc:
        fail(exc, ExitCode.LOCKED)
    try:
        options.extra_settings["TAG_ARCHIVER_LOCK_HELD"] = True
        yield
    finally:
        lock.release()


def _extra_settings(
    warc_dir: str | None, warc_max_size: int, assignments: tuple[str, ...]
) -> dict[str, object]:
    extra: dict[str, object] = {"TAG_ARCHIVER_WARC_MAX_SIZE": warc_max_size}
    if warc_dir:
        extra["TAG_ARCHIVER_WARC_DIR"] = warc_dir
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{assignment!r} is not NAME=VALUE", param_hint="--set")
        extra[name.strip()] = value
    return extra


def _finish_verified(
    result: CrawlResult, verification: VerifyResult | None, db: Path, stats_json: str | None
) -> None:
    """The crawl's summary, then its verification's report, and one exit code for both.

    The verification runs only after a crawl that archived something (exit 0 or 3). Its
    discrepancies turn a clean crawl's 0 into 3. When the REST API is unavailable the crawl's
    own verdict stands, with a warning: the archive is no worse for the site hiding its API.
    """
    code = result.exit_code
    if stats_json:
        stats = dict(result.stats)
        if verification is not None:
            stats["verify"] = verification.stats
        Path(stats_json).write_text(json.dumps(stats, indent=1, sort_keys=True, default=str))
    click.echo(f"tag-archiver: {result.summary()}", file=sys.stderr if result.failure else None)
    if verification is None:
        click.echo("tag-archiver: verify: not run, the crawl did not finish", err=True)
    elif verification.interrupted:
        click.echo(f"tag-archiver: verify: {verification.failure}", err=True)
        code = ExitCode.INTERRUPTED
    elif verification.unavailable:
        click.echo(
            f"tag-archiver: warning: not verified: {verification.failure}; "
            "the crawl's own result stands",
            err=True,
        )
    elif verification.failure:
        click.echo(f"tag-archiver: verify FAILED: {verification.failure}", err=True)
        code = ExitCode.FAILED
    else:
        for line in verification.report():
            click.echo(line)
        if verification.exit_code is ExitCode.DISCREPANCIES and code is ExitCode.OK:
            code = ExitCode.DISCREPANCIES
    click.echo(f"database: {db}")
    sys.exit(int(code))


@main.command()
@click.argument("site_url")
@db_option(help="The archive to check; its runs, captures and verifications tables grow.")
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="SLUG",
    help="Check only this tag (a slug or tag archive URL; repeat for more). Default: every "
    "tag with posts, and every tag the archive files articles under.",
)
@DELAY_OPTION
@CONTACT_OPTION
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
    default="WARNING",
    show_default=True,
)
@WARC_DIR_OPTION
@SET_OPTION
@STATS_JSON_OPTION
def verify(
    site_url: str,
    db: Path,
    tags: tuple[str, ...],
    delay: float | None,
    contact: str | None,
    log_level: str,
    warc_dir: str | None,
    set_: tuple[str, ...],
    stats_json: str | None,
) -> None:
    """Hold the archive against SITE_URL's own record, its WordPress REST API.

    Per tag: the posts WordPress lists against those archived under it; posts missing from
    the archive, extra ones, and posts whose title, date, URL, tags or categories differ.
    Findings are printed and stored in the verifications table, tied to this run; the REST
    answers are archived in the WARC files like every other exchange. Articles are never
    changed.

    Exit codes: 0 complete and matching; 1 the REST API is unavailable (blocked, or not
    JSON), or the database cannot be written; 3 discrepancies (or parts of the API could
    not be read); 4 another run holds the database; 5 interrupted.
    """  # fmt: skip
    STOP_SIGNALS.install()
    from crawler.run import CrawlOptions
    from crawler.verify import run_verify, verify_tags

    _existing_database(db)
    _check_db(db)
    options = CrawlOptions(
        site=site_url,
        db=str(db),
        delay=delay,
        contact=contact,
        log_level=log_level,
        extra_settings=_extra_settings(warc_dir, DEFAULT_MAX_SIZE, set_),
    )
    if tags:
        options.tags = list(tags)
    with _locked(db, options):
        result = run_verify(options, verify_tags(options) if tags else None)
    if stats_json:
        Path(stats_json).write_text(json.dumps(result.stats, indent=1, sort_keys=True, default=str))
    for line in result.report():
        click.echo(line)
    if result.failure:
        click.echo(f"tag-archiver: verify: {result.failure}", err=True)
    sys.exit(int(result.exit_code))


@main.command()
@db_option("tag-archiver-demo.db", help="SQLite database to write.")
@click.option(
    "--port",
    default=0,
    type=click.IntRange(0, 65535),
    help="Port for the demo site on 127.0.0.1 (default: any free one).",
)
def demo(db: Path, port: int) -> None:
    """Serve the bundled WordPress snapshot on 127.0.0.1 and crawl it into --db.

    The snapshot is a real WordPress 6.1 rendering (Twenty Twenty-Three theme) of the pjfp.com
    seed articles under the tags "AI scaling" and "scaling laws".
    """
    STOP_SIGNALS.install()
    from crawler.run import CrawlOptions, run_crawl
    from crawler.snapshot import serve_snapshot

    _check_db(db)
    with serve_snapshot(port=port) as server:
        click.echo(f"demo site: {server.origin}/ (a WordPress snapshot, served on loopback)")
        result = run_crawl(
            CrawlOptions(
                site=server.origin, tags=list(DEMO_TAGS), db=str(db), delay=0, log_level="WARNING"
            )
        )
    click.echo(f"tag-archiver: {result.summary()}")
    if result.exit_code is not ExitCode.OK:
        _finish(result, db)
    database = sqlite_utils.Database(db)
    click.echo(f"\nwrote {db}:")
    for table in ("articles", "tags", "article_tags", "categories", "sections", "section_items"):
        click.echo(f"  {table:<16} {database[table].count:>5} rows")
    click.echo("\narticles and their tags:")
    for row in database.query(
        "SELECT a.title, group_concat(t.name, ', ') AS tags FROM articles a "
        "JOIN article_tags at ON at.article_id = a.id JOIN tags t ON t.id = at.tag_id "
        "GROUP BY a.id ORDER BY a.published DESC"
    ):
        click.echo(f"  - {row['title']}  [{row['tags']}]")
    database.close()
    path = Path(db)
    click.echo(
        "\nlook at it:\n"
        f'  sqlite-utils {path} "SELECT s.heading, i.text FROM section_items i JOIN sections s '
        "ON s.id = i.section_id WHERE s.heading = 'Key Takeaways'\" --table\n"
        f"  datasette {path}"
    )


@main.command("warc-repair")
@click.argument("warc_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def warc_repair(warc_dir: Path) -> None:
    """Close WARC files a crash left open (NAME.warc.gz.open).

    Each is cut back to its last complete record and renamed to NAME.warc.gz. Every crawl
    does this by itself before it starts.
    """
    repaired = repair_open_files(warc_dir)
    for name, kept, cut in repaired:
        click.echo(f"{name}: kept {kept} bytes, cut {cut}")
    click.echo(f"{len(repaired)} file(s) repaired in {warc_dir}")


@main.command()
@click.option(
    "--db",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The database to (re)build.",
)
@click.argument(
    "warcs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    help="Processes that read and extract WARC files, a file each at a time (default: one "
    "per core, no more than the files; 0: all in this process, which also stores).",
)
@click.option(
    "--site",
    metavar="URL",
    help="The site the files' records belong to (default: each file's warcinfo isPartOf, "
    "else the origin of its first response).",
)
def reextract(db: Path, warcs: tuple[Path, ...], workers: int | None, site: str | None) -> None:
    """Rebuild a database from WARC files alone, with the current extractor."""
    try:
        counts = reextract_warcs(warcs, db, workers=workers, site=site)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    pages = counts["pages/tag_archive"] + counts["pages/single"]
    unreadable = sum(v for k, v in counts.items() if k.startswith("unreadable/"))
    click.echo(
        f"{counts['responses']} responses read, {pages} pages extracted "
        f"({counts['articles']} article records), {unreadable} unreadable -> {db}"
    )


@main.command()
@click.option(
    "--db",
    default="tag-archiver.db",
    show_default=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--warc-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Default: DB-NAME-warc/ beside the database.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The .wacz file to write.",
)
@click.option("--title", help="Title shown by ReplayWeb.page.")
def pack(db: Path, warc_dir: Path | None, out: Path, title: str | None) -> None:
    """Package the crawl's WARCs as a WACZ, with a CDXJ index and a page list."""
    from archive.pack import pack as pack_wacz

    try:
        listed = pack_wacz(db, warc_dir or default_warc_dir(db), out, title)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {out} ({listed} pages listed)")


@main.command()
@db_option()
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--replay",
    is_flag=True,
    help="Also replay the crawl's WARC files (pywb, on 127.0.0.1, stopped with serve): every "
    "article links to its archived capture.",
)
@click.option("--replay-port", default=0, type=click.IntRange(0, 65535), help="Default: free.")
@click.option(
    "--warc-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --replay: the WARC files to replay (default: DB-NAME-warc/ beside the database).",
)
@click.option(
    "--replay-url",
    metavar="URL",
    help="A replay service already running (a pywb collection, http://HOST:8080/COLL): "
    "article URLs also link to their archived capture there.",
)
def serve(
    db: Path,
    port: int,
    replay: bool,
    replay_port: int,
    warc_dir: Path | None,
    replay_url: str | None,
) -> None:
    """Browse the database in Datasette on 127.0.0.1 (read-only; safe while a crawl writes).

    Uses archive/browse/metadata.yml (descriptions of every table and column) and
    datasette.yaml (facets, full-text search, canned queries, settings). An older database is
    upgraded first.
    With --replay, pywb (found through $TAG_ARCHIVER_PYWB, else on PATH) replays the WARC
    files; if it cannot start, the pages say why and browsing goes on.
    """
    from contextlib import ExitStack

    from archive.browse.replay import ReplayError, find_wayback, pywb_replay

    _existing_database(db)
    if replay and replay_url:
        raise click.UsageError("give --replay or --replay-url, not both")
    with ExitStack() as stack:
        replay_error = None
        if replay:
            try:
                replay_url = stack.enter_context(
                    pywb_replay(warc_dir or default_warc_dir(db), find_wayback(), replay_port)
                )
                click.echo(f"replaying the WARC files at {replay_url}")
            except ReplayError as exc:
                replay_error = str(exc)
                click.echo(f"tag-archiver: replay unavailable: {exc}", err=True)
        _serve_datasette(db, port, replay_url, replay_error)


def _serve_datasette(db: Path, port: int, replay_url: str | None, replay_error: str | None) -> None:
    import asyncio

    import uvicorn

    from archive.browse import make_datasette

    datasette = make_datasette(db, replay_url, replay_error)
    asyncio.run(datasette.invoke_startup())
    click.echo(f"serving {db} at http://127.0.0.1:{port}/{db.stem}", nl=True)
    uvicorn.run(datasette.app(), host="127.0.0.1", port=port, log_level="warning")


@main.command()
@click.option(
    "--db",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The database to merge into (created if missing).",
)
@click.argument(
    "shards", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "--warc-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The WARC root the merged captures' paths are relative to (default: DB-NAME-warc/ "
    "beside the database); each site's files go in a directory of its own there.",
)
def merge(db: Path, shards: tuple[Path, ...], warc_dir: Path | None) -> None:
    """Fold shards (a worker's --data directory, or single shard directories) into one
    database: each shard's runs not merged before, in one transaction per shard.

    Exit codes: 0 merged; 1 a shard could not be merged (named; those before it are);
    4 another run holds the database.
    """
    from archive.merge import merge as merge_shards

    merged_any = False
    try:
        for merged in merge_shards(db, list(shards), warc_dir):
            click.echo(merged.summary())
            merged_any = True
    except RunLocked as exc:
        fail(exc, ExitCode.LOCKED)
    except ArchiveError as exc:
        fail(exc, ExitCode.FAILED)
    if not merged_any:  # a worker that has not crawled yet: nothing to do, not an error
        click.echo(f"no shards in {', '.join(map(str, shards))}: nothing merged")
    click.echo(f"database: {db}")


@main.command()
@db_option()
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option("--tag", metavar="SLUG", help="Only articles under this tag (slug or name).")
@click.option("--site", metavar="URL", help="Only this site's articles.")
@click.option(
    "--out",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="File to write (default: standard output).",
)
def export(db: Path, fmt: str, tag: str | None, site: str | None, out) -> None:
    """Write one record per article, with its tags, categories and sections (JSON lines or CSV)."""
    from archive.export import article_records, write_csv, write_jsonl

    _existing_database(db)
    write = write_jsonl if fmt == "jsonl" else write_csv
    try:
        records = article_records(db, tag, site)
        count = write(records, out)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{count} articles exported", err=True)


@main.command()
@db_option()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1))
@click.option("--site", metavar="URL", help="Only this site's runs.")
def runs(db: Path, limit: int, site: str | None) -> None:
    """List the most recent crawl runs: when, how they ended, what they found."""
    from archive.extract.urls import site_root

    _existing_database(db)
    database = sqlite_utils.Database(db)
    try:
        root = site_root(site) if site else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--site") from exc
    if root and not database.execute("SELECT 1 FROM sites WHERE url = ?", [root]).fetchone():
        raise click.ClickException(f"{db} holds no site {root}")
    rows = list(
        database.query(
            "SELECT r.id, r.started_at, r.finished_at, r.status, r.pages_fetched, "
            "r.articles_new, r.articles_changed, r.articles_unchanged, r.errors, s.url AS site "
            "FROM runs r LEFT JOIN sites s ON s.id = r.site_id "
            "WHERE ? IS NULL OR s.url = ? ORDER BY r.id DESC LIMIT ?",
            [root, root, limit],
        )
    )
    database.close()
    click.echo(
        f"{'run':>4}  {'started':<20}  {'status':<11}  pages  new  changed  unchanged  errors  site"
    )
    for r in rows:
        click.echo(
            f"{r['id']:>4}  {r['started_at']:<20}  {r['status']:<11}  "
            f"{r['pages_fetched'] or 0:>5}  {r['articles_new'] or 0:>3}  "
            f"{r['articles_changed'] or 0:>7}  "
            f"{r['articles_unchanged'] or 0:>9}  {r['errors'] or 0:>6}  {r['site'] or ''}"
        )


from crawler.fleet_cli import fleet, worker  # noqa: E402

main.add_command(fleet)
main.add_command(worker)
