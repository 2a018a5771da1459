"""A large static WordPress site for the benchmark, built from the captured test-bed pages.

    build_site(root, tags, pages) -> Site

TAGS x PAGES tag archive pages (written as index.html only: nginx compresses on the fly),
each ~80 KB of HTML: the block theme's captured tag page (tests/fixtures/wordpress/block,
/tag/scaling-laws/) with the tag's own slug, name and term id in its head, body classes and
heading, and PER_PAGE full articles in its query loop. Every article of the site differs
from every other in title, permalink, post id, date and body: a body is a real post's
blocks from the captured single-post pages (every variant of the test bed, deduplicated),
filled up to the page budget with the other posts' blocks in an order rotated by the post
id, and a sentence that names the post id. Article permalinks are not written: the
benchmark crawls with --no-articles.

Pagination varies by tag (PAGINATION_FORMS, tag index modulo 4), in the forms WordPress
prints and archive/extract/pagination.py follows: half the tags have numbered links with
"…" gaps (the block theme's query-pagination-numbers, mid_size 2; a classic theme's
paginate_links() with "Page N" labels, mid_size 0), the other half only "Older posts" /
"Newer posts" links (the block theme's query-pagination-next/-previous; a classic theme's
the_posts_navigation(): div.nav-links > div.nav-previous > a) and <link rel="next"> /
<link rel="prev"> in the head.
"""

from __future__ import annotations

import copy
import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lxml.html

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wordpress"
TEMPLATE_VARIANT, TEMPLATE_PATH = "block", "/tag/scaling-laws/"
PER_PAGE = 5
PAGE_BYTES = 80_000  # what a page of PER_PAGE articles comes to, about
NEWEST = datetime(2025, 11, 1, 9, 30, tzinfo=UTC)  # page 1's first post; older after it
PAGINATION_FORMS = ("block-numbers", "block-older", "classic-numbers", "classic-older")
NUMBERED = ("block-numbers", "classic-numbers")

_SLOT = re.compile(r"@@([A-Z_]+)@@")


def _template(markup: str) -> list[str]:
    """Literal text and slot names, alternating (even indexes literal)."""
    return _SLOT.split(markup)


def _render(parts: list[str], values: dict[str, str]) -> str:
    return "".join(values[part] if i % 2 else part for i, part in enumerate(parts))


@dataclass(frozen=True)
class Body:
    title: str
    slug: str
    blocks: tuple[str, ...]  # top-level blocks of the post's content, as HTML


@dataclass(frozen=True)
class Site:
    root: Path
    tags: tuple[str, ...]
    pages_per_tag: int
    forms: dict[str, str]  # tag -> its PAGINATION_FORMS entry
    paths: frozenset[str]  # every tag archive page's path, /tag/x/ and /tag/x/page/N/
    html_bytes: int

    @property
    def pages(self) -> int:
        return len(self.paths)


def _responses(variant: str) -> tuple[str, list[tuple[str, str]]]:
    """The captured site's origin, and (path, HTML) of each HTML page that answered 200."""
    folder = FIXTURES / variant
    manifest = json.loads((folder / "manifest.json").read_text())
    pages = []
    for entry in manifest["responses"]:
        if entry["status"] == 200 and "html" in dict(entry["headers"]).get("Content-Type", ""):
            pages.append((entry["path"], (folder / entry["file"]).read_text(encoding="utf-8")))
    return manifest["origin"], pages


