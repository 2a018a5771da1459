"""Datasette hooks for tag-archiver databases.

- tag_archiver_escape_fts(q): any text a user types becomes a safe FTS5 query (quotes,
  stars, NEAR( and unbalanced quotes included), for the canned search query. The same
  function replaces Datasette's own escape_fts (used by ?_search=), which turns a lone `"`
  into an empty MATCH and so into a 500 page.
- article URLs link to the live page and, when a replay service is configured, to the
  archived capture. Every value is escaped: stored HTML is never rendered.
- /<database>/-/article/<id> shows one article as it reads (ARTICLE_ROUTE): its sections,
  list items, images, tags, where it was archived, its neighbours under each tag and its
  versions, word by word (archive.browse.history). Titles in the articles, article_summary
  and takeaways tables link to it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from datasette import hookimpl
from datasette.utils import escape_fts
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from archive.browse.history import changed, diff_markup
from archive.browse.permissions import ensure_may_view

NAME = "tag-archiver"
# Tables whose `url` links to the live page and to the capture the row names (capture_id)
LINKED_URL_TABLES = {"articles", "article_summary", "takeaways"}
# ... and those whose `url` is a captured page itself: a capture, a tag's or category's archive
CAPTURED_URL_TABLES = {"captures", "tags", "categories", "tag_stats"}
# table -> (its article id column, its title column): the title links to the article page
LINKED_TITLE_TABLES = {
    "articles": ("id", "title"),
    "article_summary": ("id", "title"),
    "takeaways": ("article_id", "article"),
}
# Any id segment: one that is no article id gets this page's 404, not Datasette's fallback
# (which, with rich installed, fails while printing its traceback).
ARTICLE_ROUTE = r"^/(?P<database>[^/]+)/-/article/(?P<article_id>[^/]+)$"


def _safe_escape_fts(query: str | None) -> str:
    escaped = escape_fts(query or "")
    return escaped or '""'  # an empty search matches nothing, instead of failing


@hookimpl(trylast=True)  # after Datasette's default plugin, so our escape_fts wins
def prepare_connection(conn):
    for name in ("tag_archiver_escape_fts", "escape_fts"):
        conn.create_function(name, 1, _safe_escape_fts, deterministic=True)


def _is_http(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def article_path(datasette, database: str, article_id: int) -> str:
    """The path of the article page of `article_id` in `database` (base_url included)."""
    return f"{datasette.urls.database(database)}/-/article/{int(article_id)}"


def _archived_url(replay: str, fetched_at: str, url: str) -> str:
    """The replay service's address of `url` as captured at `fetched_at` (pywb's form)."""
    stamp = "".join(ch for ch in fetched_at if ch.isdigit())[:14]
    return f"{replay.rstrip('/')}/{stamp}/{url}"


def _title_link(row, value, table, database, datasette) -> Markup | None:
    id_column = LINKED_TITLE_TABLES[table][0]
    # sqlite3.Row: `in row` looks at values, so ask its keys
    if value is None or id_column not in row.keys():  # noqa: SIM118
        return None
    article_id = row[id_column]
    if not isinstance(article_id, int):
        return None
    href = article_path(datasette, database, article_id)
    return Markup('<a href="{0}">{1}</a>').format(href, value)


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if table in LINKED_TITLE_TABLES and column == LINKED_TITLE_TABLES[table][1]:
        return _title_link(row, value, table, database, datasette)
    if column != "url" or not _is_http(value):
        return None
    linked = table in LINKED_URL_TABLES
    if not linked and table not in CAPTURED_URL_TABLES:
        return None
    live = Markup('<a href="{0}" rel="nofollow noopener">{0}</a>').format(escape(value))
    replay = (datasette.plugin_config(NAME) or {}).get("replay_url")
    if not replay:
        return live
    keys = row.keys()  # sqlite3.Row: `in row` looks at values
    if table == "captures" and "fetched_at" in keys:  # the row is the capture itself
        return live + _archived_link(replay, row["fetched_at"], value)
    if linked:  # the capture its content was read from
        capture_id = row["capture_id"] if "capture_id" in keys else None
        if not capture_id:
            return live
        sql, params = "SELECT fetched_at FROM captures WHERE id = ?", [capture_id]
    else:  # a tag's or category's archive page: its latest full capture
        sql = (
            "SELECT fetched_at FROM captures WHERE url = ? AND status = 200 "
            "AND revisit_of IS NULL ORDER BY id DESC LIMIT 1"
        )
        params = [value]

    async def with_archived_link():
        first = (await datasette.get_database(database).execute(sql, params)).first()
        if first is None:
            return live
        return live + _archived_link(replay, first["fetched_at"], value)

    return with_archived_link


def _archived_link(replay: str, fetched_at: str, url: str) -> Markup:
    archived = _archived_url(replay, fetched_at, url)
    return Markup(' (<a class="ta-archived" href="{0}">archived</a>)').format(archived)


# --- the article page -----------------------------------------------------------------------


@dataclass
class Item:
    """A list item and the items nested in it."""

    text: str
    children: list[Item] = field(default_factory=list)


def nest(items: list[tuple[int, str]]) -> list[Item]:
    """(depth, text) items in document order -> the top-level items, each holding the items
    nested in it. A jump of several levels (depth 0 then 2) nests one level, under the item
    before it; a first item deeper than 0 is a top-level one."""
    top: list[Item] = []
    open_lists = [top]  # open_lists[d]: where an item of depth d goes
    for depth, text in items:
        depth = max(0, min(depth, len(open_lists)))
        if depth == len(open_lists):
            if open_lists[-1]:
                open_lists.append(open_lists[-1][-1].children)
            else:
                depth -= 1
        del open_lists[depth + 1 :]
        open_lists[depth].append(Item(text))
    return top


def blocks(text: str, items: list[tuple[int, str]]) -> list[tuple[str, Any]]:
    """A section as it reads: ("p", line) for a paragraph, ("ul", [Item, ...]) for a list.

    The section's text holds its paragraphs and list items in document order, one per
    line; a line that is the next list item's text is that item, so each list stands
    where it stood. Items its text does not hold follow at the end, as a list."""
    out: list[tuple[str, Any]] = []
    pending: list[tuple[int, str]] = []
    taken = 0  # items placed so far
    for line in text.splitlines():
        if taken < len(items) and line == items[taken][1]:
            pending.append(items[taken])
            taken += 1
            continue
        if pending:
            out.append(("ul", nest(pending)))
            pending = []
        if line.strip():
            out.append(("p", line))
    pending += items[taken:]
    if pending:
        out.append(("ul", nest(pending)))
    return out


def _dicts(conn: sqlite3.Connection, sql: str, params: dict | list) -> list[dict]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


_ARTICLE = """
SELECT a.id, a.url, a.title, a.published, a.modified, a.author, a.capture_id, a.first_seen,
  a.last_seen, a.gone_at, s.url AS site, s.name AS site_name
