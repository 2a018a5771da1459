"""Reading one archived response back: the bytes behind a `captures` row."""

from __future__ import annotations

from pathlib import Path

from warcio.archiveiterator import ArchiveIterator


def read_response(warc_dir: Path, warc_file: str, offset: int) -> tuple[str, dict[str, str], bytes]:
    """(target URI, HTTP headers, decoded body) of the response record at `offset`."""
    with open(Path(warc_dir) / Path(warc_file).name, "rb") as handle:
        handle.seek(offset)
        record = next(iter(ArchiveIterator(handle)))
        headers = dict(record.http_headers.headers) if record.http_headers else {}
        body = record.content_stream().read()
        return record.rec_headers.get_header("WARC-Target-URI"), headers, body
