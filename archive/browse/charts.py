"""Pictures of the corpus: charts of a tag-archiver database, drawn as SVG by the server.

Routes (CHARTS_PATH and below), on the instance's one database (the first that is not
Datasette's `_internal`):

- /-/tag-archiver/charts: an index linking the two charts.
- /-/tag-archiver/charts/articles-per-month: one bar per month of publication
  (`substr(published, 1, 7)`, as the articles_per_month canned query counts), for the whole
  database, one tag (`?tag=SLUG`) or one site (`?site=URL`), or both. Articles without a
  date are counted beside the chart, not drawn. Months with no article between the first
  and the last are drawn as empty bars, so the time axis is even.
- /-/tag-archiver/charts/tag-cooccurrence: how often the TOP_TAGS tags on most articles
  appear together on one article, as a shaded matrix (the diagonal holds each tag's own
  article count) and the same numbers as an HTML table; per site with `?site=URL`.

Both are reached from every page's menu (menu_links) and from the database page's actions
menu (database_actions). An unknown tag or site is a 404 page saying so; an empty database
is a page saying there is nothing to draw.

Why SVG drawn here, not a chart plugin: a plugin's JavaScript runs in the reader's browser,
so it would have to be vetted and kept up to date, and the candidates are not:
datasette-vega's last release is 0.6.2 (2018-07), datasette-plot's 0.1.0 (2023-12);
datasette-dashboards (0.8.0, 2025-11) is maintained but needs hand-written SQL per chart and
loads Vega in the browser. Static SVG works without JavaScript, in screenshots and in a
saved page, and its text can be escaped like any other HTML.

Every value drawn (tag names, site URLs, months) is escaped (markupsafe); labels are cut to
LABEL_CHARS characters and stripped of bidirectional controls, the full name kept in a
tooltip. User input reaches SQL only as parameters.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.utils.asgi import Response
from markupsafe import Markup

from archive.browse.permissions import ensure_may_view, may_view

NAME = "tag-archiver-charts"
CHARTS_PATH = "/-/tag-archiver/charts"
PER_MONTH_PATH = f"{CHARTS_PATH}/articles-per-month"
COOCCURRENCE_PATH = f"{CHARTS_PATH}/tag-cooccurrence"
TOP_TAGS = 20
PICKER_TAGS = 200  # tags offered in the per-month page's tag list
LABEL_CHARS = 40
# Past this many months (a stray 1970 date) gaps are not filled: only months with articles.
MAX_FILLED_MONTHS = 1200
# Bidirectional controls (U+202E and kin) would reverse the text drawn after them, and C0
# controls are not text; labels drop both (tooltips keep the name as stored).
_UNDRAWABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# The tables these charts read; a database without them is not one of ours.
_TABLES = ("articles", "tags", "article_tags", "sites")

# The page around a chart: templates/tag_archiver_chart.html (Datasette's base.html).
PAGE_TEMPLATE = "tag_archiver_chart.html"


def label(text: str | None, limit: int = LABEL_CHARS) -> str:
    """`text` as a chart draws it: without bidirectional or control characters, at most
    `limit` characters, an ellipsis marking a cut. Not escaped: the caller escapes."""
    clean = _UNDRAWABLE.sub("", text or "")
    return clean if len(clean) <= limit else clean[: limit - 1] + "\u2026"


def plural(count: int, noun: str = "article") -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _h(template: str, *args: Any, **kwargs: Any) -> Markup:
    """Markup from a trusted template; every argument is escaped."""
    return Markup(template).format(*args, **kwargs)


def _join(parts: list[Markup]) -> Markup:
    return Markup("").join(parts)


# --- the data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    id: int
    url: str


@dataclass(frozen=True)
class Tag:
    id: int
    slug: str
    name: str | None
    site: str | None  # the site's URL
    articles: int

    @property
    def shown(self) -> str:
        return self.name or self.slug


class NotShown(Exception):
    """What was asked for cannot be drawn; the message says why, `status` is the page's."""

    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(message)
        self.status = status


def chart_database(datasette) -> Any:
    """The database the charts draw: the instance's first that is not `_internal`.
    NotShown when there is none."""
    names = [name for name in datasette.databases if name != "_internal"]
    if not names:
        raise NotShown("No database is being served.")
    return datasette.get_database(names[0])


async def _check_schema(db) -> None:
    tables = set(await db.table_names())
    missing = [table for table in _TABLES if table not in tables]
    if missing:
        raise NotShown(f"{db.name} is not a tag-archiver database (no {', '.join(missing)} table).")