FROM articles a LEFT JOIN sites s ON s.id = a.site_id WHERE a.id = :id
"""
# Neighbours under one tag, by publication date (normalised to UTC where SQLite can read
# it), the id breaking ties, so every article has one place in the order.
_SORT_KEY = "coalesce(datetime(a.published), a.published, '')"
_NEIGHBOUR = f"""
SELECT a.id, a.title, a.published FROM article_tags l JOIN articles a ON a.id = l.article_id
WHERE l.tag_id = :tag AND ({_SORT_KEY}, a.id) {{op}} (:key, :id)
ORDER BY {_SORT_KEY} {{order}}, a.id {{order}} LIMIT 1
"""
_PREVIOUS = _NEIGHBOUR.format(op="<", order="DESC")
_NEXT = _NEIGHBOUR.format(op=">", order="ASC")


def _load_article(conn: sqlite3.Connection, article_id: int) -> dict | None:
    """Everything the article page shows of `article_id`, from the structured rows (never
    content_html); None when there is no such article."""
    found = _dicts(conn, _ARTICLE, {"id": article_id})
    if not found:
        return None
    article = found[0]
    key = conn.execute(
        "SELECT coalesce(datetime(:p), :p, '')", {"p": article["published"]}
    ).fetchone()[0]
    tags = _dicts(
        conn,
        "SELECT t.id, t.name, t.slug FROM article_tags l JOIN tags t ON t.id = l.tag_id "
        "WHERE l.article_id = :id ORDER BY coalesce(t.name, t.slug)",
        {"id": article_id},
    )
    for tag in tags:
        where = {"tag": tag["id"], "key": key, "id": article_id}
        tag["previous"] = next(iter(_dicts(conn, _PREVIOUS, where)), None)
        tag["next"] = next(iter(_dicts(conn, _NEXT, where)), None)
    categories = _dicts(
        conn,
        "SELECT c.name, c.slug FROM article_categories l JOIN categories c "
        "ON c.id = l.category_id WHERE l.article_id = :id ORDER BY coalesce(c.name, c.slug)",
        {"id": article_id},
    )
    sections = _dicts(
        conn,
        "SELECT id, heading, level, text FROM sections WHERE article_id = :id ORDER BY position",
        {"id": article_id},
    )
    items: dict[int, list[tuple[int, str]]] = {}
    for row in conn.execute(
        "SELECT i.section_id, i.depth, i.text FROM section_items i JOIN sections s "
        "ON s.id = i.section_id WHERE s.article_id = ? ORDER BY i.section_id, i.position",
        [article_id],
    ):
        items.setdefault(row[0], []).append((row[1], row[2]))
    for section in sections:
        section["blocks"] = blocks(section["text"] or "", items.get(section["id"], []))
        # h1 is the article's title: its own h1 and h2 become h2, deeper ones keep theirs.
        section["tag"] = f"h{min(max(section['level'] or 2, 2), 6)}"
    images = _dicts(
        conn,
        "SELECT src, alt FROM images WHERE article_id = :id ORDER BY position",
        {"id": article_id},
    )
    capture = None
    if article["capture_id"] is not None:
        capture = next(
            iter(
                _dicts(
                    conn,
                    "SELECT url, fetched_at, warc_file, warc_offset FROM captures WHERE id = :id",
                    {"id": article["capture_id"]},
                )
            ),
            None,
        )
    versions = _dicts(
        conn,
        "SELECT id, title, content_text, first_seen, last_seen FROM article_versions "
        "WHERE article_id = :id ORDER BY id",
        {"id": article_id},
    )
    return {
        "article": article,
        "tags": tags,
        "categories": categories,
        "sections": sections,
        "images": images,
        "capture": capture,
        "versions": versions,
    }


def _history(versions: list[dict]) -> list[dict]:
    """Newest first, each version with its changes from the one before (None for the first)."""
    shown = []
    for n, version in enumerate(versions):
        before = versions[n - 1] if n else None
        entry = {**version, "number": n + 1, "previous": before}
        if before is not None:
            entry["title_diff"] = (
                diff_markup(before["title"], version["title"])
                if changed(before["title"], version["title"])
                else None
            )
            entry["text_diff"] = (
                diff_markup(before["content_text"], version["content_text"])
                if changed(before["content_text"], version["content_text"])
                else None
            )
        shown.append(entry)
    return shown[::-1]


async def _not_found(datasette, request, message: str) -> Response:
    # Datasette's own error page, without raising NotFound: its handler would print a
    # traceback to the server's log for a mistyped address.
    context = {"ok": False, "error": message, "status": 404, "title": "Not found"}
    html = await datasette.render_template("error.html", context, request=request)
    return Response.html(html, status=404)


async def article_page(datasette, request) -> Response:
    """/<database>/-/article/<id>: the article as it reads, rendered from its rows with
    every value escaped. 404 for an unknown database or article."""
    route = request.url_vars["database"]
    try:
        db = datasette.get_database(route=route)
    except KeyError:
        return await _not_found(datasette, request, f"Database not found: {route}")
    await ensure_may_view(datasette, request.actor, db.name, "articles")
    given = request.url_vars["article_id"]
    article_id = int(given) if given.isascii() and given.isdigit() else None
    loaded = None
    if article_id is not None and article_id < 2**63:  # SQLite's integers
        loaded = await db.execute_fn(lambda conn: _load_article(conn, article_id))
    if loaded is None:
        message = f"No article {given} in {db.name}: see the articles table."
        return await _not_found(datasette, request, message)
    article = loaded["article"]
    summary = datasette.urls.table(db.name, "article_summary")
    for name, terms in (("tags", loaded["tags"]), ("categories", loaded["categories"])):
        for term in terms:
            term["label"] = term["name"] or term["slug"]
            if term["name"]:
                # article_summary lists terms by name, as its array facet offers them
                query = urlencode({f"{name}__arraycontains": term["name"]})
                term["facet_url"] = f"{summary}?{query}"
            elif name == "tags":  # known by slug only: the canned query takes a slug
                query = urlencode({"tag": term["slug"], "site": ""})
                term["facet_url"] = f"{datasette.urls.database(db.name)}/articles_under_tag?{query}"
            else:
                query = urlencode({"slug": term["slug"]})
                term["facet_url"] = f"{datasette.urls.table(db.name, 'categories')}?{query}"
    for tag in loaded["tags"]:
        for side in ("previous", "next"):
            if tag[side]:
                tag[side]["href"] = article_path(datasette, db.name, tag[side]["id"])
    config = datasette.plugin_config(NAME) or {}
    replay = config.get("replay_url")
    capture = loaded["capture"]
    live = article["url"] if _is_http(article["url"]) else None
    archived = None
    if replay and capture and live:
        archived = _archived_url(replay, capture["fetched_at"], live)
    context = {
        **loaded,
        "database": db.name,
        "live_url": live,
        "archived_url": archived,
        "replay_configured": bool(replay),
        "replay_error": config.get("replay_error"),
        "history": _history(loaded["versions"]),
        "row_url": datasette.urls.row(db.name, "articles", str(article["id"])),
    }
    html = await datasette.render_template(
        "tag_archiver_article.html", context, request=request, view_name="tag_archiver_article"
    )
    return Response.html(html)


@hookimpl
def register_routes(datasette):
    return [(ARTICLE_ROUTE, article_page)]
