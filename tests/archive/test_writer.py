"""StoreWriter: the store in a process of its own runs only its named operations, keeps the
order of calls, returns results and StoreErrors through futures, and fails what is pending
when the writer dies."""

from __future__ import annotations

import importlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive.errors import StoreError
from archive.records import Observed
from archive.run_ledger import save_observed
from archive.store import Outcome, Store
from archive.store_thread import StoreThread
from archive.warc.files import RecordLocation
from archive.writer import OPERATIONS, StoreWriter, UnknownOperation
from tests.helpers import T1, article, dump
from tests.processes import session_members, wait_for_session_end

ROOT = Path(__file__).resolve().parents[2]


def location(n: int) -> RecordLocation:
    return RecordLocation("a.warc.gz", n * 1000, 900, f"<urn:uuid:{n:08d}>", "sha1:X", "2026")


def capture(writer, n: int, capture_id: int):
    return writer.submit(
        "add_capture", location(n), url=f"http://b.test/{n}/", status=200,
        fetched_at=T1, content_type="text/html", capture_id=capture_id,
    )  # fmt: skip


@pytest.fixture
def process_writer(tmp_path):
    started = StoreWriter(tmp_path / "a.db")
    yield started
    started.close()


@pytest.fixture(params=[StoreWriter, StoreThread])
def writer(request, tmp_path):
    """Both forms of the writer, in a process of its own and on a thread, keep one contract."""
    started = request.param(tmp_path / "a.db")
    yield started
    started.close()


def test_calls_run_in_the_order_sent_and_give_the_same_rows(tmp_path, writer):
    # Each batch names the capture sent just before it: out of order, the foreign key fails.
    futures = []
    for n in range(1, 21):
        futures.append(capture(writer, n, capture_id=n))
        batch = [Observed(article(f"http://b.test/{n}/"), n)]
        futures.append(writer.submit("save_observed", batch, T1))
    results = [f.result(timeout=60) for f in futures]
    assert results[0::2] == list(range(1, 21))
    assert [dict(tally.outcomes) for tally in results[1::2]] == [{Outcome.NEW: 1}] * 20
    writer.close()
    with Store(tmp_path / "b.db") as inline:
        for n in range(1, 21):
            inline.add_capture(
                location(n), url=f"http://b.test/{n}/", status=200, fetched_at=T1,
                content_type="text/html",
            )  # fmt: skip
            save_observed(inline, [Observed(article(f"http://b.test/{n}/"), n)], T1)
    assert dump(tmp_path / "a.db") == dump(tmp_path / "b.db")


def test_a_failed_call_is_its_futures_store_error_and_the_next_call_works(writer):
    orphan = writer.submit("save_observed", [Observed(article(), capture_id=99)], T1)
    error = orphan.exception(timeout=60)
    assert isinstance(error, StoreError) and "FOREIGN KEY" in str(error)
    assert capture(writer, 1, capture_id=1).result(timeout=60) == 1
    assert writer.submit("next_capture_id").result(timeout=60) == 2


def test_only_named_operations_are_run(writer):
    # Anything else is refused in the caller, before a byte reaches the writer.
    for refused in ("drop_everything", "__import__", Store.next_capture_id):
        with pytest.raises(UnknownOperation):
            writer.submit(refused)
    assert writer.submit("next_capture_id").result(timeout=60) == 1


def test_every_operation_names_a_function_of_the_store():
    for spelled in OPERATIONS.values():
        module, _, path = spelled.partition(":")
        function = importlib.import_module(module)
        for attribute in path.split("."):
            function = getattr(function, attribute)
        assert callable(function), spelled


def test_a_call_that_cannot_be_sent_fails_alone(tmp_path):
    writer = StoreWriter(tmp_path / "a.db")  # in a process of its own: what cannot be pickled
    error = writer.submit("unlisted_under", lambda: None).exception(timeout=60)
    assert not isinstance(error, StoreError) and "lambda" in str(error)
    assert writer.submit("next_capture_id").result(timeout=60) == 1

    writer.close()


