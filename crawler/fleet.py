"""Several machines: sites queued on a Redis broker, crawled by Celery workers.

`tag-archiver fleet submit SITES.toml --broker URL` queues one task per site;
`tag-archiver worker --broker URL --data DIR` takes them, a few at a time, and crawls each
site, by crawler.site_job (the same child process `crawl --sites` runs), into its shard
DIR/<site key>/. `tag-archiver merge --db corpus.db DIR...` folds the workers' shards into
one database afterwards.

Delivery is at least once, and a site is crawled by one worker at a time:
- a task is acknowledged only when it ends (acks_late), one per free slot
  (prefetch multiplier 1); a worker killed mid-site leaves its message unacknowledged, and
  Redis hands it to another worker once the visibility timeout has passed since it was
  taken. The same timeout must be given to submit and to every worker;
- each site has a lock in Redis (SET NX with a short TTL, renewed every TTL/3 while its
  crawl runs): a killed worker's lock expires within the TTL, and a task that finds its site
  locked is retried later, not failed;
- a task's final result is kept in Redis under `done:<task id>`: a copy of the message
  delivered again (a crawl that outlasts the visibility timeout is handed out again while
  it runs) returns that result instead of crawling the site again.

A crawl that fails (exit 1) or is killed by a signal is retried with backoff, up to the
worker's `retries`; one that ends with errors (exit 3) or over its time limit is not.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis
from celery import Celery, Task
from celery.exceptions import TimeLimitExceeded
from kombu.exceptions import OperationalError
from kombu.utils.url import maybe_sanitize_url

from archive.errors import ArchiveError
from archive.shards import Shard
from crawler.site_job import STOP_GRACE, SiteOutcome, crawl_into_shard
from crawler.sites import SiteConfig
from crawler.sites_run import worst_exit
from crawler.verdict import ExitCode

TASK_NAME = "tag_archiver.crawl_site"
DEFAULT_VISIBILITY_TIMEOUT = 3600.0
DEFAULT_CONCURRENCY = 2
DEFAULT_RETRIES = 2
DEFAULT_RETRY_DELAY = 60.0  # the first retry's; each next one waits twice as long
DEFAULT_LOCK_TTL = 30.0
# Beyond a site's own time limit: the graceful stop (site_job.STOP_GRACE) and a margin, before
# Celery kills the pool process running it.
HARD_LIMIT_GRACE = STOP_GRACE + 30.0
# A final result outlives any copy of its message still in flight (at most a visibility
# timeout, or a retry's countdown); a week, so `fleet submit --wait` can be run late too.
RESULT_TTL = 7 * 24 * 3600
KEY_PREFIX = "tag-archiver:"
PARENT_CHECK_INTERVAL = 0.5
# Connecting to the broker, and each command to it: bounded, so a broker that is down or
# goes away ends `submit` with a message instead of a hang.
CONNECT_TIMEOUT = 5.0
SOCKET_TIMEOUT = 30.0
CONNECT_RETRIES = 2
PUBLISH_RETRY_POLICY = {
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 1,
    "interval_max": 2,
}
WAIT_POLL = 0.5

logger = logging.getLogger(__name__)


class FleetError(ArchiveError):
    """The broker cannot be reached, or was lost while waiting: the message names it (its
    password hidden) and what became of the sites."""


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker's tasks need beyond the broker. `data`: the directory of its shards;
    `site_time_limit`: seconds before a crawl is stopped gracefully (None: no limit);
    `retries`: how often a failed crawl is tried again, `retry_delay` seconds after the first
    failure, twice as long after each next; `lock_ttl`: seconds a site's lock outlives its
    worker."""

    data: Path
    site_time_limit: float | None = None
    retries: int = DEFAULT_RETRIES
    retry_delay: float = DEFAULT_RETRY_DELAY
    lock_ttl: float = DEFAULT_LOCK_TTL


