"""verify's comparison (archive.verify) and REST reading (archive.wp_rest): hand-built REST
answers against a small store, no network."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from archive.records import Observed, Term
from archive.store import Store
from archive.verify import (
    Finding,
    Kind,
    RestRecord,
    compare,
    read_only,
    report_lines,
    save_findings,
    summary,
    tags_to_verify,
    unavailable,
)
from archive.wp_rest import (
    Collection,
    RestAnswerError,
    RestPage,
    displayed,
    parse_posts,
    parse_terms,
    read_json,
)
from tests.helpers import T1, article, dump

SITE = "http://b.test/"
NEWS = {"id": 5, "slug": "news", "name": "News", "count": 2, "link": f"{SITE}tag/news/"}
VIEWS = {"id": 6, "slug": "views", "name": "Views", "count": 1, "link": f"{SITE}tag/views/"}
CATEGORY = {"id": 1, "slug": "uncategorized", "name": "Uncategorized", "count": 9}


def rest_post(post_id: int, slug: str, title: str, **changes) -> dict:
    post = {
        "id": post_id,
        "link": f"{SITE}2024/01/01/{slug}/",
        "title": {"rendered": title},
        "date": "2024-01-01T00:00:00",
        "date_gmt": "2024-01-01T00:00:00",
        "modified_gmt": "2024-01-01T00:00:00",
        "tags": [5],
        "categories": [],
        "author": 1,
        "content": {"protected": False},
    }
    post.update(changes)
    return post


def page(number: int, entries: list, total: int | None = None, pages: int = 1, *, terms=False):
    headers = {"X-WP-Total": str(len(entries) if total is None else total)}
    headers["X-WP-TotalPages"] = str(pages)
    parse = parse_terms if terms else parse_posts
    return parse(number, entries, headers)


def record(
    posts: dict[int, list[dict]],
    tags=(NEWS, VIEWS),
    requested=None,
    categories=(CATEGORY,),
) -> RestRecord:
    rec = RestRecord(site=SITE, requested=requested, api="/wp-json/")
    rec.tags.pages[1] = page(1, list(tags), terms=True)
    for tag_id, entries in posts.items():
        rec.posts[tag_id] = Collection(pages={1: page(1, entries)})
    rec.lookups["category"] = [Collection(pages={1: page(1, list(categories), terms=True)})]
    return rec


def stored(tmp_path: Path, *articles) -> Path:
    db = tmp_path / "a.db"
    with Store(db) as store:
        store.save([Observed(a) for a in articles], T1)
    return db


def one(slug: str, wp_post_id: int, title: str, tags=("news",), **changes):
    return article(
        url=f"{SITE}2024/01/01/{slug}/",
        title=title,
        wp_post_id=wp_post_id,
        tags=tuple(Term(t) for t in tags),
        **changes,
    )


def check(db: Path, rec: RestRecord) -> list[Finding]:
    with read_only(db) as conn:
        return compare(rec, conn)


def kinds(findings: list[Finding]) -> list[tuple]:
    return [(f.kind.value, f.tag, f.wp_post_id, f.field) for f in findings]


def test_an_archive_that_matches_has_only_expected_rows(tmp_path):
    db = stored(tmp_path, one("a", 1, "Alpha"), one("b", 2, "Beta", tags=("news", "views")))
    rec = record(
        {5: [rest_post(1, "a", "Alpha"), rest_post(2, "b", "Beta", tags=[5, 6])],
         6: [rest_post(2, "b", "Beta", tags=[5, 6])]}
    )  # fmt: skip
    findings = check(db, rec)
    assert kinds(findings) == [
        ("expected", "news", None, None),
        ("expected", "views", None, None),
    ]
    assert (findings[0].expected, findings[0].archived) == ("2", "2")
    assert summary(findings).endswith("0 unavailable; the archive matches")
    assert report_lines(findings) == [
        "tag news: expected 2, archived 2",
        "tag views: expected 1, archived 1",
    ]


def test_missing_extra_and_each_mismatched_field(tmp_path):
    db = stored(
        tmp_path,
        one("a", 1, "Alpha"),
        one("b", 2, "Old title", published="2024-01-01T00:00:59+00:00"),
        one("c", 3, "Gamma", published="2024-03-01T10:00:00+01:00"),  # 09:00 UTC
        one("d", 4, "Delta", tags=("news", "views")),
        one("e", 5, "Epsilon"),
    )
    rec = record(
        {
            5: [
                rest_post(1, "a", "Alpha"),
                rest_post(2, "b", "New &amp; <em>improved</em>  title",
                          modified_gmt="2030-01-01T00:00:00"),
                rest_post(3, "c", "Gamma", date_gmt="2024-03-01T09:01:00"),
                rest_post(4, "d", "Delta", categories=[1]),
                rest_post(9, "new-one", "Brand new"),
            ]
        },
        tags=(NEWS,),
        requested=("news",),
    )  # fmt: skip
    findings = check(db, rec)
    assert kinds(findings) == [
        ("expected", "news", None, None),
        ("inconsistent", "news", None, "count"),  # NEWS claims 2, the list holds 5
        ("mismatch", "news", 2, "title"),
        ("mismatch", "news", 3, "published"),
        ("mismatch", "news", 4, "tags"),
        ("mismatch", "news", 4, "categories"),
        ("missing", "news", 9, None),
        ("extra", "news", 5, None),
    ]
    by = {(f.wp_post_id, f.field): f for f in findings}
    title = by[2, "title"]
    assert (title.expected, title.archived) == ("New & improved title", "Old title")
    assert "modified on the site at 2030-01-01T00:00:00Z" in title.message
    assert (by[3, "published"].expected, by[3, "published"].archived) == (
        "2024-03-01T09:01:00Z",
        "2024-03-01T10:00:00+01:00",
    )
    assert (by[4, "tags"].expected, by[4, "tags"].archived) == ("news", "news, views")
    assert (by[4, "categories"].expected, by[4, "categories"].archived) == ("uncategorized", "")
    missing = by[9, None]
    assert missing.url == f"{SITE}2024/01/01/new-one/" and missing.expected == "Brand new"
    assert '"Brand new" <http://b.test/2024/01/01/new-one/>' in missing.message
    assert '"Epsilon"' in by[5, None].message and by[5, None].archived == "Epsilon"
    assert (findings[0].expected, findings[0].archived) == ("5", "5")
    assert "1 missing, 1 extra, 4 mismatch, 1 inconsistent" in summary(findings)


def test_dates_are_instants_to_the_minute(tmp_path):
    db = stored(
        tmp_path,
        one("a", 1, "A", published="2024-01-01T02:00:30+02:00"),  # 00:00:30 UTC
        one("b", 2, "B", published="2024-01-01T01:00:00"),  # no offset: the site's time
    )
    rec = record(
        {5: [rest_post(1, "a", "A"),
             rest_post(2, "b", "B", date="2024-01-01T01:00:00", date_gmt="2024-01-01T00:00:00")]},
        tags=({**NEWS, "count": 2},),
    )  # fmt: skip
    assert kinds(check(db, rec)) == [("expected", "news", None, None)]


def test_matched_by_url_in_canonical_form_when_the_id_is_unknown(tmp_path):
    db = stored(tmp_path, article(url=f"{SITE}caf%C3%A9/", title="Café", wp_post_id=None))
    post = rest_post(12, "x", "Café", link=f"{SITE}café/")
    rec = record({5: [post]}, tags=({**NEWS, "count": 1},))
    assert kinds(check(db, rec)) == [("expected", "news", None, None)]


def test_a_changed_slug_and_a_gone_mark_are_mismatches(tmp_path):
    db = stored(tmp_path, one("old-slug", 1, "A"))
    with Store(db) as store:
        store.mark_gone(f"{SITE}2024/01/01/old-slug/", "2024-02-01T00:00:00Z")
    rec = record({5: [rest_post(1, "new-slug", "A")]}, tags=({**NEWS, "count": 1},))
    findings = check(db, rec)
    assert kinds(findings)[1:] == [
        ("mismatch", "news", 1, "gone_at"),
        ("mismatch", "news", 1, "url"),
    ]
    # a gone article is not counted as archived under its tag
    assert findings[0].archived == "0"


def test_password_protected_posts_are_neither_missing_nor_expected(tmp_path):
    db = stored(tmp_path, one("a", 1, "A"))
    rec = record(
        {
            5: [
                rest_post(1, "a", "A"),
                rest_post(2, "secret", "Secret", content={"protected": True}),
            ]
        },
        tags=(NEWS,),
    )
    findings = check(db, rec)
    assert kinds(findings) == [("expected", "news", None, None)]
    assert findings[0].expected == "1"
    assert "1 password-protected, not archived on purpose" in findings[0].message


def test_an_incomplete_list_names_no_extras_and_claims_no_count(tmp_path):
    db = stored(tmp_path, one("a", 1, "A"), one("b", 2, "B"))
    rec = record({5: [rest_post(1, "a", "A")]}, tags=(NEWS,))
    rec.posts[5].failures[2] = "answered HTTP 500 (after retries)"
    findings = check(db, rec)
    assert kinds(findings) == [
        ("expected", "news", None, None),
        ("unavailable", "news", None, "page"),
    ]
    assert findings[0].expected is None and findings[0].archived == "2"
    assert "page 2 could not be read: answered HTTP 500" in findings[1].message
    assert report_lines(findings)[0] == "tag news: expected ?, archived 2"


def test_a_dropped_entry_makes_the_list_incomplete(tmp_path):
    db = stored(tmp_path, one("a", 1, "A"), one("b", 2, "B"))
    broken = {k: v for k, v in rest_post(2, "b", "B").items() if k != "link"}
    rec = record({5: [rest_post(1, "a", "A"), broken]}, tags=(NEWS,))
    findings = check(db, rec)
    assert kinds(findings) == [
        ("expected", "news", None, None),
        ("unavailable", "news", None, None),
    ]
    assert "entry 1 is not a post" in findings[1].message


def test_an_api_that_contradicts_itself(tmp_path):
    db = stored(tmp_path, one("a", 1, "A"), one("b", 2, "B"))
    rec = record({}, tags=({**NEWS, "count": 7},))
    rec.posts[5] = Collection(
        pages={1: page(1, [rest_post(1, "a", "A"), rest_post(2, "b", "B", tags=[6]),
                           rest_post(1, "a", "A")], total=9)}
    )  # fmt: skip
    found = [f for f in check(db, rec) if f.kind is Kind.INCONSISTENT]
    assert [(f.wp_post_id, f.field, f.expected) for f in found] == [
        (1, None, None),  # listed twice
        (None, "X-WP-Total", "9"),
        (None, "count", "7"),
        (2, "tags", None),  # listed under news, its tags say views only
    ]
    assert "claims 9 posts, but its pages list 2" in found[1].message


def test_a_tag_wordpress_does_not_have(tmp_path):
    db = stored(tmp_path, one("a", 1, "A", tags=("ghost",)))
    rec = record({}, tags=(NEWS,), requested=("ghost", "GHOST"))
    findings = check(db, rec)
    assert kinds(findings) == [
        ("expected", "ghost", None, None),
        ("unavailable", "ghost", None, None),
        ("extra", "ghost", 1, None),
    ]
    assert findings[0].expected == "0" and "lists no such tag" in findings[1].message


def test_tags_to_verify_every_tag_with_posts_and_every_archived_one():
    rec = record(
        {}, tags=(NEWS, {**VIEWS, "count": 0}, {**VIEWS, "id": 7, "slug": "quiet", "count": 0})
    )
    chosen = tags_to_verify(rec, {"views", "local-only"})
    assert [(slug, term.id if term else None) for slug, term in chosen] == [
        ("local-only", None),
        ("news", 5),
        ("views", 6),
    ]


def test_terms_the_api_cannot_name_are_reported_not_guessed(tmp_path):
    db = stored(tmp_path, one("a", 1, "A"))
    rec = record({5: [rest_post(1, "a", "A", tags=[5, 99])]}, tags=({**NEWS, "count": 1},))
    # the spider looked tag 99 up by id, and the API's tag list does not have it
    rec.lookups["tag"] = [Collection(pages={1: page(1, [], terms=True)})]
    findings = check(db, rec)
    assert kinds(findings) == [
        ("expected", "news", None, None),
        ("inconsistent", None, None, "tags"),
    ]
    assert "tags 99 are named by posts" in findings[1].message
    rec.lookups["tag"] = [Collection(failures={1: "answered HTTP 503 (after retries)"})]
    assert [f.kind for f in check(db, rec)][1:] == [Kind.UNAVAILABLE, Kind.UNAVAILABLE]


def test_only_the_verified_sites_articles_count(tmp_path):
    db = stored(tmp_path, one("a", 1, "A"), article(url="http://other.test/x/", wp_post_id=77))
    rec = record({5: [rest_post(1, "a", "A")]}, tags=({**NEWS, "count": 1},))
    assert kinds(check(db, rec)) == [("expected", "news", None, None)]


def test_an_unavailable_api_is_one_finding(tmp_path):
    db = stored(tmp_path, one("a", 1, "A"))
    rec = RestRecord(site=SITE, unavailable="/wp-json/ answered HTTP 403 (rest_forbidden)")
    findings = check(db, rec)
    assert unavailable(findings)
    assert summary(findings).startswith("verify: UNAVAILABLE: the REST API of http://b.test/")


def test_findings_are_stored_and_articles_untouched(tmp_path):
    db = stored(tmp_path, one("a", 1, "Old"))
    with Store(db) as store:
        run_id = store.start_run(started_at=T1, site=SITE, software_version="test")
    before = dump(db, skip_tables=("verifications", "runs"))
    rec = record(
        {5: [rest_post(1, "a", "New"), rest_post(2, "b", "'); DROP TABLE articles; --")]},
        tags=(NEWS,),
    )
    findings = check(db, rec)
    with Store(db) as store:
        assert save_findings(store, run_id, findings) == len(findings) == 3
    assert dump(db, skip_tables=("verifications", "runs")) == before
    rows = (
        sqlite3.connect(db)
        .execute(
            "SELECT run_id, kind, tag, wp_post_id, field, expected, archived FROM verifications"
        )
        .fetchall()
    )
    assert rows[1] == (run_id, "mismatch", "news", 1, "title", "New", "Old")
    assert rows[2][1:6] == ("missing", "news", 2, None, "'); DROP TABLE articles; --")


def test_the_comparison_never_writes(tmp_path):
    db = stored(tmp_path, one("a", 1, "A"))
    with read_only(db) as conn, pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM articles")


# --- reading REST answers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "content_type", "body", "reason", "text"),
    [
        (200, "text/html; charset=UTF-8", b"<!doctype html><title>Home</title>", "html", "answered HTML with status 200, not JSON (titled 'Home')"),
        (200, "application/json", b"<html><body>blocked</body></html>", "html", "answered HTML"),
        (200, "application/json", b"\x00\xff{garbage", "not_json", "not JSON"),
        (200, "application/json", b"", "not_json", "not JSON (0 bytes)"),
        (403, "application/json", b'{"code":"rest_forbidden","message":"No."}', "http", "answered HTTP 403 (rest_forbidden: No.)"),
        (404, "text/html", b"<html>Not Found</html>", "http", "answered HTTP 404"),
        (200, "application/json", b'{"code":"rest_disabled","message":"Off."}', "error_object", "rest_disabled: Off."),
    ],
)  # fmt: skip
def test_answers_that_are_not_the_api(status, content_type, body, reason, text):
    with pytest.raises(RestAnswerError) as caught:
        read_json(status, content_type, body)
    assert caught.value.reason == reason and text in str(caught.value)


def test_json_of_the_wrong_shape_and_bad_entries():
    assert read_json(200, "application/json", b"\xef\xbb\xbf[]") == []  # a BOM is tolerated
    with pytest.raises(RestAnswerError, match="wrong shape"):
        parse_posts(1, {"posts": []}, {})
    entries = [
        rest_post(1, "a", "A"),
        "a string",
        {"id": True, "link": f"{SITE}x/"},
        {**rest_post(4, "d", "D", date_gmt="yesterday", tags="5"), "title": None},
    ]
    got = parse_posts(1, entries, {"X-WP-Total": "4", "x-wp-totalpages": "nine"})
    assert [p.id for p in got.items] == [1, 4] and got.dropped == 2
    assert (got.total, got.total_pages) == (4, None)
    bad = got.items[1]
    assert (bad.title, bad.date_gmt, bad.tags) == (None, None, None)
    assert got.problems == (
        "entry 1 is not a post (no whole-number id and link)",
        "entry 2 is not a post (no whole-number id and link)",
        "post 4: title.rendered is missing",
        "post 4: date_gmt 'yesterday' is not a date",
        "post 4: tags '5' is not a list of term ids",
    )
    terms = parse_terms(1, [{"id": 3, "slug": "caf%C3%A9", "count": -1}], {})
    assert terms.items[0].slug == "café" and terms.items[0].count is None
    assert terms.problems == ("term 3: count -1 is not a whole number",)


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("Fish &#038; Chips: &#8220;Curly&#8221;", "Fish & Chips: \u201cCurly\u201d"),
        ("Tom\u2019s <Best>  Ideas", "Tom\u2019s Ideas"),
        ("<script>alert(1)</script>Title", "alert(1)Title"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_titles_compare_as_displayed(html, text):
    assert displayed(html) == text


def test_a_collection_is_complete_only_with_every_page():
    first = RestPage(1, (), 30, 3)
    assert not Collection(pages={1: first}).complete
    assert Collection(
        pages={1: first, 2: RestPage(2, (), 30, 3), 3: RestPage(3, (), 30, 3)}
    ).complete
    assert not Collection().complete
