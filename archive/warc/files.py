"""WARC files on disk: naming, rolling over, the .open suffix, and repair after a crash.

Files are named PREFIX-TIMESTAMP-SERIAL-HOST.warc.gz (Heritrix's convention), written as
NAME.open and renamed when closed, so a finished file is never written again. Each starts
with a warcinfo record. A new file is started, between exchanges only, once a file passes
max_size. No name is ever built from URL text: HOST is this machine's name.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import socket
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from warcio.warcwriter import WARCWriter

from archive.errors import ArchiveError
from archive.warc.exchange import Exchange, Revisit, build_pair, warc_date

logger = logging.getLogger(__name__)

OPEN_SUFFIX = ".open"
DEFAULT_MAX_SIZE = 1_000_000_000  # the customary 1 GB


class WarcWriteError(ArchiveError):
    """A WARC file could not be written (disk full, permissions, ...): the run must stop."""


@dataclass(frozen=True)
class RecordLocation:
    """Where a response record lives: enough for `warcio extract FILE OFFSET`."""

    warc_file: str  # final name (never the .open one), relative to the WARC directory
    offset: int
    length: int
    record_id: str
    payload_digest: str | None
    warc_date: str | None = None  # exact, as a later revisit must quote it


# What a directory that refuses new files reports: a read-only mount, an immutable directory,
# missing permissions.
_UNWRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)


def _failed(doing: str, directory: Path, exc: OSError) -> str:
    if exc.errno in _UNWRITABLE:
        return f"the WARC directory {directory} is not writable ({exc.strerror})"
    return f"{doing} failed: {exc}"


def check_writable_dir(directory: str | Path) -> None:
    """Make `directory` if missing; WarcWriteError, naming it, unless WARC files can be
    created in it. Called before a crawl's first request, so nothing is fetched unarchived.
    os.access answers for root too on read-only mounts and immutable directories."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarcWriteError(_failed("creating the WARC directory", directory, exc)) from exc
    if not os.access(directory, os.W_OK | os.X_OK):
        raise WarcWriteError(f"the WARC directory {directory} is not writable")


def default_warc_dir(db_path: str | Path) -> Path:
    """pjfp.db -> pjfp-warc/, beside the database."""
    path = Path(db_path)
    return path.with_name(f"{path.stem}-warc")


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-") or "host"


@dataclass
class WarcFileWriter:
    directory: Path
    prefix: str = "tag-archiver"
    max_size: int = DEFAULT_MAX_SIZE
    warcinfo: dict[str, str] = field(default_factory=dict)
    fsync: bool = False
    files_written: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        self._handle = None
        self._writer: WARCWriter | None = None
        self._name: str | None = None
        self._serial = 0
        self._stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")[:17]
        self._host = _safe(socket.gethostname())

    # --- files ------------------------------------------------------------------------------

    def _open_next(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            self._serial += 1
            name = f"{_safe(self.prefix)}-{self._stamp}-{self._serial:05d}-{self._host}.warc.gz"
            final, partial = self.directory / name, self.directory / (name + OPEN_SUFFIX)
            if not final.exists() and not partial.exists():
                break
        # "x": never append to (or clobber) a file from an earlier run
        self._handle = open(partial, "xb")  # noqa: SIM115 - closed in close_file()
        self._writer = WARCWriter(self._handle, gzip=True, warc_version="1.1")
        self._name = name
        info = BytesIO("".join(f"{k}: {v}\r\n" for k, v in self.warcinfo.items()).encode())
        record = self._writer.create_warc_record(
            "",
            "warcinfo",
            payload=info,
            length=len(info.getvalue()),
            warc_content_type="application/warc-fields",
            warc_headers_dict={"WARC-Filename": name, "WARC-Date": warc_date(datetime.now(UTC))},
        )
        self._writer.write_record(record)
        self._flush()

    def close_file(self) -> None:
        if self._handle is None:
            return
        self._flush()
        self._handle.close()
        os.replace(self.directory / (self._name + OPEN_SUFFIX), self.directory / self._name)
        self.files_written.append(self._name)
        logger.info("closed WARC %s", self.directory / self._name)
        self._handle = self._writer = self._name = None

    def close(self) -> None:
        try:
            self.close_file()
        except OSError as exc:
            raise WarcWriteError(_failed("closing the WARC file", self.directory, exc)) from exc

    def _flush(self) -> None:
        self._handle.flush()
        if self.fsync:
            os.fsync(self._handle.fileno())

    # --- records ----------------------------------------------------------------------------

    def write(
        self,
        exchange: Exchange,
        revisit: Revisit | None = None,
        *,
        payload_digest: str | None = None,
    ) -> RecordLocation:
        """Write the exchange's response (or revisit) and request records, adjacent, flushed.
        payload_digest: the body's, when the caller has it (computed here otherwise)."""
        try:
            if self._handle is not None and self._handle.tell() >= self.max_size:
                self.close_file()
            if self._handle is None:
                self._open_next()
            response, request = build_pair(
                self._writer, exchange, revisit=revisit, payload_digest=payload_digest
            )
            offset = self._handle.tell()
            self._writer.write_record(response)
            length = self._handle.tell() - offset
            self._writer.write_record(request)
            self._flush()
        except OSError as exc:
            raise WarcWriteError(_failed("writing a WARC record", self.directory, exc)) from exc
        return RecordLocation(
            warc_file=self._name,
            offset=offset,
            length=length,
            record_id=response.rec_headers.get_header("WARC-Record-ID"),
            payload_digest=response.rec_headers.get_header("WARC-Payload-Digest"),
            warc_date=response.rec_headers.get_header("WARC-Date"),
        )


def complete_length(path: Path) -> int:
    """Bytes of `path` that form whole gzip members (every WARC record is one member).

    Streams the file: a cut-off or corrupt last member ends the count at the member before.
    """
    good = consumed = 0
    inflater = zlib.decompressobj(wbits=31)
    with open(path, "rb") as handle:
        pending = b""
        while chunk := pending or handle.read(1 << 16):
            pending = b""
            try:
                inflater.decompress(chunk)
            except zlib.error:
                break
            if inflater.eof:
                pending = inflater.unused_data
                consumed += len(chunk) - len(pending)
                good = consumed
                inflater = zlib.decompressobj(wbits=31)
            else:
                consumed += len(chunk)
    return good


def repair_open_files(directory: Path) -> list[tuple[str, int, int]]:
    """Cut each leftover NAME.open back to its last whole record and rename it to NAME.

    Returns (final name, bytes kept, bytes cut) per repaired file.
    """
    repaired: list[tuple[str, int, int]] = []
    if not Path(directory).is_dir():
        return repaired
    for partial in sorted(Path(directory).glob(f"*.warc.gz{OPEN_SUFFIX}")):
        size = partial.stat().st_size
        keep = complete_length(partial)
        with open(partial, "r+b") as handle:
            handle.truncate(keep)
        final = partial.with_name(partial.name[: -len(OPEN_SUFFIX)])
        os.replace(partial, final)
        logger.warning("repaired %s: kept %d bytes, cut %d", final.name, keep, size - keep)
        repaired.append((final.name, keep, size - keep))
    return repaired
