"""Serve a captured WordPress site over real HTTP on 127.0.0.1.

A snapshot is a folder with manifest.json and the response bodies, as written by
tests/testbed/capture.py from the live test-bed WordPress. Captured bodies name their site as
SNAPSHOT_ORIGIN; the server puts its own address there, so links stay on the served site.
Bodies are gzip-encoded when the client accepts it, as Apache does.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar

from archive.extract.urls import canonical_url

SNAPSHOT_ORIGIN = "http://wordpress.test"
# Recomputed for every answer, since bodies are localized and maybe gzipped on the way out.
_HOP_HEADERS = ("content-length", "content-encoding", "transfer-encoding", "connection")
COMPRESSIBLE = ("text/", "application/xml", "application/json", "application/rss+xml")
DEMO_SITE = Path(__file__).parent / "demo_site"


@dataclass(frozen=True)
class Captured:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def load_snapshot(folder: Path) -> tuple[dict[str, Captured], Captured | None]:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    responses = {}
    for entry in manifest["responses"]:
        responses[entry["path"]] = Captured(
            entry["status"],
            tuple((name, value) for name, value in entry["headers"]),
            (folder / entry["file"]).read_bytes(),
        )
    not_found = responses.get(manifest.get("not_found", ""))
    return responses, not_found


def localize(body: bytes, origin: str) -> bytes:
    escaped = SNAPSHOT_ORIGIN.replace("/", "\\/").encode()
    return body.replace(SNAPSHOT_ORIGIN.encode(), origin.encode()).replace(
        escaped, origin.replace("/", "\\/").encode()
    )


def _lookup_key(path: str) -> str:
    return canonical_url(SNAPSHOT_ORIGIN + path)


class SnapshotServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, folder: Path, port: int = 0) -> None:
        self.responses, self.not_found = load_snapshot(folder)
        # A request spelled otherwise than the capture (query order, escape case) is the same
        # page: looked up by canonical URL when the exact path is not captured.
        self.canonical = {_lookup_key(path): found for path, found in self.responses.items()}
        self.requests_seen: list[str] = []
        super().__init__(("127.0.0.1", port), _Handler)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: SnapshotServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.requests_seen.append(self.path)
        captured = self.server.responses.get(self.path) or self.server.canonical.get(
            _lookup_key(self.path)
        )
        captured = captured or self.server.not_found
        if captured is None:
            captured = Captured(404, (("Content-Type", "text/plain"),), b"not in the snapshot")
        body = localize(captured.body, self.server.origin)
        headers = [(n, v) for n, v in captured.headers if n.lower() not in _HOP_HEADERS]
        content_type = next((v for n, v in headers if n.lower() == "content-type"), "")
        if "gzip" in self.headers.get("Accept-Encoding", "") and content_type.startswith(
            COMPRESSIBLE
        ):
            body = gzip.compress(body, mtime=0)
            headers.append(("Content-Encoding", "gzip"))
        self.send_response(captured.status)
        for name, value in headers:
            if name.lower() == "location":
                value = localize(value.encode(), self.server.origin).decode()
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the crawler logs every request already


S = TypeVar("S", bound=ThreadingHTTPServer)


@contextmanager
def serving(server: S) -> Iterator[S]:
    """`server`, answering on a daemon thread until the block ends, then closed."""
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=type(server).__name__, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve_snapshot(folder: Path = DEMO_SITE, port: int = 0) -> Iterator[SnapshotServer]:
    with serving(SnapshotServer(folder, port)) as server:
        yield server
