"""WARC record pairs, byte for byte (fixed record ids and dates, as warcio's own tests do)."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from archive.warc.exchange import Exchange, build_pair, payload_digest

GOLDEN = Path(__file__).parent / "golden"
BODY = gzip.compress(b"<html><body>caf\xc3\xa9</body></html>", mtime=0)
EXCHANGE = Exchange(
    url="http://blog.test/tag/x/page/2/?utm=1&b=%20",
    method="GET",
    request_headers=(
        ("Accept-Encoding", "gzip, br"),
        ("Authorization", "Basic c2VjcmV0"),
        ("Cookie", "a=1"),
        ("User-Agent", "tag-archiver/test"),
    ),
    status=200,
    response_headers=(
        ("Content-Type", "text/html; charset=UTF-8"),
        ("Content-Encoding", "gzip"),
        ("Transfer-Encoding", "chunked"),
        ("Set-Cookie", "a=1; Path=/"),
        ("Set-Cookie", "b=2; Path=/"),
        ("X-Odd", "caf\xe9"),  # a latin-1 header byte, as servers send them
    ),
    body=BODY,
    started=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    ip_address="127.0.0.1",
)
IDS = {"response_id": "<urn:uuid:00000000-0000-0000-0000-000000000001>",
       "request_id": "<urn:uuid:00000000-0000-0000-0000-000000000002>"}  # fmt: skip


def records_bytes(exchange: Exchange, *, gzipped: bool = False, **given) -> bytes:
    out = BytesIO()
    writer = WARCWriter(out, gzip=gzipped, warc_version="1.1")
    response, request = build_pair(writer, exchange, **IDS, **given)
    writer.write_record(response)
    writer.write_record(request)
    return out.getvalue()


def test_pair_matches_golden_bytes(golden):
    golden(GOLDEN / "pair.warc", records_bytes(EXCHANGE))


def test_what_the_golden_pins():
    text = records_bytes(EXCHANGE).decode("latin-1")
    response, request = text.split("WARC/1.1\r\n")[1:]
    assert "HTTP/1.1 200 OK\r\n" in response
    assert response.count("Set-Cookie:") == 2
    assert "Transfer-Encoding" not in response  # the body we hold is de-chunked
    assert "Content-Encoding: gzip" in response and BODY.decode("latin-1") in response
    assert "WARC-IP-Address: 127.0.0.1" in response
    assert "X-Odd: caf\xe9\r\n" in response  # the byte the server sent, not %-encoded
    assert (
        "WARC-Date: 2026-01-02T03:04:05.678901Z" in response
        and "WARC-Date: 2026-01-02T03:04:05.678901Z" in request
    )
    assert f"WARC-Concurrent-To: {IDS['response_id']}" in request
    assert "GET /tag/x/page/2/?utm=1&b=%20 HTTP/1.1\r\nHost: blog.test\r\n" in request
    assert "Authorization" not in request and "c2VjcmV0" not in request


def test_one_gzip_member_per_record_and_digests():
    data = records_bytes(EXCHANGE, gzipped=True)
    iterator = ArchiveIterator(BytesIO(data), check_digests=True)
    types = []
    for record in iterator:
        types.append(record.rec_type)
        record.content_stream().read()
        assert record.digest_checker.passed is not False, record.digest_checker.problems
    assert types == ["response", "request"]
    members, rest = 0, data
    import zlib

    while rest:
        inflater = zlib.decompressobj(wbits=31)
        inflater.decompress(rest)
        assert inflater.eof
        rest = inflater.unused_data
        members += 1
    assert members == 2


@pytest.mark.parametrize(
    ("status", "protocol", "line", "extra"),
    [
        (404, "HTTP/1.1", "HTTP/1.1 404 Not Found", None),
        (599, "HTTP/1.1", "HTTP/1.1 599", None),
        (200, "h2", "HTTP/1.1 200 OK", "WARC-Protocol: h2"),
    ],
)
def test_status_lines(status, protocol, line, extra):
    from dataclasses import replace

    text = records_bytes(replace(EXCHANGE, status=status, protocol=protocol)).decode("latin-1")
    assert f"\r\n\r\n{line}\r\n" in text
    if extra:
        assert extra in text


def test_truncated_body_is_marked():
    from dataclasses import replace

    text = records_bytes(replace(EXCHANGE, truncated="length")).decode("latin-1")
    assert "WARC-Truncated: length" in text


def test_a_digest_the_caller_computed_is_the_one_warcio_would_write():
    """The crawler hashes a body once (for its revisit check) and hands the digest over;
    the records say what warcio's say when it hashes the body itself (headers in another
    order), and warcio's own check accepts the digest."""

    def records(data: bytes) -> list[tuple[list, bytes]]:
        return [
            (sorted(r.rec_headers.headers), r.content_stream().read())
            for r in ArchiveIterator(BytesIO(data), check_digests="raise")
        ]

    given = records_bytes(EXCHANGE, payload_digest=payload_digest(BODY))
    assert records(given) == records(records_bytes(EXCHANGE))
    assert f"WARC-Payload-Digest: {payload_digest(BODY)}".encode() in given
