"""Reading one archived response back: the bytes behind a `captures` row."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator

from archive.errors import ArchiveError


def warc_path(warc_dir: Path, warc_file: str) -> Path:
    """The file a `captures.warc_file` names: relative to the WARC directory, in a
    subdirectory of it in a merged database (`SITE-KEY/NAME.warc.gz`, archive.merge); never
    outside it."""
    root = Path(warc_dir).resolve()
    path = (root / warc_file).resolve()
    if not path.is_relative_to(root):
        raise ArchiveError(f"the WARC file {warc_file!r} is outside the WARC directory {root}")
    return path


def file_site(path: Path) -> str | None:
    """The site a WARC file's records belong to: its warcinfo's isPartOf (written by the
    crawl since schema 6), else the origin of its first response; None for a file without
    either."""
    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle):
            if record.rec_type == "warcinfo":
                fields = record.content_stream().read().decode("utf-8", "replace")
                for line in fields.splitlines():
                    name, _, value = line.partition(":")
                    if name.strip() == "isPartOf" and value.strip():
                        return value.strip()
            elif record.rec_type == "response":
                parts = urlsplit(record.rec_headers.get_header("WARC-Target-URI") or "")
                return f"{parts.scheme}://{parts.netloc}/" if parts.netloc else None
    return None


def read_response(warc_dir: Path, warc_file: str, offset: int) -> tuple[str, dict[str, str], bytes]:
    """(target URI, HTTP headers, decoded body) of the response record at `offset`."""
    with open(warc_path(warc_dir, warc_file), "rb") as handle:
        handle.seek(offset)
        record = next(iter(ArchiveIterator(handle)))
        headers = dict(record.http_headers.headers) if record.http_headers else {}
        body = record.content_stream().read()
        return record.rec_headers.get_header("WARC-Target-URI"), headers, body
