"""Replay with no setup: pywb's `wayback`, started and stopped with `tag-archiver serve --replay`.

pywb is the replay tool the project already judges its WARCs with. It pins redis 2.10 (and
fakeredis < 1), which Celery's Redis transport cannot run with, so it lives in an environment
of its own (`pipx install pywb`, or the test setup's .tools/pywb/); serve finds its `wayback`
through TAG_ARCHIVER_PYWB (that environment, its bin directory, or the program), then a
checkout's .tools/pywb, then PATH.

The crawl's WARC directory is served as a collection named `archive`, indexed by pywb's own
`cdx-indexer` into a temporary directory at start (files a crawl finishes later are replayed
after a restart); the WARC files are read where they are, never copied. Only 127.0.0.1 listens.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from archive.errors import ArchiveError

COLLECTION = "archive"
START_TIMEOUT = 60.0
# Where tests/setup.sh puts pywb, for a checkout of this repository.
DEVELOPMENT_PYWB = Path(__file__).resolve().parents[2] / ".tools" / "pywb" / "bin"
INSTALL_HINT = (
    "install pywb in an environment of its own (pipx install pywb: it pins redis 2.10, "
    "which tag-archiver's fleet cannot share) and name it with TAG_ARCHIVER_PYWB=PATH"
)


class ReplayError(ArchiveError):
    """The replay server could not be found or started; the message says why."""


def find_wayback(configured: str | None = None) -> Path:
    """pywb's `wayback` program: `configured` (or $TAG_ARCHIVER_PYWB), an environment, its
    bin directory or the program itself; else this checkout's .tools/pywb; else on PATH."""
    configured = configured or os.environ.get("TAG_ARCHIVER_PYWB")
    if configured:
        path = Path(configured)
        for candidate in (path, path / "wayback", path / "bin" / "wayback"):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
        raise ReplayError(f"no pywb wayback program at {configured}: {INSTALL_HINT}")
    if (DEVELOPMENT_PYWB / "wayback").is_file():
        return DEVELOPMENT_PYWB / "wayback"
    found = shutil.which("wayback")
    if found:
        return Path(found)
    raise ReplayError(f"pywb is needed for --replay and was not found: {INSTALL_HINT}")


@contextmanager
def pywb_replay(warc_dir: Path, wayback: Path, port: int = 0) -> Iterator[str]:
    """pywb serving the WARC files under `warc_dir` (subdirectories included) on
    127.0.0.1:`port` (0: a free one) while the block runs; yields the collection's URL, the
    prefix archived links take (`URL/TIMESTAMP/ORIGINAL`). ReplayError if it cannot start."""
    warc_dir = Path(warc_dir).resolve()
    if not any(warc_dir.rglob("*.warc.gz")):
        raise ReplayError(f"no finished WARC files under {warc_dir} to replay")
    with tempfile.TemporaryDirectory(prefix="tag-archiver-replay-") as work:
        root = Path(work)
        index = root / "index.cdxj"
        indexer = wayback.with_name("cdx-indexer")
        indexed = subprocess.run(
            [str(indexer), "--sort", "--cdxj", "--recurse", "--dir-root", str(warc_dir),
             "--output", str(index), str(warc_dir)],
            capture_output=True, text=True,
        )  # fmt: skip
        if indexed.returncode != 0:
            raise ReplayError(f"pywb could not index {warc_dir}: {_tail(indexed.stderr)}")
        # Unframed: the archived page is the page, with pywb's banner, not an iframe in one.
        (root / "config.yaml").write_text(
            "framed_replay: false\n"
            "collections:\n"
            f"  {COLLECTION}:\n"
            f"    index_paths: {index}\n"
            f"    archive_paths: {warc_dir}/\n"
        )
        port = port or _free_port()
        log = root / "wayback.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [str(wayback), "--bind", "127.0.0.1", "--port", str(port)],
                cwd=root, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        try:
            _wait_until_listening(process, port, log)
            yield f"http://127.0.0.1:{port}/{COLLECTION}"
        finally:
            _stop(process)


def _wait_until_listening(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text("utf-8", "replace")
            raise ReplayError(f"pywb exited at start ({process.returncode}): {_tail(output)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    _stop(process)
    raise ReplayError(f"pywb did not answer on 127.0.0.1:{port} within {START_TIMEOUT:g} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " / ".join(lines[-3:]) or "no output"
