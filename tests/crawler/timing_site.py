"""A small blog on loopback that records when each request arrived, and fails on request.

`site.script[path]` lists the answers a path gives, in order; its last answer repeats:
an int is that status with an empty body, ("retry-after", status, value) adds the header,
"drop" hangs up without answering, ("redirect", url) is a 301, bytes are served as
text/html, and anything else falls through to the blog (a news tag with one post).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise

from crawler.snapshot import serving
from tests.crawler.hostile_site import archive, post, single

NEWS = (1, "alpha", "Alpha", "Alpha text.", ("news",))
PAGES = {
    "/tag/news/": archive("news", post(*NEWS)),
    "/2024/01/02/alpha/": single(*NEWS),
}


@dataclass
class TimingSite:
    script: dict[str, list] = field(default_factory=dict)
    arrivals: list[tuple[float, str]] = field(default_factory=list)
    origin: str = ""
    # False: every answer closes its connection. Twisted resends a request once, at once, when
    # a reused connection drops it; with no reuse, each arrival is one of Scrapy's tries.
    keep_alive: bool = True
    delay: float = 0.0  # seconds before each answer: a slow site
    # Called with each request's path as it arrives, before it is answered.
    on_request: Callable[[str], None] | None = None

    def times(self, path: str) -> list[float]:
        return [t for t, p in self.arrivals if p == path]

    def gaps(self, path: str) -> list[float]:
        times = self.times(path)
        return [b - a for a, b in pairwise(times)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def do_GET(self) -> None:
        site: TimingSite = self.server.site
        site.arrivals.append((time.monotonic(), self.path))
        if site.on_request is not None:
            site.on_request(self.path)
        if site.delay:
            time.sleep(site.delay)
        answers = site.script.get(self.path)
        answer = None
        if answers:
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if answer == "drop":
            self.close_connection = True
            self.connection.close()
            return
        if isinstance(answer, int):
            return self.answer(answer, b"")
        if isinstance(answer, tuple) and answer[0] == "retry-after":
            return self.answer(answer[1], b"", [("Retry-After", str(answer[2]))])
        if isinstance(answer, tuple) and answer[0] == "redirect":
            return self.answer(301, b"", [("Location", answer[1])])
        if isinstance(answer, bytes):
            return self.answer(200, answer)
        html = PAGES.get(self.path)
        if html is None:
            return self.answer(404, b"<html><body class='error404'>Not found</body></html>")
        self.answer(200, html.encode())

    def answer(self, status: int, body: bytes, headers: list | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=UTF-8")
        for name, value in headers or []:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if not self.server.site.keep_alive:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def timing_site(site: TimingSite | None = None, host: str = "127.0.0.1") -> Iterator[TimingSite]:
    site = site or TimingSite()
    server = ThreadingHTTPServer((host, 0), _Handler)
    server.site = site
    with serving(server):
        site.origin = f"http://{host}:{server.server_address[1]}"
        yield site