def make_app(
    broker: str,
    *,
    backend: str | None = None,
    visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT,
    worker: WorkerSettings | None = None,
) -> Celery:
    """The Celery app for `broker` (a redis:// or rediss:// URL), with its results in
    `backend` (default: the broker) and the crawl_site task registered. `worker`: the
    settings of a worker process (None to submit only). JSON messages only."""
    if not broker.startswith(("redis://", "rediss://")):
        raise FleetError(f"the broker must be a Redis URL (redis://HOST:PORT/DB), not {broker!r}")
    app = Celery("tag_archiver", broker=broker, backend=backend or broker, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_track_started=True,
        worker_prefetch_multiplier=1,  # default 4: a worker takes one site per free slot
        result_expires=timedelta(seconds=RESULT_TTL),  # default 1 day
        broker_transport_options={
            "visibility_timeout": visibility_timeout,
            # Messages of killed workers are looked for every tenth of the timeout (at most
            # a minute): by default only every 100 s.
            "unacked_restore_interval": min(60.0, max(1.0, visibility_timeout / 10)),
            "unacked_restore_throttle": 1,
            "socket_connect_timeout": CONNECT_TIMEOUT,
            "socket_timeout": SOCKET_TIMEOUT,
        },
        broker_connection_timeout=CONNECT_TIMEOUT,  # default 4
        broker_connection_retry_on_startup=worker is not None,  # a worker waits for Redis
        broker_connection_max_retries=None if worker is not None else CONNECT_RETRIES,
        task_publish_retry_policy=PUBLISH_RETRY_POLICY,
        redis_socket_connect_timeout=CONNECT_TIMEOUT,
        redis_socket_timeout=SOCKET_TIMEOUT,  # default 120
        redis_retry_on_timeout=False,
        # Submit gives up on a result store it lost within seconds; a worker storing a result
        # keeps Celery's default (some 20 s of tries).
        result_backend_transport_options={} if worker else {"retry_policy": PUBLISH_RETRY_POLICY},
        tag_archiver_worker=asdict(worker) if worker else None,
        tag_archiver_visibility_timeout=visibility_timeout,
    )
    if worker is not None and worker.site_time_limit is not None:
        app.conf.task_time_limit = worker.site_time_limit + HARD_LIMIT_GRACE
    app.task(
        name=TASK_NAME,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        max_retries=None,  # retries are counted by the task itself (`failures`)
    )(crawl_site)
    return app


# --- the task, in a worker's pool process -----------------------------------------------


def crawl_site(task: Task, site: dict[str, Any], failures: int = 0) -> dict[str, Any]:
    """Crawl the site `site` (SiteConfig.to_dict()) into the worker's shard for it; its
    outcome as a JSON-safe dict (url, key, exit_code, summary, seconds, worker, shard, ...).
    `failures`: failed tries so far. Retried, not failed, when the site is locked."""
    conf = task.app.conf
    settings = _settings(conf.tag_archiver_worker)
    store = broker_client(conf.broker_url)
    task_id = task.request.id
    if (done := _recorded(store, task_id)) is not None:
        return done
    try:
        config = SiteConfig.from_dict(site)
    except ValueError as exc:
        return _finished(store, task_id, _bad_site(site, exc, task.request.hostname))
    countdown_max = conf.tag_archiver_visibility_timeout / 2  # no copy redelivered meanwhile
    token = f"{task.request.hostname} {task_id} {uuid.uuid4().hex[:8]}"
    lock = SiteLock(store, config.key, token, settings.lock_ttl)
    if not lock.acquire():
        wait = min(settings.lock_ttl, countdown_max)
        logger.info("%s: being crawled (%s); tried again in %g s", config.url, lock.holder(), wait)
        raise task.retry(countdown=wait)
    try:
        # Again under the lock: the result is recorded before the lock is released, so a
        # copy that took the lock just after the crawl that ended sees it here.
        if (done := _recorded(store, task_id)) is not None:
            return done
        guard = CrawlGuard(lock, parent=os.getppid())
        started_at = time.time()
        with guard:
            outcome = crawl_into_shard(
                config,
                Shard(settings.data / config.key),
                time_limit=settings.site_time_limit,
                stop=guard.stop,
            )
        if guard.orphaned:
            # The worker is gone, and with it whoever would read this result: the message,
            # unacknowledged, goes to another worker once its visibility timeout passes.
            logger.error("%s: the worker died; crawl stopped (%s)", config.url, outcome.summary)
            lock.release()
            os._exit(1)
        if guard.lost:
            wait = min(settings.lock_ttl, countdown_max)
            logger.error("%s: lock lost, crawl stopped; tried again in %g s", config.url, wait)
            raise task.retry(countdown=wait)
        if _retryable(outcome) and failures < settings.retries:
            wait = min(settings.retry_delay * 2**failures, countdown_max)
            logger.warning(
                "%s: %s [exit %d]; try %d of %d in %g s",
                config.url,
                outcome.summary,
                outcome.exit_code,
                failures + 2,
                settings.retries + 1,
                wait,
            )
            raise task.retry(countdown=wait, kwargs={"failures": failures + 1})
        return _finished(
            store, task_id, _result(outcome, task.request.hostname, started_at, failures)
        )
    finally:
        lock.release()