def _bodies() -> list[Body]:
    """Every distinct post of the test bed, from the single-post pages of every variant."""
    bodies: dict[str, Body] = {}
    for variant in sorted(p.name for p in FIXTURES.iterdir() if (p / "manifest.json").exists()):
        origin, pages = _responses(variant)
        for path, markup in pages:
            root = lxml.html.document_fromstring(markup.replace(origin, ""))
            body = root.find("body")
            if "single-post" not in (body.get("class") or "").split():
                continue
            content = root.xpath("//*[contains(concat(' ', @class, ' '), ' entry-content ')]")
            if len(content) != 1 or content[0].find(".//p") is None:
                continue  # no post text
            if content[0].find(".//form") is not None or "post-password" in markup:
                continue  # a password-protected post: the extractor skips it
            text = " ".join(content[0].text_content().split())
            heading = root.xpath("//h1")
            title = " ".join(heading[0].text_content().split()) if heading else path
            blocks = tuple(
                lxml.html.tostring(child, encoding="unicode", with_tail=False)
                for child in content[0]
                if isinstance(child.tag, str)
            )
            slug = [part for part in path.split("/") if part][-1]
            slug = re.sub(r"[^a-z0-9-]", "", slug.lower()) or "post"
            bodies.setdefault(text, Body(title, slug[:60].strip("-"), blocks))
    return list(bodies.values())


def _page_template() -> tuple[list[str], list[str]]:
    """(page with TAG, TAG_NAME, TERM_ID, HEAD_LINKS, ARTICLES, PAGINATION slots,
    article with ID, TAG_CLASSES, PERMALINK, TITLE, DATETIME, DATE, CONTENT, TAG_LINKS)."""
    origin, pages = _responses(TEMPLATE_VARIANT)
    markup = dict(pages)[TEMPLATE_PATH].replace(origin, "")
    root = lxml.html.document_fromstring(markup)
    classes = root.find("body").get("class").split()
    (old_slug,) = [c[4:] for c in classes if c.startswith("tag-") and not c[4:].isdigit()]
    (loop,) = root.xpath("//ul[contains(@class, 'wp-block-post-template')]")
    article = copy.deepcopy(loop[0])
    for item in list(loop):
        loop.remove(item)
    loop.text = "@@ARTICLES@@"
    loop.tail = "@@PAGINATION@@" + (loop.tail or "")
    body = root.find("body")
    body.set("class", "archive tag tag-@@TAG@@ tag-@@TERM_ID@@ wp-embed-responsive")
    root.find(".//title").text = "@@TAG_NAME@@ – PJFP.com"
    root.xpath("//h1[contains(@class, 'wp-block-query-title')]/span")[0].text = "@@TAG_NAME@@"
    for link in root.xpath("//head/link[@href]"):
        href = link.get("href")
        if f"/tag/{old_slug}/" in href:
            link.set("href", "/tag/@@TAG@@/feed/")
            link.set("title", "PJFP.com » @@TAG_NAME@@ Tag Feed")
        elif "/wp-json/wp/v2/tags/" in href:
            link.set("href", "/wp-json/wp/v2/tags/@@TERM_ID@@")
    page = lxml.html.tostring(root, encoding="unicode", doctype="<!DOCTYPE html>")
    page = page.replace("</head>", "@@HEAD_LINKS@@</head>", 1)

    article.set(
        "class",
        "wp-block-post post-@@ID@@ post type-post status-publish format-standard hentry "
        "category-technology @@TAG_CLASSES@@",
    )
    title = article.xpath(".//*[contains(@class, 'wp-block-post-title')]//a")[0]
    title.set("href", "@@PERMALINK@@")
    title.text = "@@TITLE@@"
    time = article.find(".//time")
    time.set("datetime", "@@DATETIME@@")
    time.text = "@@DATE@@"
    for container, slot in (
        ("wp-block-post-content", "CONTENT"),
        ("taxonomy-post_tag", "TAG_LINKS"),
    ):
        (element,) = article.xpath(f".//*[contains(@class, '{container}')]")
        for child in list(element):
            element.remove(child)
        element.text = f"@@{slot}@@"
    article_markup = lxml.html.tostring(article, encoding="unicode")
    for markup_ in (page, article_markup):
        assert old_slug not in markup_ and "scaling laws" not in markup_, "template kept the tag"
    return _template(page), _template(article_markup)


