"""Extraction in worker processes, two ways.

ExtractionWorkers: extract_page in a pool, page by page (a Future each), for a caller that
holds the bodies. Extraction is CPU-bound Python; in worker processes it uses the machine's
other cores. The result is the same Page: extract_page is a pure function, and a Page pickles
whole. `workers=0` extracts in the calling process (no pool at all).

WarcExtractors: re-extraction's readers, by WARC file. Each process reads whole WARC files and
extracts their pages itself, so no body crosses a process boundary; what comes back is an
ExtractedRecord per response record (capture fields and article records, not the Page), in
the order of the files given and of the records in each file, so that a single writer stores
them exactly as one process reading the files in turn would.

Workers of both kinds ignore SIGINT and SIGTERM, and exit when the caller dies
(archive.processes).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import shutil
import tempfile
import time
import traceback
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, NamedTuple

from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_datetime

from archive.clock import iso_seconds
from archive.errors import ArchiveError, ExtractionError
from archive.extract.page import extract_page
from archive.processes import forkserver_context, start_worker
from archive.records import Article, PageKind
from archive.warc.files import RecordLocation

logger = logging.getLogger(__name__)

# Seconds between looks at what the readers said while their records are being read back.
# Each look costs a system call or two and a selector (about 0.1 ms); a reader done with its
# file waits at most this long for the next.
POLL_INTERVAL = 0.02

# The pages whose articles re-extraction stores, as the live crawl does.
EXTRACTED_KINDS = (PageKind.TAG_ARCHIVE, PageKind.SINGLE)


def default_workers() -> int:
    """One core is the caller's (the reactor, or the WARC reader and SQLite); the rest
    extract. On one core, extraction stays in process."""
    return max(0, (os.cpu_count() or 1) - 1)


class ExtractionWorkers:
    """The pool starts with the first page sent, and never again once closed: a page sent
    after close() (a stop that came while pages were in flight) is extracted in the calling
    process, so no worker can be started that nobody would stop."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else max(0, workers)
        self._pool: ProcessPoolExecutor | None = None
        self.closed = False

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=forkserver_context(), initializer=start_worker
            )
        return self._pool

    def submit(self, url: str, headers: Mapping[str, str] | None, body: bytes) -> Future:
        """A Future of the Page; its exception is the ExtractionError extract_page raised."""
        if self.workers == 0 or self.closed:
            future: Future = Future()
            try:
                future.set_result(extract_page(url, headers, body))
            except ExtractionError as exc:
                future.set_exception(exc)
            return future
        try:
            return self._executor().submit(extract_page, url, headers, body)
        except BrokenProcessPool:
            self._restart()
            return self._executor().submit(extract_page, url, headers, body)

    def crashed(self, exc: BrokenProcessPool) -> ExtractionError:
        """A worker died (a crash in lxml, the OOM killer): the page is unreadable, the pool
        is replaced, and the crawl goes on."""
        self._restart()
        return ExtractionError("crashed", f"the extraction worker died: {exc}")

    def _restart(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        """Wait for the pages sent to be extracted, then end the workers."""
        self.closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def kill(self) -> None:
        """End the workers now (a forced stop); their pages are not extracted."""
        self.closed = True
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # ProcessPoolExecutor has no public way to end its workers at once; they ignore
        # SIGTERM (archive.processes), so they are killed, and the pool is then broken.
        for process in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(OSError, ValueError):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def pids(self) -> list[int]:
        pool = self._pool
        return [p.pid for p in getattr(pool, "_processes", {}).values()] if pool else []


# --- by WARC file: re-extraction ----------------------------------------------------------


class ExtractedRecord(NamedTuple):
    """One response record of a WARC file, as re-extraction stores it: its capture row's
    fields and the articles read from it. Plain values and article records only (not the
    Page, whose links and pagination only a crawl follows): it is pickled once a record."""

    location: RecordLocation
    url: str
    status: int
    fetched_at: str | None  # None: the record has no valid WARC-Date; it is not stored
    content_type: str | None
    kind: PageKind | None = None  # what extraction made of it; None: not extracted
    unreadable: str | None = None  # ExtractionError.reason, or "crashed"
    problem: str | None = None  # what went wrong with this record, for the log
    articles: tuple[Article, ...] = ()  # those of an EXTRACTED_KINDS page


def read_warc_file(
    path: Path, after: int | None = None, crashed: int | None = None, extracting: Any = None
) -> Iterator[ExtractedRecord]:
    """Every response record of the WARC file `path`, in file order, its page extracted as
    the live crawl extracts: complete (not truncated) 200 HTML responses only.

    `after`: the offset of a response record already handed on; reading starts there, with
    the record after it. `crashed`: the offset of a record whose extraction killed the
    process that tried it; it comes back unreadable ("crashed"), not extracted again.
    `extracting`: a shared integer (multiprocessing.RawValue) that holds the offset of the
    record being extracted, and -1 between records, for whoever sees this process die."""
    with open(path, "rb") as handle:
        if after is not None:
            handle.seek(after)  # a record's first byte: the iterator starts there
        iterator = ArchiveIterator(handle)
        skip = after is not None
        for record in iterator:
            if record.rec_type != "response" or record.http_headers is None:
                continue
            if skip:
                skip = False
                continue
            yield _extracted(path.name, iterator, record, crashed, extracting)


def _extracted(
    warc_file: str, iterator: ArchiveIterator, record: Any, crashed: int | None, extracting: Any
) -> ExtractedRecord:
    headers = record.rec_headers
    try:
        when = iso_seconds(iso_date_to_datetime(headers.get_header("WARC-Date") or ""))
    except ValueError:
        when = None
    body = record.content_stream().read() if when is not None else b""
    location = RecordLocation(
        warc_file=warc_file,
        offset=iterator.get_record_offset(),  # read to the record's end first: after the body
        length=iterator.get_record_length(),
        record_id=headers.get_header("WARC-Record-ID"),
        payload_digest=headers.get_header("WARC-Payload-Digest"),
    )
    content_type = record.http_headers.get_header("Content-Type")
    extracted = ExtractedRecord(
        location=location,
        url=headers.get_header("WARC-Target-URI"),
        status=int(record.http_headers.get_statuscode()),
        fetched_at=when,
        content_type=content_type,
    )
    if (
        when is None
        or extracted.status != 200
        or headers.get_header("WARC-Truncated")
        or "html" not in (content_type or "").lower()
    ):
        return extracted  # the live crawl extracts complete HTML pages only; so does this
    if location.offset == crashed:
        problem = "the extraction process died on it"
        return extracted._replace(unreadable="crashed", problem=problem)
    if extracting is not None:
        extracting.value = location.offset
    try:
        page = extract_page(extracted.url, dict(record.http_headers.headers), body)
    except ExtractionError as exc:
        return extracted._replace(unreadable=exc.reason, problem=str(exc))
    finally:
        if extracting is not None:
            extracting.value = -1
    articles = page.articles if page.kind in EXTRACTED_KINDS else ()
    return extracted._replace(kind=page.kind, articles=articles)


def read_warc_files(paths: list[Path]) -> Iterator[ExtractedRecord]:
    """read_warc_file over each of `paths` in turn, in this process. A file that cannot be
    read (a damaged file; or a bug) stops it as in WarcExtractors: ArchiveError naming the
    file, its traceback logged."""
    for path in paths:
        try:
            yield from read_warc_file(path)
        except Exception as exc:
            raise _failed(path, _summary(exc), traceback.format_exc()) from exc


def _summary(exc: Exception) -> str:
    """What went wrong, short: warcio quotes the damaged bytes it met."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 200 else text[:200] + "..."


def _failed(path: Path, summary: str, details: str) -> ArchiveError:
    logger.error("reading %s failed:\n%s", path.name, details)
    return ArchiveError(f"reading {path.name} failed: {summary}")


@dataclass
class _File:
    """A WARC file's way through the readers: its records spooled, then read back in order."""

    path: Path
    spool: Path
    ends: deque[int] = field(default_factory=deque)  # spool offsets where records end
    written: int = 0  # spool bytes of whole records
    last: int | None = None  # WARC offset of the last record spooled
    crashed: int | None = None  # WARC offset of a record that killed its reader
    stalled: int = 0  # its readers that died in a row with no record spooled or to blame
    done: bool = False


@dataclass
class _Reader:
    process: BaseProcess
    conn: Connection
    extracting: Any  # RawValue("q"): see read_warc_file
    file: int | None = None  # index of the file it is reading
    spooled: bool = False  # it spooled a record of that file


class WarcExtractors:
    """`processes` reader-extractor processes over `paths`, a file at a time each; records()
    hands back every response record of every file, in the order given.

    A reader writes each record it extracts (pickled) to a spool file of that WARC file in
    `spool_dir`, and says so; records() reads the spools back in order, deleting each once
    read. A reader may start a file up to `processes` files after the one records() is at,
    so that no reader waits while the records of a file spooled whole are read back: the
    spools hold at most about that many files' worth of articles (several times the WARC
    files' size: the text is not compressed), and memory holds none of it.

    A reader that dies (a crash in lxml, the OOM killer) is replaced: its file goes on after
    the last record it spooled, and the record it was extracting comes back unreadable
    ("crashed"), not extracted again. ArchiveError if it died reading a file rather than
    extracting (twice in a row without a record spooled), or raised an error reading it (a
    damaged WARC file).
    """

    def __init__(self, paths: list[Path], processes: int, spool_dir: Path) -> None:
        self.processes = max(1, processes)
        self._spools = Path(tempfile.mkdtemp(prefix=".reextract-", dir=spool_dir))
        self._files = [_File(path, self._spools / f"{n}.spool") for n, path in enumerate(paths)]
        self._readers: list[_Reader] = []
        self._retry: deque[int] = deque()  # files whose reader died, to go on first
        self._next = 0  # the first file not yet given to a reader
        self._current = 0  # the file records() is reading back
        self._heard_at = 0.0  # when _poll() last looked
        self._context = forkserver_context()

    def __enter__(self) -> WarcExtractors:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def records(self) -> Iterator[ExtractedRecord]:
        for index, file in enumerate(self._files):
            self._current = index
            self._assign()
            # Unbuffered, each record's bytes exactly: after a reader dies its spool is cut
            # back to the records it reported, and its successor writes the rest anew.
            with open(file.spool, "rb", buffering=0) as spool:
                position = 0
                while file.ends or not file.done:
                    if not file.ends:
                        self._poll(None)
                        continue
                    end = file.ends.popleft()
                    data = os.pread(spool.fileno(), end - position, position)
                    position = end
                    yield pickle.loads(data)
                    if time.monotonic() > self._heard_at + POLL_INTERVAL:
                        self._poll(0)  # a reader done with its file gets the next one
            file.spool.unlink()

    def close(self) -> None:
        """End the readers (at once: they ignore SIGTERM, and have nothing to finish that
        anyone still wants) and remove the spools."""
        for reader in self._readers:
            with contextlib.suppress(OSError, ValueError):
                reader.process.kill()
        for reader in self._readers:
            reader.process.join(5)
            reader.conn.close()
        self._readers = []
        shutil.rmtree(self._spools, ignore_errors=True)

    def _assign(self) -> None:
        """Give idle readers the next files, up to `processes` files after the one being
        read back (the spools' bound)."""
        while True:
            if self._retry:
                index = self._retry[0]
            elif self._next < len(self._files) and self._next <= self._current + self.processes:
                index = self._next
            else:
                return
            reader = next((r for r in self._readers if r.file is None), None)
            if reader is None:
                if len(self._readers) >= self.processes:
                    return
                reader = self._start()
            if self._retry:
                self._retry.popleft()
            else:
                self._next += 1
            file = self._files[index]
            file.spool.touch()
            reader.file, reader.spooled = index, False
            reader.conn.send((index, str(file.path), str(file.spool), file.last, file.crashed))

    def _start(self) -> _Reader:
        conn, child_end = self._context.Pipe()
        extracting = self._context.RawValue("q", -1)
        process = self._context.Process(
            target=_read_files,
            args=(child_end, extracting),
            name="tag-archiver reextract reader",
        )
        process.start()
        child_end.close()
        reader = _Reader(process, conn, extracting)
        self._readers.append(reader)
        return reader

    def _poll(self, timeout: float | None) -> None:
        """Take in what the readers said (waiting up to `timeout`), and replace any that died."""
        ready = wait([r.conn for r in self._readers], timeout)
        self._heard_at = time.monotonic()
        for reader in [r for r in self._readers if r.conn in ready]:
            try:
                while reader.conn.poll():
                    self._heard(reader, reader.conn.recv())
            except (EOFError, OSError):
                self._died(reader)
        self._assign()

    def _heard(self, reader: _Reader, message: tuple) -> None:
        what, index, *rest = message
        file = self._files[index]
        if what == "record":
            file.written, file.last = rest
            file.ends.append(file.written)
            reader.spooled = True
        elif what == "done":
            file.done = True
            reader.file = None
        else:  # "failed": a damaged file; the run cannot rebuild it whole
            raise _failed(file.path, *rest)

    def _died(self, reader: _Reader) -> None:
        reader.process.join(5)
        reader.conn.close()
        self._readers.remove(reader)
        if reader.file is None:
            return  # between files: nothing lost, a new reader starts when one is needed
        file = self._files[reader.file]
        crashed = reader.extracting.value
        code = reader.process.exitcode
        file.stalled = 0 if reader.spooled or crashed >= 0 else file.stalled + 1
        if file.stalled > 1:  # dying where it reads, not where it extracts: it would again
            raise ArchiveError(
                f"the reader of {file.path.name} died twice (exit code {code}) "
                "without getting a record further"
            )
        logger.warning(
            "the reader of %s died (exit code %s); another goes on after its last record",
            file.path.name,
            code,
        )
        if crashed >= 0:
            file.crashed = crashed
        os.truncate(file.spool, file.written)  # a record half written when it died
        self._retry.append(reader.file)


def _read_files(conn: Connection, extracting: Any) -> None:
    """A reader process: for each file it is given, spool every record read_warc_file gives,
    saying after each how far the spool holds whole records. It runs until killed
    (WarcExtractors.close()) or its caller is gone."""
    start_worker()
    while True:
        try:
            index, path, spool_path, after, crashed = conn.recv()
        except EOFError:
            return
        try:
            with open(spool_path, "ab") as spool:
                for record in read_warc_file(Path(path), after, crashed, extracting):
                    pickle.dump(record, spool, protocol=pickle.HIGHEST_PROTOCOL)
                    spool.flush()
                    conn.send(("record", index, spool.tell(), record.location.offset))
        except Exception as exc:  # a damaged file: the caller stops the run and says why
            conn.send(("failed", index, _summary(exc), traceback.format_exc()))
            return
        conn.send(("done", index))