async def find_site(db, given: str) -> Site:
    """The site a `site=` argument names: its URL as stored, or as a crawl would store it
    (https unless given, one trailing slash). NotShown for a site the database lacks."""
    candidates = [given]
    if given:
        root = given if "://" in given else f"https://{given}"
        candidates.append(root.rstrip("/") + "/")
    for url in candidates:
        row = (await db.execute("SELECT id, url FROM sites WHERE url = ?", [url])).first()
        if row is not None:
            return Site(row["id"], row["url"])
    raise NotShown(f"No site {given!r} in this database: pick one of the sites listed below.")


async def sites(db) -> list[Site]:
    rows = await db.execute("SELECT id, url FROM sites ORDER BY url")
    return [Site(row["id"], row["url"]) for row in rows]


_TAGS = """
SELECT t.id, t.slug, t.name, s.url AS site, count(l.article_id) AS articles
FROM tags t JOIN article_tags l ON l.tag_id = t.id LEFT JOIN sites s ON s.id = t.site_id
WHERE (:site IS NULL OR t.site_id = :site)
GROUP BY t.id ORDER BY articles DESC, coalesce(t.name, t.slug), t.id LIMIT :limit
"""


async def top_tags(db, site: Site | None, limit: int) -> list[Tag]:
    """The `limit` tags on most articles (of `site`, or of all sites), most first."""
    rows = await db.execute(_TAGS, {"site": site.id if site else None, "limit": limit})
    return [Tag(r["id"], r["slug"], r["name"], r["site"], r["articles"]) for r in rows]


async def tag_named(db, slug: str, site: Site | None) -> str:
    """The name of the tag `slug` (of `site`, or of any site) for a title. NotShown when no
    such tag exists."""
    row = (
        await db.execute(
            "SELECT coalesce(name, slug) AS name FROM tags WHERE slug = :slug "
            "AND (:site IS NULL OR site_id = :site) ORDER BY id LIMIT 1",
            {"slug": slug, "site": site.id if site else None},
        )
    ).first()
    if row is None:
        where = f" on {site.url}" if site else ""
        raise NotShown(f"No tag with the slug {slug!r}{where}: pick one of the tags listed below.")
    return row["name"]


# Fixed fragments, chosen by which filters are given; the values are parameters.
_PER_MONTH = """
SELECT substr(a.published, 1, 7) AS month, count(*) AS articles FROM articles a
WHERE (:site IS NULL OR a.site_id = :site)
  AND (:tag IS NULL OR a.id IN (
    SELECT l.article_id FROM article_tags l JOIN tags t ON t.id = l.tag_id
    WHERE t.slug = :tag AND (:site IS NULL OR t.site_id = :site)))
GROUP BY month ORDER BY month
"""


async def articles_per_month(
    db, site: Site | None, tag: str | None
) -> tuple[list[tuple[str, int]], int]:
    """(month, articles) for every month with an article, in order, and how many articles
    have no date. An article counts once under a tag slug that several sites share."""
    rows = await db.execute(_PER_MONTH, {"site": site.id if site else None, "tag": tag})
    months = [(r["month"], r["articles"]) for r in rows if r["month"] is not None]
    undated = sum(r["articles"] for r in rows if r["month"] is None)
    return months, undated