def paginate_links(current: int, total: int, mid_size: int, end_size: int = 1) -> list[int | None]:
    """The page numbers WordPress's paginate_links() prints, None for each "…" gap."""
    out: list[int | None] = []
    dots = False
    for n in range(1, total + 1):
        if n == current or n <= end_size or abs(n - current) <= mid_size or n > total - end_size:
            out.append(n)
            dots = True
        elif dots:
            out.append(None)
            dots = False
    return out


def page_path(tag: str, number: int) -> str:
    return f"/tag/{tag}/" if number == 1 else f"/tag/{tag}/page/{number}/"


def pagination(form: str, tag: str, number: int, total: int) -> tuple[str, str]:
    """(links for the page's head, the pagination markup) of page `number` of `total`."""
    if total == 1:
        return "", ""  # WordPress prints no pagination for a single page
    newer = page_path(tag, number - 1) if number > 1 else None
    older = page_path(tag, number + 1) if number < total else None
    if form == "block-numbers":
        numbers = "\n".join(
            '<span class="page-numbers dots">…</span>' if n is None
            else f'<span aria-current="page" class="page-numbers current">{n}</span>' if n == number
            else f'<a class="page-numbers" href="{page_path(tag, n)}">{n}</a>'
            for n in paginate_links(number, total, mid_size=2)
        )  # fmt: skip
        return "", (
            '<nav class="is-layout-flex wp-block-query-pagination" aria-label="Pagination">\n'
            + (f'<a href="{newer}" class="wp-block-query-pagination-previous">Previous Page</a>\n' if newer else "")
            + f'<div class="wp-block-query-pagination-numbers">{numbers}</div>\n'
            + (f'<a href="{older}" class="wp-block-query-pagination-next">Next Page</a>\n' if older else "")
            + "</nav>"
        )  # fmt: skip
    if form == "classic-numbers":
        numbers = "\n".join(
            '<span class="page-numbers dots">…</span>' if n is None
            else f'<span aria-current="page" class="page-numbers current">Page {n}</span>' if n == number
            else f'<a class="page-numbers" href="{page_path(tag, n)}">Page {n}</a>'
            for n in paginate_links(number, total, mid_size=0)
        )  # fmt: skip
        return "", (
            '<nav class="navigation pagination" aria-label="Posts">\n'
            '<h2 class="screen-reader-text">Posts navigation</h2>\n<div class="nav-links">'
            + (f'<a class="prev page-numbers" href="{newer}"><span class="nav-prev-text">Newer <span class="nav-short">posts</span></span></a>\n' if newer else "")
            + numbers
            + (f'\n<a class="next page-numbers" href="{older}"><span class="nav-next-text">Older <span class="nav-short">posts</span></span></a>' if older else "")
            + "</div>\n</nav>"
        )  # fmt: skip
    head = (f'<link rel="prev" href="{newer}">\n' if newer else "") + (
        f'<link rel="next" href="{older}">\n' if older else ""
    )
    if form == "block-older":
        return head, (
            '<nav class="is-layout-flex wp-block-query-pagination" aria-label="Pagination">\n'
            + (f'<a href="{newer}" class="wp-block-query-pagination-previous">Newer Posts</a>\n' if newer else "")
            + (f'<a href="{older}" class="wp-block-query-pagination-next">Older Posts</a>\n' if older else "")
            + "</nav>"
        )  # fmt: skip
    if form == "classic-older":
        return head, (
            '<nav class="navigation posts-navigation" aria-label="Posts">\n'
            '<h2 class="screen-reader-text">Posts navigation</h2>\n<div class="nav-links">'
            + (f'<div class="nav-previous"><a href="{older}">Older posts</a></div>' if older else "")
            + (f'<div class="nav-next"><a href="{newer}">Newer posts</a></div>' if newer else "")
            + "</div>\n</nav>"
        )  # fmt: skip
    raise ValueError(form)