def _recorded(store: redis.Redis, task_id: str) -> dict[str, Any] | None:
    """The task's final result, if a copy of its message has already been carried out."""
    done = store.get(_done_key(task_id))
    if done is None:
        return None
    logger.info("%s: already crawled (a copy of its message delivered again)", task_id)
    return json.loads(done)


def _retryable(outcome: SiteOutcome) -> bool:
    """A failed crawl, or one killed by a signal; not one over its time limit."""
    return not outcome.timed_out and (outcome.exit_code == ExitCode.FAILED or outcome.exit_code < 0)


def _result(outcome: SiteOutcome, worker: str, started_at: float, failures: int) -> dict[str, Any]:
    return {
        "url": outcome.url,
        "key": outcome.key,
        "exit_code": outcome.exit_code,
        "summary": outcome.summary,
        "seconds": round(outcome.seconds, 3),
        "timed_out": outcome.timed_out,
        "worker": worker,
        "shard": str(outcome.shard),
        "started_at": started_at,
        "ended_at": time.time(),
        "tries": failures + 1,
    }


def _bad_site(site: dict[str, Any], exc: ValueError, worker: str) -> dict[str, Any]:
    url = str(site.get("url", "?"))
    now = time.time()
    return {
        "url": url,
        "key": None,
        "exit_code": int(ExitCode.FAILED),
        "summary": f"not a site this worker can crawl: {exc}",
        "seconds": 0.0,
        "timed_out": False,
        "worker": worker,
        "shard": None,
        "started_at": now,
        "ended_at": now,
        "tries": 1,
    }


def _finished(store: redis.Redis, task_id: str, result: dict[str, Any]) -> dict[str, Any]:
    store.set(_done_key(task_id), json.dumps(result), ex=RESULT_TTL)
    return result


def _done_key(task_id: str) -> str:
    return f"{KEY_PREFIX}done:{task_id}"


def _settings(values: dict[str, Any] | None) -> WorkerSettings:
    if values is None:
        raise FleetError("crawl_site runs in a worker: tag-archiver worker --data DIR")
    return WorkerSettings(**{**values, "data": Path(values["data"])})


_clients: dict[tuple[int, str], redis.Redis] = {}


def broker_client(url: str) -> redis.Redis:
    """A client of the broker's Redis for this process (a forked pool process gets its own)."""
    key = (os.getpid(), url)
    if key not in _clients:
        _clients[key] = redis.Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=SOCKET_TIMEOUT,
            decode_responses=True,
        )
    return _clients[key]


class SiteLock:
    """A site's lock in Redis: `tag-archiver:lock:<site key>`, holding its holder's token,
    with a TTL of `ttl` seconds. Only the holder renews or releases it."""

    # Compare and act in one step, in Redis: the lock may have expired and been taken since.
    _RENEW = (
        "if redis.call('get', KEYS[1]) == ARGV[1] "
        "then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
    )
    _RELEASE = (
        "if redis.call('get', KEYS[1]) == ARGV[1] "
        "then return redis.call('del', KEYS[1]) else return 0 end"
    )

    def __init__(self, store: redis.Redis, site_key: str, token: str, ttl: float) -> None:
        self.store = store
        self.name = f"{KEY_PREFIX}lock:{site_key}"
        self.token = token
        self.ttl_ms = max(1, int(ttl * 1000))

    def acquire(self) -> bool:
        return bool(self.store.set(self.name, self.token, nx=True, px=self.ttl_ms))

    def renew(self) -> bool:
        """False if the lock is no longer this holder's (it expired, maybe taken since)."""
        return bool(self.store.eval(self._RENEW, 1, self.name, self.token, self.ttl_ms))

    def release(self) -> None:
        try:
            self.store.eval(self._RELEASE, 1, self.name, self.token)
        except redis.RedisError as exc:  # it expires on its own
            logger.warning("could not release %s: %s", self.name, exc)

    def holder(self) -> str:
        try:
            return f"locked by {self.store.get(self.name) or 'nobody now'}"
        except redis.RedisError as exc:
            return f"lock unreadable: {exc}"


