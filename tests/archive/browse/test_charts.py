"""The charts plugin (archive.browse.charts) through Datasette's own test client, and the
served pages in headless Chromium."""

from __future__ import annotations

import re
import sqlite3
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
from datasette.plugins import pm

from archive.browse import charts, plugin
from archive.records import Observed, Term
from archive.store import Store
from tests.archive.browse.client import get_root

# browser and served: the browser test's fixtures, shared rather than copied
from tests.archive.browse.test_browser import browser, chromium, screenshot, served  # noqa: F401
from tests.helpers import article

PER_MONTH = charts.PER_MONTH_PATH
COOCCURRENCE = charts.COOCCURRENCE_PATH
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def register() -> None:
    """Both plugins registered as make_datasette registers them, before it runs: it skips
    its own registration (and the charts line beside it) when the main plugin is there, and
    Datasette fixes its routes when constructed."""
    names = {name for name, _ in pm.list_name_plugin()}
    if plugin.NAME not in names:
        pm.register(plugin, name=plugin.NAME)
    if charts.NAME not in names:
        pm.register(charts, name=charts.NAME)


def get(db: Path, path: str, params: dict | None = None):
    register()
    return get_root(db, path, params)


def page(db: Path, path: str, params: dict | None = None, status: int = 200) -> str:
    response = get(db, path, params)
    assert response.status_code == status, response.text[-2000:]
    return response.text


def bars(html: str) -> dict[str, int]:
    """month -> count, from each bar's tooltip; checked against its data attributes."""
    found = re.findall(
        r'data-month="([^"]*)" data-count="(\d+)"><title>([^<]*): (\d+) articles?</title>', html
    )
    assert all(month == tip and count == n for month, count, tip, n in found)
    return {month: int(count) for month, count, _, _ in found}


class Tables(HTMLParser):
    """The text of every cell of every table with class `wanted`, row by row."""

    def __init__(self, wanted: str) -> None:
        super().__init__()
        self.wanted, self.rows, self.inside, self.cell = wanted, [], False, None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and self.wanted in (dict(attrs).get("class") or ""):
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell)
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def cooccurrence_table(html: str) -> dict[tuple[str, str], int]:
    parser = Tables("tag-archiver-cooccurrence")
    parser.feed(html)
    header, *body = parser.rows
    return {
        (row[0], col): int(n) for row in body for col, n in zip(header[1:], row[1:], strict=True)
    }


def save(db: Path, site: str, *posts: tuple[str, str | None, tuple[str, ...]]) -> None:
    """Each post: (path, published, tag slugs); a tag's name is its slug upper-cased."""
    with Store(db, site=site) as store:
        observed = [
            Observed(
                article(
                    f"{site}{path}",
                    published=published,
                    tags=tuple(Term(slug, slug.upper(), None) for slug in slugs),
                )
            )
            for path, published, slugs in posts
        ]
        store.save(observed, "2024-06-01T00:00:00Z")


@pytest.fixture
def two_sites(tmp_path) -> Path:
    db = tmp_path / "corpus.db"
    save(
        db,
        "https://a.test/",
        ("p1/", "2024-01-05T00:00:00+00:00", ("ai", "ml")),
        ("p2/", "2024-01-20T00:00:00+02:00", ("ai",)),
        ("p3/", "2024-03-01T00:00:00+00:00", ("ai", "ml", "history")),
    )
    save(
        db,
        "https://b.test/",
        ("q1/", "2024-02-10T00:00:00+00:00", ("ai",)),
        ("q2/", None, ("ai",)),
        ("q3/", "2024-03-31T00:00:00+00:00", ()),
    )
    return db


def test_articles_per_month_whole_database_tag_and_site(two_sites):
    everything = page(two_sites, PER_MONTH)
    assert bars(everything) == {"2024-01": 2, "2024-02": 1, "2024-03": 2}
    assert "<title>2024-02: 1 article</title>" in everything
    assert "1 article without a publication date" in everything
    # the tag ai of both sites, each article once
    ai = page(two_sites, PER_MONTH, {"tag": "ai"})
    assert bars(ai) == {"2024-01": 2, "2024-02": 1, "2024-03": 1}
    assert "Articles per month tagged \u201cAI\u201d (ai)" in ai
    # a month without articles between two with some is an empty bar
    a_site = page(two_sites, PER_MONTH, {"site": "https://a.test/"})
    assert bars(a_site) == {"2024-01": 2, "2024-02": 0, "2024-03": 1}
    assert "Articles per month on https://a.test/" in a_site
    assert bars(page(two_sites, PER_MONTH, {"site": "b.test"})) == {
        "2024-02": 1,
        "2024-03": 1,
    }  # the site named as a crawl names it
    both = page(two_sites, PER_MONTH, {"site": "https://a.test/", "tag": "ml"})
    assert bars(both) == {"2024-01": 1, "2024-02": 0, "2024-03": 1}
    # the numbers table below the chart agrees with the bars
    parser = Tables("tag-archiver-months")
    parser.feed(both)
    assert parser.rows[1:] == [["2024-01", "1"], ["2024-02", "0"], ["2024-03", "1"]]
    # the picker offers every site and the tags
    assert f'href="{PER_MONTH}?site=https%3A%2F%2Fb.test%2F"' in everything
    assert '<option value="history">HISTORY</option>' in everything


