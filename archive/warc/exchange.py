"""One HTTP exchange, as it went over the wire, and its WARC/1.1 request/response records.

Built from plain values so that the Scrapy side serializes a response the moment it arrives
(later middlewares mutate headers and body in place) and the records can be tested byte for
byte with fixed ids and dates.
"""

from __future__ import annotations

import base64
import hashlib
import http
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from urllib.parse import urlsplit

from warcio.recordbuilder import RecordBuilder
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date

# Never archived: they would hand a replay user the crawler's credentials.
SECRET_REQUEST_HEADERS = {"authorization", "proxy-authorization"}
# The body we hold is de-chunked; claiming chunking would make replay tools misread it.
DECODED_BY_CLIENT = {"transfer-encoding"}


class WireHeaders(StatusAndHeaders):
    """HTTP headers written back as the bytes they arrived as.

    warcio percent-encodes non-ASCII header values (RFC 8187 style), which changes what the
    server sent; headers were decoded as latin-1, so encoding them the same way restores the
    original bytes exactly. Digests follow, as warcio computes them from this same buffer.
    """

    def compute_headers_buffer(self, header_filter=None) -> None:
        self.headers_buff = self.to_str(header_filter).encode("latin-1", "replace") + b"\r\n"


@dataclass(frozen=True)
class Exchange:
    url: str
    method: str
    request_headers: tuple[tuple[str, str], ...]
    status: int
    response_headers: tuple[tuple[str, str], ...]
    body: bytes  # as received: still Content-Encoded (gzip, br) when the server encoded it
    started: datetime  # when the request was sent: WARC-Date of both records
    protocol: str = "HTTP/1.1"
    ip_address: str | None = None
    truncated: str | None = None  # WARC-Truncated reason ("length", "disconnect", ...)


IDENTICAL_PAYLOAD = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"


@dataclass(frozen=True)
class Revisit:
    """Write a revisit record instead of a response: the payload is in an earlier record."""

    profile: str  # IDENTICAL_PAYLOAD (same bytes as before) or NOT_MODIFIED (a 304)
    refers_to_uri: str
    refers_to_date: str  # the original record's exact WARC-Date
    refers_to_id: str
    payload_digest: str | None  # the original's digest, for IDENTICAL_PAYLOAD


def payload_digest(body: bytes) -> str:
    """WARC-Payload-Digest as warcio writes it: sha1, base32."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def status_line(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)  # a status Python does not know has no standard phrase


def request_target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def warc_date(moment: datetime) -> str:
    """WARC-Date: UTC with microseconds (WARC/1.1). warcio wants a naive UTC datetime."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return datetime_to_iso_date(moment, use_micros=True)


def build_pair(
    builder: RecordBuilder,
    exchange: Exchange,
    *,
    response_id: str | None = None,
    request_id: str | None = None,
    revisit: Revisit | None = None,
    payload_digest: str | None = None,
):
    """(response record, request record), linked as warcio's write_request_response_pair does.
    payload_digest: the body's (payload_digest()), when the caller has it already: warcio then
    quotes it instead of hashing the body again."""
    date = warc_date(exchange.started)
    http_protocol = (
        "HTTP/1.1"
        if exchange.protocol.upper() in ("H2", "HTTP/2", "HTTP/2.0")
        else exchange.protocol
    )
    common = {"WARC-Date": date}
    response_fields = dict(common)
    if response_id:
        response_fields["WARC-Record-ID"] = response_id
    if http_protocol != exchange.protocol:
        response_fields["WARC-Protocol"] = "h2"
    if exchange.ip_address:
        response_fields["WARC-IP-Address"] = exchange.ip_address
    if exchange.truncated:
        response_fields["WARC-Truncated"] = exchange.truncated
    response_headers = [
        (name, value)
        for name, value in exchange.response_headers
        if name.lower() not in DECODED_BY_CLIENT
    ]
    body = exchange.body
    if revisit is not None:
        body = b""  # the payload lives in the record referred to
        response_fields["WARC-Profile"] = revisit.profile
        response_fields["WARC-Refers-To-Target-URI"] = revisit.refers_to_uri
        response_fields["WARC-Refers-To-Date"] = revisit.refers_to_date
        response_fields["WARC-Refers-To"] = revisit.refers_to_id
        if revisit.payload_digest:
            response_fields["WARC-Payload-Digest"] = revisit.payload_digest
    elif payload_digest:
        response_fields["WARC-Payload-Digest"] = payload_digest
    response = builder.create_warc_record(
        exchange.url,
        "revisit" if revisit is not None else "response",
        payload=BytesIO(body),
        length=len(body),
        warc_headers_dict=response_fields,
        http_headers=WireHeaders(
            status_line(exchange.status), response_headers, protocol=http_protocol
        ),
    )

    host = urlsplit(exchange.url).netloc
    request_headers = [
        (name, value)
        for name, value in exchange.request_headers
        if name.lower() not in SECRET_REQUEST_HEADERS and name.lower() != "host"
    ]
    request_fields = dict(common)
    request_fields["WARC-Concurrent-To"] = response.rec_headers.get_header("WARC-Record-ID")
    if request_id:
        request_fields["WARC-Record-ID"] = request_id
    request = builder.create_warc_record(
        exchange.url,
        "request",
        payload=BytesIO(b""),
        length=0,
        warc_headers_dict=request_fields,
        http_headers=WireHeaders(
            f"{exchange.method} {request_target(exchange.url)} {http_protocol}",
            [("Host", host), *request_headers],
            is_http_request=True,
        ),
    )
    return response, request