def fill_months(months: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """`months` with the months between the first and last that have no article added as
    0, when every month reads YYYY-MM and the span is at most MAX_FILLED_MONTHS; otherwise
    `months` as given (a date no parser read stays visible as its own bar)."""
    if not months or not all(_MONTH.match(month) for month, _ in months):
        return months
    first, last = months[0][0], months[-1][0]
    start = int(first[:4]) * 12 + int(first[5:]) - 1
    end = int(last[:4]) * 12 + int(last[5:]) - 1
    if end - start + 1 > MAX_FILLED_MONTHS:
        return months
    counts = dict(months)
    every = (f"{n // 12:04d}-{n % 12 + 1:02d}" for n in range(start, end + 1))
    return [(month, counts.get(month, 0)) for month in every]


_PAIRS = """
SELECT a.tag_id AS one, b.tag_id AS other, count(*) AS articles
FROM article_tags a JOIN article_tags b ON b.article_id = a.article_id AND b.tag_id > a.tag_id
WHERE a.tag_id IN ({ids}) AND b.tag_id IN ({ids})
GROUP BY a.tag_id, b.tag_id
"""


async def cooccurrence(db, tags: list[Tag]) -> dict[tuple[int, int], int]:
    """{(tag id, tag id): articles carrying both} for every pair of `tags`, both orders;
    (id, id) is the tag's own article count."""
    counts = {(tag.id, tag.id): tag.articles for tag in tags}
    if len(tags) < 2:
        return counts
    params = {f"t{n}": tag.id for n, tag in enumerate(tags)}
    ids = ", ".join(f":{key}" for key in params)  # placeholders only: ids stay parameters
    for row in await db.execute(_PAIRS.format(ids=ids), params):
        counts[row["one"], row["other"]] = counts[row["other"], row["one"]] = row["articles"]
    return counts


def tag_labels(tags: list[Tag]) -> dict[int, str]:
    """Each tag's label; two tags drawn alike (two sites' `ai`) get their site's host."""
    drawn = {tag.id: label(tag.shown) for tag in tags}
    seen: dict[str, int] = {}
    for text in drawn.values():
        seen[text] = seen.get(text, 0) + 1
    for tag in tags:
        if seen[drawn[tag.id]] > 1 and tag.site:
            drawn[tag.id] = label(f"{tag.shown} ({urlsplit(tag.site).hostname})")
    return drawn


# --- drawing --------------------------------------------------------------------------------

_CHAR_WIDTH = 7  # px per character of 12px sans-serif text, near enough to lay out labels


def _ticks(top: int) -> list[int]:
    """At most six round values from 0 covering `top` (>= 1)."""
    raw = top / 5
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return list(range(0, top + step, step))


def bar_chart(months: list[tuple[str, int]], title: str) -> Markup:
    """An SVG bar chart of (month, articles): one bar per month, each with a tooltip
    "YYYY-MM: N articles" and data-month / data-count attributes; months and counts on the
    axes; `title` above it and as the SVG's accessible name."""
    ticks = _ticks(max(1, max(count for _, count in months)))
    slot = max(8, min(40, 900 // len(months)))
    every = max(1, math.ceil(16 / slot))  # month labels at least 16px apart
    left, top, height = 56, 40, 220
    width = left + slot * len(months) + 24
    label_room = max(_CHAR_WIDTH * len(month) for month, _ in months) + 10
    total_height = top + height + label_room
    scale = height / ticks[-1]
    parts = [
        _h(
            '<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            'viewBox="0 0 {w} {h}" role="img" aria-labelledby="per-month-title" '
            'class="articles-per-month"><title id="per-month-title">{t}</title>'
            '<text x="{left}" y="20" font-size="16" font-weight="bold">{t}</text>',
            w=width,
            h=total_height,
            t=title,
            left=left,
        )
    ]
    for value in ticks:
        y = top + height - value * scale
        parts.append(
            _h(
                '<line x1="{x1}" x2="{x2}" y1="{y}" y2="{y}" stroke="#ddd"/>'
                '<text x="{tx}" y="{ty}" font-size="12" text-anchor="end">{v}</text>',
                x1=left,
                x2=width - 24,
                y=round(y, 1),
                tx=left - 6,
                ty=round(y + 4, 1),
                v=value,
            )
        )
    parts.append(
        _h(
            '<text x="14" y="{y}" font-size="12" text-anchor="middle" '
            'transform="rotate(-90 14 {y})">articles</text>',
            y=top + height // 2,
        )
    )
    for n, (month, count) in enumerate(months):
        x = left + n * slot
        bar = count * scale
        parts.append(
            _h(
                '<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="#4a7ab5" '
                'data-month="{m}" data-count="{c}"><title>{m}: {articles}</title></rect>',
                x=x + 1,
                y=round(top + height - bar, 1),
                w=slot - 2,
                h=round(bar, 1),
                m=month,
                c=count,
                articles=plural(count),
            )
        )
        if n % every == 0:
            lx, ly = x + slot / 2 + 4, top + height + 8
            parts.append(
                _h(
                    '<text x="{x}" y="{y}" font-size="12" text-anchor="end" '
                    'transform="rotate(-60 {x} {y})">{m}</text>',
                    x=round(lx, 1),
                    y=ly,
                    m=label(month, 12),
                )
            )
    parts.append(
        _h(
            '<line x1="{l}" x2="{r}" y1="{y}" y2="{y}" stroke="#333"/></svg>',
            l=left,
            r=width - 24,
            y=top + height,
        )
    )
    return _join(parts)


def _shade(count: int, top: int) -> tuple[str, str]:
    """(fill, text colour) for a cell: white for 0, to dark blue for `top`."""
    if count == 0 or top == 0:
        return "#ffffff", "#999999"
    share = 0.15 + 0.85 * count / top
    light, dark = (247, 251, 255), (8, 48, 107)
    rgb = [round(a + (b - a) * share) for a, b in zip(light, dark, strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*rgb), "#ffffff" if share > 0.55 else "#000000"


def matrix_chart(
    tags: list[Tag], labels: dict[int, str], counts: dict[tuple[int, int], int], title: str
) -> Markup:
    """An SVG matrix of `tags` against themselves: each cell shaded by how many articles
    carry both tags, with the count written in it and a tooltip naming both tags in full;
    the diagonal (outlined) is each tag's own count. Labels on the left and on top."""
    cell = 30
    room = max(_CHAR_WIDTH * len(text) for text in labels.values()) + 12
    left, top = room, 40 + int(room * 0.72)  # column labels are drawn at 45 degrees
    size = cell * len(tags)
    width, height = left + size + room // 2 + 10, top + size + 10
    off_diagonal = [c for (a, b), c in counts.items() if a != b] or [0]
    darkest = max(off_diagonal)
    parts = [
        _h(
            '<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            'viewBox="0 0 {w} {h}" role="img" aria-labelledby="cooccurrence-title" '
            'class="tag-cooccurrence"><title id="cooccurrence-title">{t}</title>'
            '<text x="10" y="20" font-size="16" font-weight="bold">{t}</text>',
            w=width,
            h=height,
            t=title,
        )
    ]
    for n, tag in enumerate(tags):
        full = f"{tag.shown} ({tag.slug})" + (f" on {tag.site}" if tag.site else "")
        y = top + n * cell + cell / 2 + 4
        x = left + n * cell + cell / 2
        parts.append(
            _h(
                '<text x="{lx}" y="{y}" font-size="12" text-anchor="end">{l}<title>{f}</title>'
                '</text><text x="{x}" y="{ty}" font-size="12" transform="rotate(-45 {x} {ty})">'
                "{l}<title>{f}</title></text>",
                lx=left - 6,
                y=round(y, 1),
                x=round(x, 1),
                ty=top - 6,
                l=labels[tag.id],
                f=full,
            )
        )
    for row, one in enumerate(tags):
        for col, other in enumerate(tags):
            count = counts.get((one.id, other.id), 0)
            fill, ink = _shade(count, darkest) if one.id != other.id else ("#eeeeee", "#000000")
            if one.id == other.id:
                tip = f"{one.shown}: {plural(count)}"
            else:
                tip = f"{one.shown} and {other.shown}: {plural(count)} with both"
            x, y = left + col * cell, top + row * cell
            parts.append(
                _h(
                    '<g><rect x="{x}" y="{y}" width="{c}" height="{c}" fill="{fill}" '
                    'stroke="{stroke}"/><text x="{tx}" y="{ty}" font-size="11" '
                    'text-anchor="middle" fill="{ink}">{n}</text><title>{tip}</title></g>',
                    x=x,
                    y=y,
                    c=cell,
                    fill=fill,
                    stroke="#333" if one.id == other.id else "#fff",
                    tx=x + cell // 2,
                    ty=y + cell // 2 + 4,
                    ink=ink,
                    n=count,
                    tip=tip,
                )
            )
    parts.append(Markup("</svg>"))
    return _join(parts)


def matrix_table(
    tags: list[Tag], labels: dict[int, str], counts: dict[tuple[int, int], int]
) -> Markup:
    """The matrix's numbers as an HTML table: a row and a column per tag (full name in the
    header's title), the diagonal each tag's own article count."""
    head = [Markup('<th scope="col">Tag</th>')]
    head += [_h('<th scope="col" title="{0}">{1}</th>', t.shown, labels[t.id]) for t in tags]
    rows = []
    for one in tags:
        cells = [_h('<th scope="row" title="{0}">{1}</th>', one.shown, labels[one.id])]
        for other in tags:
            css = ' class="self"' if one.id == other.id else ""
            cells.append(_h("<td{0}>{1}</td>", Markup(css), counts.get((one.id, other.id), 0)))
        rows.append(_h("<tr>{0}</tr>", _join(cells)))
    return _h(
        '<table class="tag-archiver-cooccurrence"><caption>Articles carrying both tags '
        "(the diagonal: the tag's own articles)</caption><thead><tr>{0}</tr></thead>"
        "<tbody>{1}</tbody></table>",
        _join(head),
        _join(rows),
    )


def month_table(months: list[tuple[str, int]]) -> Markup:
    rows = [_h("<tr><td>{0}</td><td>{1}</td></tr>", month, count) for month, count in months]
    return _h(
        '<details><summary>The numbers</summary><table class="tag-archiver-months">'
        '<thead><tr><th scope="col">Month</th><th scope="col">Articles</th></tr></thead>'
        "<tbody>{0}</tbody></table></details>",
        _join(rows),
    )


# --- pages ----------------------------------------------------------------------------------


def _url(datasette, path: str, **args: str | None) -> str:
    query = urlencode({key: value for key, value in args.items() if value})
    return datasette.urls.path(path) + (f"?{query}" if query else "")


def _site_options(all_sites: list[Site], chosen: Site | None) -> Markup:
    options = [_h('<option value="">all sites</option>')]
    for site in all_sites:
        selected = Markup(" selected") if chosen and chosen.id == site.id else Markup("")
        options.append(_h('<option value="{0}"{1}>{2}</option>', site.url, selected, site.url))
    return _join(options)


def _month_picker(
    datasette, all_sites: list[Site], tags: list[Tag], site: Site | None, tag: str | None
) -> Markup:
    """A form (no JavaScript) choosing a tag and a site, and links to each site's chart."""
    seen: dict[str, str] = {}
    for t in tags:
        seen.setdefault(t.slug, t.shown)
    datalist = _join(
        [_h('<option value="{0}">{1}</option>', slug, label(shown)) for slug, shown in seen.items()]
    )
    links = [_h('<li><a href="{0}">All articles</a></li>', _url(datasette, PER_MONTH_PATH))]
    links += [
        _h('<li><a href="{0}">{1}</a></li>', _url(datasette, PER_MONTH_PATH, site=s.url), s.url)
        for s in all_sites
    ]
    return _h(
        '<form class="tag-archiver-picker" method="get" action="{action}">'
        '<label>Tag (slug) <input type="text" name="tag" value="{tag}" list="tag-archiver-tags">'
        '</label><datalist id="tag-archiver-tags">{datalist}</datalist>'
        '<label>Site <select name="site">{sites}</select></label>'
        '<input type="submit" value="Draw"></form><ul class="tag-archiver-sites">{links}</ul>',
        action=datasette.urls.path(PER_MONTH_PATH),
        tag=tag or "",
        datalist=datalist,
        sites=_site_options(all_sites, site),
        links=_join(links),
    )


def _site_picker(datasette, all_sites: list[Site], site: Site | None) -> Markup:
    return _h(
        '<form class="tag-archiver-picker" method="get" action="{0}">'
        '<label>Site <select name="site">{1}</select></label>'
        '<input type="submit" value="Draw"></form>',
        datasette.urls.path(COOCCURRENCE_PATH),
        _site_options(all_sites, site),
    )


async def _page(
    datasette,
    request,
    db_name: str | None,
    title: str,
    body: Markup,
    message: str = "",
    status: int = 200,
) -> Response:
    context = {"title": title, "body": body, "message": message, "database": db_name}
    html = await datasette.render_template(PAGE_TEMPLATE, context, request=request)
    return Response.html(html, status=status)


async def _opened(datasette, request):
    db = chart_database(datasette)
    await ensure_may_view(datasette, request.actor, db.name)
    await _check_schema(db)
    return db


async def index_page(datasette, request) -> Response:
    """/-/tag-archiver/charts: links to each chart."""
    try:
        db = await _opened(datasette, request)
    except NotShown as exc:
        return await _page(datasette, request, None, "Charts", Markup(""), str(exc), exc.status)
    body = _h(
        '<ul><li><a href="{0}">Articles per month</a>: one bar per month of publication, '
        "for all articles, one tag or one site.</li>"
        '<li><a href="{1}">Tag co-occurrence</a>: how often the {2} most used tags appear '
        "together on one article.</li></ul>",
        datasette.urls.path(PER_MONTH_PATH),
        datasette.urls.path(COOCCURRENCE_PATH),
        TOP_TAGS,
    )
    return await _page(datasette, request, db.name, f"Charts of {db.name}", body)


async def per_month_page(datasette, request) -> Response:
    """Articles per month, for `?tag=SLUG` and/or `?site=URL` when given. 404 naming an
    unknown tag or site; a page saying so when there is nothing to draw."""
    title = "Articles per month"
    site: Site | None = None
    db_name = None
    picker = Markup("")
    try:
        db = await _opened(datasette, request)
        db_name = db.name
        all_sites = await sites(db)
        tag = request.args.get("tag") or None
        given_site = request.args.get("site") or None
        picker_tags = await top_tags(db, None, PICKER_TAGS)
        picker = _month_picker(datasette, all_sites, picker_tags, None, tag)
        if given_site:
            site = await find_site(db, given_site)
            title += f" on {site.url}"
            picker = _month_picker(datasette, all_sites, picker_tags, site, tag)
        if tag:
            title += f" tagged \u201c{label(await tag_named(db, tag, site))}\u201d ({label(tag)})"
        months, undated = await articles_per_month(db, site, tag)
    except NotShown as exc:
        body = picker
        return await _page(datasette, request, db_name, title, body, str(exc), exc.status)
    except QueryInterrupted:
        message = "Counting took longer than this server allows (sql_time_limit_ms)."
        return await _page(datasette, request, db_name, title, picker, message, 503)
    notes = []
    if undated:
        notes.append(_h("<p>{0} without a publication date (not drawn).</p>", plural(undated)))
    if not months:
        notes.insert(0, Markup("<p>Nothing to draw: no article with a publication date.</p>"))
        return await _page(datasette, request, db_name, title, _join([*notes, picker]))
    filled = fill_months(months)
    body = _join(
        [
            _h('<div class="tag-archiver-chart">{0}</div>', bar_chart(filled, title)),
            _h("<p>{0} in {1} months.</p>", plural(sum(c for _, c in months)), len(months)),
            *notes,
            month_table(filled),
            Markup("<h2>Another tag or site</h2>"),
            picker,
        ]
    )
    return await _page(datasette, request, db_name, title, body)


async def cooccurrence_page(datasette, request) -> Response:
    """Tag co-occurrence among the TOP_TAGS tags, of `?site=URL` when given."""
    title = "Tag co-occurrence"
    db_name = None
    picker = Markup("")
    try:
        db = await _opened(datasette, request)
        db_name = db.name
        all_sites = await sites(db)
        picker = _site_picker(datasette, all_sites, None)
        site = None
        if request.args.get("site"):
            site = await find_site(db, request.args["site"])
            title += f" on {site.url}"
            picker = _site_picker(datasette, all_sites, site)
        tags = await top_tags(db, site, TOP_TAGS)
        counts = await cooccurrence(db, tags)
    except NotShown as exc:
        return await _page(datasette, request, db_name, title, picker, str(exc), exc.status)
    except QueryInterrupted:
        message = "Counting took longer than this server allows (sql_time_limit_ms)."
        return await _page(datasette, request, db_name, title, picker, message, 503)
    if not tags:
        body = _join([Markup("<p>Nothing to draw: no article has a tag.</p>"), picker])
        return await _page(datasette, request, db_name, title, body)
    labels = tag_labels(tags)
    body = _join(
        [
            _h(
                "<p>The {0} tags on most articles; each cell counts the articles carrying both "
                "its row's and its column's tag.</p>",
                len(tags),
            ),
            _h(
                '<div class="tag-archiver-chart">{0}</div>',
                matrix_chart(tags, labels, counts, title),
            ),
            matrix_table(tags, labels, counts),
            Markup("<h2>Another site</h2>"),
            picker,
        ]
    )
    return await _page(datasette, request, db_name, title, body)


# --- hooks ----------------------------------------------------------------------------------


@hookimpl
def register_routes(datasette):
    return [
        (rf"^{re.escape(CHARTS_PATH)}/?$", index_page),
        (rf"^{re.escape(PER_MONTH_PATH)}$", per_month_page),
        (rf"^{re.escape(COOCCURRENCE_PATH)}$", cooccurrence_page),
    ]


async def _may_view(datasette, actor) -> str | None:
    """The charted database's name when `actor` may view it, else None."""
    try:
        db = chart_database(datasette)
    except NotShown:
        return None
    return db.name if await may_view(datasette, actor, db.name) else None


@hookimpl
def menu_links(datasette, actor, request):
    async def links():
        if await _may_view(datasette, actor) is None:
            return []
        return [{"href": datasette.urls.path(CHARTS_PATH), "label": "Charts of the corpus"}]

    return links


@hookimpl
def database_actions(datasette, actor, database, request):
    async def links():
        if database != await _may_view(datasette, actor):
            return []
        return [
            {"href": datasette.urls.path(PER_MONTH_PATH), "label": "Chart: articles per month"},
            {"href": datasette.urls.path(COOCCURRENCE_PATH), "label": "Chart: tag co-occurrence"},
        ]

    return links
