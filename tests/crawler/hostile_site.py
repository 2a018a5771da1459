"""A small WordPress-like site on 127.0.0.1 that misbehaves on purpose, one path per case."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def post(post_id: int, slug: str, title: str, text: str, tags: tuple[str, ...]) -> str:
    classes = " ".join(f"tag-{t}" for t in tags)
    links = ", ".join(f'<a href="/tag/{t}/" rel="tag">{t}</a>' for t in tags)
    return (
        f'<article class="post-{post_id} post type-post hentry {classes}">'
        f'<h2 class="entry-title"><a href="/2024/01/0{post_id % 9 + 1}/{slug}/">{title}</a></h2>'
        f'<time class="entry-date published" datetime="2024-01-0{post_id % 9 + 1}T10:00:00+00:00">x</time>'
        f'<div class="entry-content"><h2>Summary</h2><p>{text}</p></div>'
        f'<footer><span class="tags-links">{links}</span></footer></article>'
    )


def archive(tag: str, posts: str, pagination: str = "", charset: str = "utf-8") -> str:
    return (
        f'<!doctype html><html><head><meta charset="{charset}"><title>{tag}</title></head>'
        f'<body class="archive tag tag-{tag}"><h1 class="page-title">Tag: <span>{tag}</span></h1>'
        f"{posts}{pagination}</body></html>"
    )


def single(post_id: int, slug: str, title: str, text: str, tags: tuple[str, ...]) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"></head>'
        f'<body class="single single-post postid-{post_id}">'
        f"{post(post_id, slug, title, text, tags)}"
        f'<span class="byline"><a rel="author" href="/author/a/">Ann Author</a></span></body></html>'
    )


NEWS_A = (1, "alpha", "Alpha", "Alpha text.", ("news",))
NEWS_B = (2, "beta", "Beta", "Beta text.", ("news", "more"))
PAGES = {
    # No /wp-sitemap.xml on this site: --all-tags must find tags from the links on its pages.
    "/": '<html><body class="home blog"><a href="/tag/news/" rel="tag">news</a>'
    '<a href="/tag/paged/">paged</a><a href="http://elsewhere.test/tag/x/">off-site</a></body></html>',
    "/tag/news/": archive(
        "news",
        post(*NEWS_A) + post(*NEWS_B),
        '<nav class="navigation pagination"><span class="page-numbers current">1</span>'
        '<a class="page-numbers" href="/tag/news/page/2/">2</a></nav>',
    ),
    # Page 2 repeats Alpha (a post published mid-crawl pushes it down) and is cut off mid-tag.
    "/tag/news/page/2/": archive(
        "news", post(*NEWS_A) + post(3, "gamma", "Gamma", "Gamma text.", ("news",))
    )[:-40],
    # Older/newer links only; page 2 still links to a page 3 that no longer exists.
    "/tag/paged/": archive(
        "paged",
        post(4, "delta", "Delta", "Delta.", ("paged",)),
        '<div class="nav-previous"><a href="/tag/paged/page/2/">Older</a></div>',
    ),
    "/tag/paged/page/2/": archive(
        "paged",
        post(5, "eps", "Epsilon", "Eps.", ("paged",)),
        '<div class="nav-previous"><a href="/tag/paged/page/3/">Older</a></div>',
    ),
    "/tag/empty/": archive("empty", "<p>Nothing found.</p>"),
    "/tag/notatag/": '<html><body class="page page-id-2"><h1>About us</h1></body></html>',
    "/tag/latin/": archive(
        "latin",
        post(6, "cafe", "Caf\u00e9 \u201cquotes\u201d", "Cr\u00e8me.", ("latin",)),
        charset="windows-1252",
    ),
    "/tag/binary/": None,  # binary bytes under text/html
    "/tag/broken/": "500",
}
ARTICLES = {
    f"/2024/01/0{a[0] % 9 + 1}/{a[1]}/": single(*a)
    for a in [NEWS_A, NEWS_B, (3, "gamma", "Gamma", "Gamma text.", ("news",)),
              (4, "delta", "Delta", "Delta.", ("paged",)), (5, "eps", "Epsilon", "Eps.", ("paged",)),
              (6, "cafe", "Caf\u00e9 \u201cquotes\u201d", "Cr\u00e8me.", ("latin",)),
              (7, "zeta", "Zeta", "Zeta text.", ("chunked",))]
}  # fmt: skip


GZIP_BOMB = gzip.compress(bytes(40 * 1024 * 1024), compresslevel=9, mtime=0)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path
        if path in ARTICLES and path.startswith("/2024/01/07/"):
            page = ARTICLES[path].replace('charset="utf-8"', 'charset="windows-1252"')
            body, status, ctype = page.encode("cp1252"), 200, "text/html"
        elif path in ARTICLES:
            body, status, ctype = ARTICLES[path].encode(), 200, "text/html; charset=UTF-8"
        elif path == "/tag/cut/":
            # Promises 20 000 bytes, sends 5 000, hangs up: a body cut off mid-transfer.
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "20000")
            self.end_headers()
            self.wfile.write(
                archive("cut", post(8, "eta", "Eta", "x" * 6000, ("cut",))).encode()[:5000]
            )
            self.close_connection = True
            return
        elif path == "/tag/huge/":
            # Declares more than DOWNLOAD_MAXSIZE: never downloaded at all.
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(64 * 1024 * 1024))
            self.end_headers()
            self.close_connection = True
            return
        elif path == "/tag/bomb/":
            # 40 MB of zeros in a 40 KB gzip body: small on the wire, huge when decoded.
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(GZIP_BOMB)))
            self.end_headers()
            self.wfile.write(GZIP_BOMB)
            return
        elif path == "/tag/chunked/":
            # Chunked transfer and a raw latin-1 header byte: the WARC must keep the header
            # byte and must not claim chunking for the de-chunked body it stores.
            body = archive("chunked", post(7, "zeta", "Zeta", "Zeta text.", ("chunked",))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=UTF-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("X-Odd", "caf\xe9")
            self.end_headers()
            for start in range(0, len(body), 100):
                piece = body[start : start + 100]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        elif path.startswith("/tag/away/"):
            # WordPress canonical redirects can point anywhere; this one leaves the site.
            self.send_response(301)
            self.send_header("Location", "http://127.0.0.2:9/tag/away/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        elif path == "/tag/binary/":
            body, status, ctype = bytes(range(256)) * 20, 200, "text/html"
        elif PAGES.get(path) == "500":
            body, status, ctype = b"Internal Server Error", 500, "text/plain"
        elif path == "/tag/latin/":
            body, status, ctype = PAGES[path].encode("cp1252"), 200, "text/html"
        elif path in PAGES:
            body, status, ctype = PAGES[path].encode(), 200, "text/html; charset=UTF-8"
        else:
            body, status, ctype = (
                b"<html><body class='error404'>Not found</body></html>",
                404,
                "text/html",
            )
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def hostile_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _RobotsDown(_Handler):
    """robots.txt answers 503 every time; everything else is served as usual."""

    def do_GET(self) -> None:
        if self.path == "/robots.txt":
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.seen.append(self.path)
        super().do_GET()


@contextmanager
def robots_down_site() -> Iterator[tuple[str, list[str]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RobotsDown)
    server.seen = []
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.seen
    finally:
        server.shutdown()
        server.server_close()
