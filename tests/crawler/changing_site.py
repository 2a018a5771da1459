"""A small WordPress-like blog on 127.0.0.1 whose posts change between crawl runs.

Pages use the classic theme's markers (post_class(), entry-title, entry-content, tags-links,
paginate_links), two posts per page, newest first. Tests edit `blog.posts` between runs.
It can also answer with ETags (and 304), and with 429 + Retry-After, per path.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.crawler.hostile_site import archive, post, single

PER_PAGE = 2


@dataclass
class Post:
    id: int
    slug: str
    title: str
    text: str
    tags: tuple[str, ...]

    @property
    def path(self) -> str:  # hostile_site's permalink pattern: /2024/01/0D/slug/
        return f"/2024/01/0{self.id % 9 + 1}/{self.slug}/"

    def parts(self) -> tuple:
        return (self.id, self.slug, self.title, self.text, self.tags)


@dataclass
class Blog:
    posts: dict[int, Post] = field(default_factory=dict)
    requests: list[tuple[float, str]] = field(default_factory=list)
    answers: list[tuple[float, str]] = field(default_factory=list)  # when each was sent whole
    errors: dict[str, int] = field(default_factory=dict)  # path -> status it always answers
    etags: bool = False
    throttle: dict[str, int] = field(default_factory=dict)  # path -> 429s still to send
    delay: float = 0.0

    def add(self, post_id: int, title: str, text: str, *tags: str) -> None:
        self.posts[post_id] = Post(post_id, f"post-{post_id}", title, text, tags)

    def tag_page(self, tag: str, number: int) -> str | None:
        listed = sorted((p for p in self.posts.values() if tag in p.tags), key=lambda p: -p.id)
        pages = max(1, -(-len(listed) // PER_PAGE))
        if number > pages or (not listed and number > 1):
            return None
        chunk = listed[(number - 1) * PER_PAGE : number * PER_PAGE]
        links = "".join(
            f'<a class="page-numbers" href="/tag/{tag}/page/{n}/">{n}</a>'
            if n != number else f'<span class="page-numbers current">{n}</span>'
            for n in range(1, pages + 1)
        )  # fmt: skip
        body = "".join(post(*p.parts()) for p in chunk) or "<p>Nothing found.</p>"
        return archive(tag, body, f'<nav class="navigation pagination">{links}</nav>')

    def page(self, path: str) -> str | None:
        if path.startswith("/tag/"):
            parts = [p for p in path.split("/") if p]
            number = int(parts[3]) if len(parts) == 4 and parts[2] == "page" else 1
            return self.tag_page(parts[1], number)
        found = next((p for p in self.posts.values() if p.path == path), None)
        return single(*found.parts()) if found else None

    def paths(self) -> list[str]:
        return [path for _, path in self.requests]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def do_GET(self) -> None:
        blog: Blog = self.server.blog
        blog.requests.append((time.monotonic(), self.path))
        if blog.delay:
            time.sleep(blog.delay)
        if blog.throttle.get(self.path):
            blog.throttle[self.path] -= 1
            return self.answer(429, b"slow down", [("Retry-After", "2")])
        if self.path in blog.errors:
            return self.answer(blog.errors[self.path], b"broken")
        html = blog.page(self.path)
        if html is None:
            return self.answer(404, b"<html><body class='error404'>Not found</body></html>")
        body = html.encode()
        headers = []
        if blog.etags:
            etag = '"' + hashlib.sha1(body).hexdigest() + '"'
            if self.headers.get("If-None-Match") == etag:
                return self.answer(304, b"", [("ETag", etag)])
            headers.append(("ETag", etag))
        self.answer(200, body, headers)

    def answer(self, status: int, body: bytes, headers: list | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=UTF-8")
        for name, value in headers or []:
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)
        self.wfile.flush()
        self.server.blog.answers.append((time.monotonic(), self.path))

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def changing_site(blog: Blog) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.blog = blog
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