def test_tag_cooccurrence_counts(two_sites):
    one_site = page(two_sites, COOCCURRENCE, {"site": "https://a.test/"})
    table = cooccurrence_table(one_site)
    assert table[("AI", "ML")] == table[("ML", "AI")] == 2
    assert table[("AI", "HISTORY")] == table[("ML", "HISTORY")] == 1
    assert table[("AI", "AI")] == 3 and table[("HISTORY", "HISTORY")] == 1
    assert len(table) == 9  # three tags on a.test
    assert "<title>AI and ML: 2 articles with both</title>" in one_site
    # all sites: two sites' ai tags are two tags, told apart by their host
    everywhere = cooccurrence_table(page(two_sites, COOCCURRENCE))
    assert everywhere[("AI (a.test)", "AI (a.test)")] == 3
    assert everywhere[("AI (b.test)", "AI (b.test)")] == 2
    assert everywhere[("AI (a.test)", "AI (b.test)")] == 0


def test_top_tags_only(tmp_path):
    db = tmp_path / "many.db"
    # tag tN on N+1 articles: the 20 most used are t5 .. t24
    day = "2024-01-01T00:00:00+00:00"
    posts = [(f"p{n}/", day, tuple(f"t{k}" for k in range(n, 25))) for n in range(25)]
    save(db, "https://a.test/", *posts)
    table = cooccurrence_table(page(db, COOCCURRENCE))
    shown = {row for row, _ in table}
    assert shown == {f"T{k}" for k in range(5, 25)}
    assert table[("T24", "T24")] == 25 and table[("T5", "T24")] == 6


def test_front_pages_link_to_the_charts(two_sites):
    for path in ("/", f"/{two_sites.stem}"):
        assert f'href="{charts.CHARTS_PATH}"' in page(two_sites, path), path
    database = page(two_sites, f"/{two_sites.stem}")
    assert f'href="{PER_MONTH}"' in database and f'href="{COOCCURRENCE}"' in database
    index = page(two_sites, charts.CHARTS_PATH)
    assert f'href="{PER_MONTH}"' in index and f'href="{COOCCURRENCE}"' in index


def test_hostile_names_are_drawn_as_text(tmp_path):
    db = tmp_path / "hostile.db"
    long_name = "x" * 10_000
    site = 'https://evil.test/"><script>alert(2)</script>'
    with Store(db, site=site) as store:
        terms = (
            Term("s", HOSTILE, None),
            Term("q", "\"quoted\" 'name'", None),
            Term("long", long_name, None),
            Term("rtl", "\u202eevil", None),
        )
        store.save([Observed(article("https://evil.test/a/", tags=terms))], "2024-06-01T00:00:00Z")
    pages = [
        page(db, PER_MONTH),
        page(db, PER_MONTH, {"tag": "s", "site": site}),
        page(db, COOCCURRENCE),
        page(db, COOCCURRENCE, {"site": site}),
        page(db, PER_MONTH, {"tag": HOSTILE}, status=404),
        page(db, COOCCURRENCE, {"site": HOSTILE}, status=404),
    ]
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert" in html
    assert "tagged \u201c&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x" in pages[1]
    table = cooccurrence_table(pages[2])
    labels = {row for row, _ in table}
    assert "x" * 39 + "\u2026" in labels  # cut to 40 characters
    assert "evil" in labels  # the override dropped from the label ...
    assert "\u202eevil" in pages[2]  # ... kept in the tooltip, with the full long name
    assert f"<title>{long_name} (long) on" in pages[2]
    assert "&#34;quoted&#34; &#39;name&#39;" in pages[2]


def test_an_empty_database_has_nothing_to_draw(tmp_path):
    db = tmp_path / "empty.db"
    Store(db).close()
    assert "Nothing to draw" in page(db, PER_MONTH)
    assert "Nothing to draw" in page(db, COOCCURRENCE)
    assert "Articles per month" in page(db, charts.CHARTS_PATH)


def test_unknown_tag_or_site_is_a_404_saying_so(two_sites):
    tag = page(two_sites, PER_MONTH, {"tag": "nope"}, status=404)
    assert "No tag with the slug &#39;nope&#39;" in tag
    # a tag of another site is unknown on this one
    assert "on https://b.test/" in page(
        two_sites, PER_MONTH, {"tag": "ml", "site": "https://b.test/"}, status=404
    )
    for path in (PER_MONTH, COOCCURRENCE):
        html = page(two_sites, path, {"site": "https://c.test/"}, status=404)
        assert "No site &#39;https://c.test/&#39;" in html
        assert '<option value="https://a.test/">' in html  # what there is to pick instead


def test_per_month_on_the_test_bed_is_the_sql_count(crawled):
    with sqlite3.connect(crawled) as conn:
        expected = dict(
            conn.execute(
                "SELECT substr(published, 1, 7), count(*) FROM articles GROUP BY 1"
            ).fetchall()
        )
    drawn = bars(page(crawled, PER_MONTH))
    undated = expected.pop(None, 0)
    assert {month: n for month, n in drawn.items() if n} == expected
    assert set(drawn) >= set(expected) and sorted(drawn) == list(drawn)
    assert undated == 0 or f"{undated} article" in page(crawled, PER_MONTH)


def test_charts_in_the_browser(browser, served, tmp_path):  # noqa: F811
    origin = served.rsplit("/", 1)[0]
    try:
        urllib.request.urlopen(f"{origin}{charts.CHARTS_PATH}", timeout=10)
    except urllib.error.HTTPError as exc:
        pytest.fail(
            f"{charts.CHARTS_PATH} answered {exc.code} in `tag-archiver serve`: make_datasette "
            "must register archive.browse.charts (pm.register(charts, name=charts.NAME))"
        )
    for path, title, name in (
        (PER_MONTH, "Articles per month", "chart-articles-per-month.png"),
        (COOCCURRENCE, "Tag co-occurrence", "chart-tag-cooccurrence.png"),
    ):
        dom = chromium(browser, tmp_path, "--dump-dom", f"{origin}{path}")
        assert f"<h1>{title}</h1>" in dom and "<svg" in dom and "Error" not in dom
        shot = screenshot(browser, tmp_path, f"{origin}{path}", name)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