class CrawlGuard:
    """While a crawl runs: renews its site's lock every TTL/3, and sets `stop` (site_job then
    stops the crawl gracefully) when the lock is lost (not renewed for a TTL: another worker
    may take the site) or when the worker's main process died (this pool process orphaned:
    its parent changed)."""

    def __init__(self, lock: SiteLock, parent: int) -> None:
        self.lock = lock
        self.parent = parent
        self.stop = threading.Event()
        self.lost = False
        self.orphaned = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="site-guard", daemon=True)

    def __enter__(self) -> CrawlGuard:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        ttl = self.lock.ttl_ms / 1000
        renewed = time.monotonic()
        while not self._done.wait(PARENT_CHECK_INTERVAL):
            if os.getppid() != self.parent:
                self.orphaned = True
                self.stop.set()
                return
            now = time.monotonic()
            if now - renewed < ttl / 3:
                continue
            try:
                if self.lock.renew():
                    renewed = now
                    continue
                logger.error("%s: lost to another holder", self.lock.name)
            except redis.RedisError as exc:
                if now - renewed < ttl * 0.8:
                    logger.warning("%s: not renewed (%s); trying again", self.lock.name, exc)
                    continue
                logger.error("%s: not renewed for %g s (%s)", self.lock.name, ttl, exc)
            self.lost = True
            self.stop.set()
            return


# --- submitting, and waiting for the results --------------------------------------------


def submit(
    sites: list[SiteConfig],
    broker: str,
    *,
    wait: bool = False,
    visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT,
    backend: str | None = None,
    submission: str | None = None,
    report: Callable[[str], None] = print,
) -> int:
    """Queue one crawl_site task per site on `broker`, each with the id `<site key>@<submission>`
    (default submission: the time and a random part). Without `wait`, returns 0 once queued.
    With it, reports a line per site as it ends (`URL: summary [exit N] on WORKER`) and returns
    the worst exit code (sites_run.worst_exit). FleetError if the broker cannot be reached,
    or is lost while waiting."""
    app = make_app(broker, backend=backend, visibility_timeout=visibility_timeout)
    shown = maybe_sanitize_url(broker)
    submission = submission or f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    connection_errors = _connection_errors(app)
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(
                max_retries=CONNECT_RETRIES,
                interval_start=0.5,
                interval_step=0.5,
                interval_max=1,
                timeout=CONNECT_TIMEOUT,
            )
            with app.producer_or_acquire() as producer:
                tasks = {
                    app.send_task(
                        TASK_NAME,
                        args=[site.to_dict()],
                        task_id=f"{site.key}@{submission}",
                        producer=producer,
                        retry=True,
                        retry_policy=PUBLISH_RETRY_POLICY,
                    ).id: site
                    for site in sites
                }
    except (*connection_errors, RuntimeError) as exc:
        # RuntimeError: Celery's word for a result store it could not reconnect to.
        raise FleetError(f"cannot reach the broker at {shown}: {_reason(exc)}") from exc
    report(f"tag-archiver: queued {len(tasks)} sites on {shown} (submission {submission})")
    if not wait:
        return 0
    codes = _wait(app, tasks, report, shown)
    worst = worst_exit(codes)
    counts = Counter(ExitCode(worst_exit([code])).name.lower() for code in codes)
    parts = ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))
    report(
        f"tag-archiver: {len(tasks)} sites in {time.monotonic() - started:.1f} s: {parts}; "
        f"exit {worst}"
    )
    return worst


