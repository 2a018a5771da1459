"""Datasette hooks for tag-archiver databases.

- tag_archiver_escape_fts(q): any text a user types becomes a safe FTS5 query (quotes,
  stars, NEAR( and unbalanced quotes included), for the canned search query. The same
  function replaces Datasette's own escape_fts (used by ?_search=), which turns a lone `"`
  into an empty MATCH and so into a 500 page.
- article URLs link to the live page and, when a replay service is configured, to the
  archived capture. Every value is escaped: stored HTML is never rendered.
"""

from __future__ import annotations

from datasette import hookimpl
from datasette.utils import escape_fts
from markupsafe import Markup, escape

NAME = "tag-archiver"
LINKED_URL_TABLES = {"articles", "article_summary", "takeaways"}


def _safe_escape_fts(query: str | None) -> str:
    escaped = escape_fts(query or "")
    return escaped or '""'  # an empty search matches nothing, instead of failing


@hookimpl(trylast=True)  # after Datasette's default plugin, so our escape_fts wins
def prepare_connection(conn):
    for name in ("tag_archiver_escape_fts", "escape_fts"):
        conn.create_function(name, 1, _safe_escape_fts, deterministic=True)


def _is_http(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if column != "url" or table not in LINKED_URL_TABLES or not _is_http(value):
        return None
    live = Markup('<a href="{0}" rel="nofollow noopener">{0}</a>').format(escape(value))
    replay = (datasette.plugin_config(NAME) or {}).get("replay_url")
    # sqlite3.Row: `in row` looks at values, so ask its keys
    capture_id = row["capture_id"] if replay and "capture_id" in row.keys() else None  # noqa: SIM118
    if not capture_id:
        return live

    async def with_archived_link():
        result = await datasette.get_database(database).execute(
            "SELECT fetched_at FROM captures WHERE id = ?", [capture_id]
        )
        first = result.first()
        if first is None:
            return live
        stamp = "".join(ch for ch in first["fetched_at"] if ch.isdigit())[:14]
        archived = f"{replay.rstrip('/')}/{stamp}/{value}"
        return live + Markup(' (<a href="{0}">archived</a>)').format(escape(archived))

    return with_archived_link