def test_a_file_that_is_not_a_database_is_refused_at_start(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("not sqlite " * 100)
    with pytest.raises(StoreError, match="cannot open"):
        StoreWriter(path)


def test_close_waits_for_everything_sent(tmp_path):
    writer = StoreWriter(tmp_path / "a.db")
    futures = [capture(writer, n, capture_id=n) for n in range(1, 201)]
    writer.close()
    assert all(f.done() and f.exception() is None for f in futures)
    count = sqlite3.connect(tmp_path / "a.db").execute("SELECT count(*) FROM captures")
    assert count.fetchone()[0] == 200
    assert isinstance(writer.submit("next_capture_id").exception(), StoreError)


def test_the_writer_stores_without_numpy_or_pandas(process_writer):
    pytest.importorskip("numpy")  # installed, so sqlite-utils would import it if let
    capture(process_writer, 1, 1).result(timeout=60)
    mapped = Path(f"/proc/{process_writer.pid}/maps").read_text()
    assert "sqlite3" in mapped  # it has stored
    assert "numpy" not in mapped and "pandas" not in mapped


def test_a_dead_writer_fails_what_is_pending_and_what_comes_after(process_writer):
    process_writer.submit("next_capture_id").result(timeout=60)
    os.kill(process_writer._process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    error = None
    while error is None and time.monotonic() < deadline:
        error = process_writer.submit("next_capture_id").exception(timeout=30)
    assert isinstance(error, StoreError) and "exited" in str(error)


CALLER = """
import sys
from archive.extract.workers import ExtractionWorkers
from archive.warc.files import RecordLocation
from archive.writer import StoreWriter

if __name__ == "__main__":
    workers = ExtractionWorkers(1)
    workers.submit("http://b.test/", {}, b"<html><body><p>x</p></body></html>").result()
    writer = StoreWriter(sys.argv[1])
    for n in range(1, 501):
        location = RecordLocation("a.warc.gz", n, 1, f"<urn:uuid:{n}>", None)
        writer.submit("add_capture", location, url="http://b.test/", status=200,
                      fetched_at="t", content_type=None, capture_id=n)
    print("sent", flush=True)
    sys.stdin.read()
"""


def test_killing_the_caller_ends_its_helpers_after_the_writes_it_sent(tmp_path):
    """kill -9 of the crawler: what it sent is committed, and no helper outlives it (pool
    workers ignore SIGTERM: left behind, they would pile up night after night)."""
    script = tmp_path / "caller.py"
    script.write_text(CALLER)
    with subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "a.db")],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    ) as caller:  # fmt: skip
        try:
            assert caller.stdout.readline() == "sent\n"
            assert len(session_members(caller.pid)) >= 4  # + forkserver, worker, writer
            caller.kill()
            caller.wait(timeout=10)
            assert wait_for_session_end(caller.pid) == []
        finally:
            for pid in session_members(caller.pid):
                os.kill(pid, signal.SIGKILL)
    count = sqlite3.connect(tmp_path / "a.db").execute("SELECT count(*) FROM captures")
    assert count.fetchone()[0] == 500


def test_a_killed_thread_writer_fails_what_it_had_not_begun(tmp_path):
    """A forced stop: calls not yet begun fail with StoreError; the store stays whole."""
    writer = StoreThread(tmp_path / "a.db")
    assert capture(writer, 1, capture_id=1).result(timeout=60) == 1
    writer.kill()
    assert isinstance(capture(writer, 2, capture_id=2).exception(timeout=60), StoreError)
    assert writer.close(timeout=5) is False
    with Store(tmp_path / "a.db") as store:
        assert store.next_capture_id() == 2


def test_a_thread_writer_that_falls_behind_holds_up_the_caller(tmp_path):
    """At most MAX_PENDING calls wait: while another connection holds the write lock, the
    next call blocks its caller (the crawl slows down instead of piling up batches)."""
    import threading

    from archive.store_thread import MAX_PENDING

    writer = StoreThread(tmp_path / "a.db")
    other = sqlite3.connect(tmp_path / "a.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another crawler process's transaction
    waiting = [capture(writer, n, capture_id=n) for n in range(1, MAX_PENDING + 1)]
    sent = threading.Event()
    threading.Thread(target=lambda: (capture(writer, 9, capture_id=9), sent.set())).start()
    assert not sent.wait(0.5)
    other.execute("COMMIT")
    assert sent.wait(30)
    assert [f.result(timeout=30) for f in waiting] == list(range(1, MAX_PENDING + 1))
    writer.close()
    other.close()