def _wait(
    app: Celery, tasks: dict[str, SiteConfig], report: Callable[[str], None], shown: str
) -> list[int]:
    """Each task's exit code, as it ends; its line reported then."""
    pending = dict(tasks)
    codes: list[int] = []
    connection_errors = _connection_errors(app)
    while pending:
        for task_id, site in list(pending.items()):
            try:
                meta = app.backend.get_task_meta(task_id, cache=False)
            except connection_errors as exc:
                raise FleetError(
                    f"lost the broker at {shown} while waiting for {len(pending)} of "
                    f"{len(tasks)} sites: {_reason(exc)}; the sites queued or running there "
                    "are crawled when it is back (if it kept them)"
                ) from exc
            state = meta["status"]
            if state == "SUCCESS":
                result = meta["result"]
                code = int(result["exit_code"])
                line = f"{site.url}: {result['summary']} [exit {code}] on {result['worker']}"
                if result.get("tries", 1) > 1:
                    line += f" after {result['tries']} tries"
            elif state in ("FAILURE", "REVOKED"):
                code = int(ExitCode.FAILED)
                line = f"{site.url}: FAILED: {_task_failure(app, meta)} [exit {code}]"
            else:
                continue
            del pending[task_id]
            codes.append(code)
            report(line)
        if pending:
            time.sleep(WAIT_POLL)
    return codes


def _task_failure(app: Celery, meta: dict[str, Any]) -> str:
    """Why a task ended without a result: the worker's hard time limit, or a bug."""
    error = app.backend.exception_to_python(meta.get("result"))
    if isinstance(error, TimeLimitExceeded):
        return f"killed by the worker's hard time limit ({error})"
    return f"{type(error).__name__}: {error}" if error else str(meta["status"]).lower()


def _connection_errors(app: Celery) -> tuple[type[BaseException], ...]:
    return (
        OperationalError,  # kombu's own, for what the transport raised
        *app.connection_for_write().connection_errors,
        *app.backend.connection_errors,
        redis.RedisError,
        OSError,
    )


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()).rstrip(".") or type(exc).__name__


# --- the nightly schedule, from Celery beat ---------------------------------------------


def beat_schedule(sites: list[SiteConfig], at: str | None, every: float | None) -> dict:
    """Celery beat's schedule: each site's crawl_site task daily at `at` ("HH:MM", the beat's
    local time) or every `every` seconds. Each sending gets a task id of its own, so each
    night's crawl of a site is a new task."""
    from celery.schedules import crontab, schedule

    if every is not None:
        when: Any = schedule(timedelta(seconds=every))
    else:
        hour, _, minute = (at or "").partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            raise FleetError(f"--at takes a time of day as HH:MM, not {at!r}")
        when = crontab(hour=int(hour), minute=int(minute))
    return {
        f"crawl {site.key}": {"task": TASK_NAME, "schedule": when, "args": [site.to_dict()]}
        for site in sites
    }


def run_beat(
    sites: list[SiteConfig],
    broker: str,
    *,
    at: str | None = None,
    every: float | None = None,
    state: Path,
    visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT,
    loglevel: str = "INFO",
) -> int:
    """Run Celery beat until stopped, queueing every site's crawl on its schedule
    (beat_schedule); its record of what it last sent is kept in the file `state`, so a
    restarted beat neither repeats nor skips a night. Waits for the broker when it is down."""
    app = make_app(broker, visibility_timeout=visibility_timeout, worker=None)
    app.conf.update(
        beat_schedule=beat_schedule(sites, at, every),
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
    )
    state.parent.mkdir(parents=True, exist_ok=True)
    beat = app.Beat(schedule=str(state), loglevel=loglevel, logfile=None, quiet=True)
    beat.run()
    return 0


# --- the worker --------------------------------------------------------------------------


def run_worker(
    broker: str,
    settings: WorkerSettings,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT,
    hostname: str | None = None,
    loglevel: str = "INFO",
) -> int:
    """Run a worker until it is stopped: `concurrency` sites at once, each crawled by a
    prefork pool process into settings.data/<site key>/. Logs to stderr. Returns its exit
    code. Waits for the broker when it is down (at start, and when it goes away)."""
    settings = WorkerSettings(**{**asdict(settings), "data": settings.data.resolve()})
    settings.data.mkdir(parents=True, exist_ok=True)
    app = make_app(broker, visibility_timeout=visibility_timeout, worker=settings)
    name = hostname or f"tag-archiver@{socket.gethostname()}"
    worker = app.Worker(
        hostname=name,
        concurrency=concurrency,
        pool="prefork",
        loglevel=loglevel,
        logfile=None,  # stderr
        quiet=True,  # no banner on stdout
        without_mingle=True,
        without_gossip=True,
        without_heartbeat=True,
        optimization="fair",  # a free pool process gets the next site, not a busy one
    )
    worker.start()
    return int(worker.exitcode or 0)