class _Articles:
    """Article blocks, each one distinct: see the module's docstring."""

    def __init__(self, template: list[str], content_bytes: int) -> None:
        self.template = template
        self.bodies = _bodies()
        self.pool = [block for body in self.bodies for block in body.blocks]
        self.content_bytes = content_bytes

    def content(self, post_id: int, tag_name: str) -> str:
        body = self.bodies[post_id % len(self.bodies)]
        blocks = list(body.blocks)
        size = sum(len(b.encode()) for b in blocks)
        start = post_id * 7919 % len(self.pool)  # rotated: every post its own order
        for k in range(len(self.pool)):
            if size >= self.content_bytes:
                break
            block = self.pool[(start + k) % len(self.pool)]
            if block not in blocks:
                blocks.append(block)
                size += len(block.encode())
        first = next(i for i, b in enumerate(blocks) if b.startswith("<p>"))
        sentence = f" This is note {post_id} of the {html.escape(tag_name)} archive.</p>"
        blocks[first] = blocks[first][: -len("</p>")] + sentence
        return "\n\n\n\n".join(blocks)

    def render(self, post_id: int, date: datetime, tag: str, tag_name: str, other: str) -> str:
        body = self.bodies[post_id % len(self.bodies)]
        slug = f"{body.slug}-{post_id}"
        terms = [tag] if other == tag else [tag, other]
        return _render(
            self.template,
            {
                "ID": str(post_id),
                "TAG_CLASSES": " ".join(f"tag-{t}" for t in terms),
                "PERMALINK": f"/{date:%Y/%m/%d}/{slug}/",
                "TITLE": html.escape(f"{body.title} (no. {post_id})", quote=False),
                "DATETIME": date.isoformat(),
                "DATE": f"{date:%B} {date.day}, {date.year}",
                "CONTENT": self.content(post_id, tag_name),
                "TAG_LINKS": '<span class="wp-block-post-terms__separator">, </span>'.join(
                    f'<a href="/tag/{t}/" rel="tag">{tag_label(t)}</a>' for t in terms
                ),
            },
        )


def tag_label(tag: str) -> str:
    return tag.replace("-", " ")


def build_site(root: Path, tags: int, pages: int) -> Site:
    """Write TAGS x PAGES tag archive pages under `root` (and robots.txt)."""
    page_template, article_template = _page_template()
    chrome = len(_render(page_template, dict.fromkeys(page_template[1::2], "")))
    wrapper = len(_render(article_template, dict.fromkeys(article_template[1::2], "")))
    articles = _Articles(article_template, (PAGE_BYTES - chrome) // PER_PAGE - wrapper - 850)
    root.mkdir(parents=True, exist_ok=True)
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /wp-admin/\n")
    names = [f"tag-{t:03d}" for t in range(tags)]
    forms = {tag: PAGINATION_FORMS[t % len(PAGINATION_FORMS)] for t, tag in enumerate(names)}
    paths: set[str] = set()
    total_posts = tags * pages * PER_PAGE
    html_bytes = 0
    for t, tag in enumerate(names):
        label = tag_label(tag)
        for number in range(1, pages + 1):
            blocks = []
            for i in range(PER_PAGE):
                k = (number - 1) * PER_PAGE + i  # 0: the tag's newest post
                post_id = 1000 + total_posts - (t * pages * PER_PAGE + k)
                date = NEWEST - timedelta(hours=7 * k, minutes=13 * t)
                other = names[(t + 1 + k % max(1, tags - 1)) % tags]
                blocks.append(articles.render(post_id, date, tag, label, other))
            head, nav = pagination(forms[tag], tag, number, pages)
            data = _render(
                page_template,
                {
                    "TAG": tag,
                    "TAG_NAME": label,
                    "TERM_ID": str(100 + t),
                    "HEAD_LINKS": head,
                    "ARTICLES": "\n\n".join(blocks),
                    "PAGINATION": nav,
                },
            ).encode("utf-8")
            path = page_path(tag, number)
            folder = root / path.strip("/")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "index.html").write_bytes(data)
            paths.add(path)
            html_bytes += len(data)
    return Site(root, tuple(names), pages, forms, frozenset(paths), html_bytes)
