"""Browsing through Datasette's own test client, over a crawl of the captured test bed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from archive.browse import check_database, make_datasette
from archive.errors import StoreError
from archive.records import Observed, Term
from archive.store import Store
from tests.archive.browse.client import get
from tests.helpers import ROOT, article, run_cli


def rows(db: Path, path: str) -> list[dict]:
    response = get(db, path + ("&" if "?" in path else "?") + "_shape=array")
    assert response.status_code == 200, response.text
    return response.json()


def published_posts() -> list[dict]:
    posts = json.loads((ROOT / "tests/testbed/posts.json").read_text())
    return [p for p in posts if p.get("status", "publish") == "publish" and not p.get("password")]


def test_canned_queries_on_the_test_bed(crawled):
    found = rows(crawled, "/search_articles.json?q=scaling")
    assert any(r["title"].startswith("Andrej Karpathy") for r in found)
    assert all("[" in r["snippet"] for r in found)
    history = rows(crawled, "/articles_under_tag.json?tag=history")
    assert len(history) == sum("history" in p["tags"] for p in published_posts()) == 10
    assert rows(crawled, "/articles_under_tag.json?tag=AI scaling")[0]["title"].startswith("Andrej")
    compounding = rows(crawled, "/takeaways_mentioning.json?phrase=Compounding works")
    assert len(compounding) == 8 * 3  # three takeaways in each History Notes post
    per_month = {r["month"]: r["articles"] for r in rows(crawled, "/articles_per_month.json")}
    expected: dict[str, int] = {}
    for post in published_posts():
        expected[post["date"][:7]] = expected.get(post["date"][:7], 0) + 1
    assert per_month == expected


def test_every_canned_query_answers(crawled):
    datasette = make_datasette(crawled)
    queries = datasette.metadata("queries", database=crawled.stem)
    assert set(queries) == {
        "search_articles",
        "articles_under_tag",
        "takeaways_mentioning",
        "articles_per_month",
        "changed_in_last_run",
        "last_verification",
        "sites_compared",
        "site_articles_per_month",
        "changed_recently",
    }
    for name in queries:
        response = get(crawled, f"/{name}.json?q=x&tag=x&phrase=x&site=x&days=30")
        assert response.status_code == 200, (name, response.text)


def test_facets_and_default_sort(crawled):
    response = get(crawled, "/article_summary.json?_facet_array=tags&_facet=year&_facet=author")
    data = response.json()
    tags = {f["value"]: f["count"] for f in data["facet_results"]["tags"]["results"]}
    assert tags["history"] == 10 and tags["scaling laws"] == 3 and tags["AI scaling"] == 1
    authors = {f["value"] for f in data["facet_results"]["author"]["results"]}
    assert authors == {"PJFP", "Ada Writer"}
    published = [r[3] for r in data["rows"]]
    assert published == sorted(published, reverse=True)
    page = get(crawled, "/article_summary").text
    assert "tags (array)" in page and "year" in page  # the configured facets are offered


def test_search_with_stemming_on_the_view(crawled):
    titles = {r["title"] for r in rows(crawled, "/article_summary.json?_search=scale")}
    assert any(t.startswith("Andrej Karpathy") for t in titles)


@pytest.mark.parametrize(
    "query", ['"', "*", "NEAR(", '"unbalanced', "a AND", "(((", "''", "", "tl;dr -x"]
)
def test_fts_syntax_characters_never_fail(crawled, query):
    from urllib.parse import quote

    for path in (f"/search_articles?q={quote(query)}", f"/article_summary?_search={quote(query)}"):
        response = get(crawled, path)
        assert response.status_code == 200, (path, response.text[:500])


def test_every_table_and_used_column_is_described(crawled):
    datasette = make_datasette(crawled)
    tables = datasette.metadata("tables", database=crawled.stem)
    names = set(sqlite3.connect(crawled).execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE '%_fts%'"
    ).fetchall())  # fmt: skip
    assert {n for (n,) in names} <= set(tables)
    assert all(t.get("description") for t in tables.values())
    assert set(tables["articles"]["columns"]) >= {
        "url",
        "title",
        "published",
        "author",
        "content_text",
    }


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_stored_html_is_never_rendered(tmp_path):
    db = tmp_path / "xss.db"
    store = Store(db)
    store.save(
        [Observed(article(
            url="javascript:alert(1)//http://b.test/",
            title=HOSTILE,
            author=HOSTILE,
            tags=(Term("x", HOSTILE, "javascript:alert(1)"),),
            text=HOSTILE,
        ))],
        "2026-01-01T00:00:00Z",
    )  # fmt: skip
    store.db["articles"].update(
        1, {"content_html": f'<a href="javascript:alert(1)">x</a>{HOSTILE}'}
    )
    store.close()
    for path in ("/articles", "/articles/1", "/article_summary", "/tags", "/takeaways", "/sections",
                 "/search_articles?q=alert", "/articles_under_tag?tag=x"):  # fmt: skip
        page = get(db, path, replay_url="http://127.0.0.1:9/c").text
        assert "<script>alert" not in page, path
        assert "<img src=x onerror" not in page, path
        assert 'href="javascript:' not in page, path
    assert "&lt;script&gt;alert" in get(db, "/articles").text


def test_article_urls_link_live_and_to_the_archived_capture(tmp_path):
    db = tmp_path / "links.db"
    store = Store(db)
    from archive.warc.files import RecordLocation

    capture = store.add_capture(
        RecordLocation("f.warc.gz", 0, 10, "<urn:uuid:1>", None),
        url="https://b.test/a/", status=200, fetched_at="2026-01-02T03:04:05Z", content_type="text/html",
    )  # fmt: skip
    store.save([Observed(article(url="https://b.test/a/"), capture)], "2026-01-02T03:04:05Z")
    store.close()
    page = get(db, "/article_summary", replay_url="http://127.0.0.1:8080/pjfp").text
    assert 'href="https://b.test/a/"' in page
    assert 'href="http://127.0.0.1:8080/pjfp/20260102030405/https://b.test/a/"' in page


def test_missing_empty_and_foreign_databases(tmp_path):
    with pytest.raises(StoreError, match="no database at"):
        check_database(tmp_path / "missing.db")
    (tmp_path / "empty.db").write_bytes(b"")
    with pytest.raises(StoreError, match="is empty"):
        check_database(tmp_path / "empty.db")
    for command in (["serve", "--port", "0"], ["export"]):
        result = run_cli(*command, "--db", str(tmp_path / "missing.db"))
        assert result.returncode == 1 and "no database at" in result.stderr


def test_export_jsonl_and_csv(crawled, tmp_path):
    result = run_cli("export", "--db", str(crawled), "--tag", "scaling-laws")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 3 and all("scaling laws" in r["tags"] for r in records)
    karpathy = next(r for r in records if r["title"].startswith("Andrej"))
    takeaways = next(s for s in karpathy["sections"] if s["heading"] == "Key Takeaways")
    assert len(takeaways["items"]) == 7
    out = tmp_path / "all.csv"
    assert (
        run_cli("export", "--db", str(crawled), "--format", "csv", "--out", str(out)).returncode
        == 0
    )
    import csv

    with open(out, newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 16 and json.loads(table[0]["sections"])


def test_datasette_reads_while_a_crawl_holds_the_write_lock(crawled, tmp_path):
    """WAL: a reader never sees "database is locked" while the crawler is mid-transaction."""
    import shutil

    db = tmp_path / "live.db"
    shutil.copy(crawled, db)
    writer = Store(db)
    writer.db.execute("BEGIN IMMEDIATE")
    writer.db.execute("UPDATE articles SET title = 'being rewritten' WHERE id = 1")
    try:
        response = get(db, "/article_summary.json?_shape=array")
        assert response.status_code == 200, response.text
        assert "being rewritten" not in response.text  # readers see the last commit
    finally:
        writer.db.execute("ROLLBACK")
        writer.close()


def test_many_sites_are_faceted_and_searched_one_or_all(tmp_path):
    db = tmp_path / "corpus.db"
    for site, words in (
        ("https://a.test/", "Scaling laws hold."),
        ("https://b.test/", "Scaling stops."),
    ):
        with Store(db, site=site) as store:
            store.save([Observed(article(f"{site}post/", text=words))], "2024-01-01T00:00:00Z")
    data = get(db, "/article_summary.json?_facet=site").json()
    assert {f["value"]: f["count"] for f in data["facet_results"]["site"]["results"]} == {
        "https://a.test/": 1,
        "https://b.test/": 1,
    }
    everywhere = rows(db, "/search_articles.json?q=scaling&site=")
    assert sorted(r["site"] for r in everywhere) == ["https://a.test/", "https://b.test/"]
    one = rows(db, "/search_articles.json?q=scaling&site=https://b.test/")
    assert [r["url"] for r in one] == ["https://b.test/post/"]
    compared = rows(db, "/sites_compared.json")
    assert [(r["url"], r["articles"]) for r in compared] == [
        ("https://a.test/", 1),
        ("https://b.test/", 1),
    ]
