"""The article page (/<database>/-/article/<id>): an archived post as it reads, its sources,
its neighbours under each tag and its history, through Datasette's own test client and in
headless Chromium. Every stored value is text on it, never markup."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

import lxml.html
import pytest

from archive.browse.plugin import blocks, nest
from archive.records import Content, Image, Observed, Section, SectionItem, Term
from archive.store import Store
from archive.warc.files import RecordLocation
from tests.archive.browse import test_browser
from tests.archive.browse.client import get, get_root
from tests.helpers import T1, T2, article

# test_browser's Chromium and its `tag-archiver serve` of the test-bed crawl, as fixtures here
browser, served = test_browser.browser, test_browser.served
chromium, screenshot = test_browser.chromium, test_browser.screenshot
serving = test_browser.serving

SITE = "https://b.test/"
REPLAY = "http://127.0.0.1:8080/pjfp"


def page(db: Path, article_id: int, **kwargs) -> tuple[str, lxml.html.HtmlElement]:
    """The article page's HTML, and its <article> element parsed."""
    response = get(db, f"/-/article/{article_id}", **kwargs)
    assert response.status_code == 200, response.text[-2000:]
    return response.text, lxml.html.fromstring(response.text).xpath("//article")[0]


def text_of(element) -> str:
    return " ".join(element.text_content().split())


def content(*sections: Section, images: tuple[Image, ...] = ()) -> Content:
    """Content whose text is its sections' text, as extraction makes it."""
    text = "\n".join(s.text for s in sections)
    return Content(
        html="<p>never shown</p>",
        text=text,
        word_count=len(text.split()),
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        sections=sections,
        images=images,
        links=(),
    )


def items(*pairs: tuple[int, str]) -> tuple[SectionItem, ...]:
    return tuple(SectionItem(n, depth, text) for n, (depth, text) in enumerate(pairs))


def section(position, heading, level, lines, listed=()) -> Section:
    return Section(position, heading, level, "\n".join(lines), items(*listed))


def capture(store: Store, n: int, url: str, fetched_at: str, warc_file="gone.warc.gz") -> int:
    """A captures row; its WARC file exists nowhere (the page only names it)."""
    return store.add_capture(
        RecordLocation(warc_file, 1000 * n, 10, f"<urn:uuid:{n}>", None),
        url=url, status=200, fetched_at=fetched_at, content_type="text/html",
    )  # fmt: skip


NEWS = (Term("news", "News", f"{SITE}tag/news/"),)
POST = f"{SITE}2025/02/post/"
TAKEAWAYS = [(0, "Scale matters"), (1, "Compute first"), (2, "Then data"), (0, "Agents later")]


def original() -> Content:
    return content(
        section(0, None, None, ["An opening paragraph.", "A second paragraph."]),
        section(1, "Key Takeaways", 2, [t for _, t in TAKEAWAYS], TAKEAWAYS),
        section(
            2,
            "Q&A",
            3,
            ["Before the list.", "Will it last?", "Yes, for now.", "After the list."],
            [(0, "Will it last?"), (1, "Yes, for now.")],
        ),
        images=(Image(f"{SITE}wp-content/uploads/chart.png", "A chart of compute"),),
    )


@pytest.fixture(scope="module")
def edited(tmp_path_factory) -> Path:
    """Three posts under "news" (2025-01, -02, -03); the middle one edited between T1 and T2,
    its content read from captures whose WARC file is missing."""
    db = tmp_path_factory.mktemp("article") / "edited.db"
    with Store(db, site=SITE) as store:
        first = capture(store, 1, POST, "2026-01-01T00:00:00Z")
        second = capture(store, 2, POST, "2026-01-02T03:04:05Z")
        post = article(
            POST, title="The Post", published="2025-02-01T00:00:00+00:00", author="Ada",
            tags=(*NEWS, Term("ml", "machine learning", f"{SITE}tag/ml/")),
            categories=(Term("tech", "Tech", f"{SITE}category/tech/"),), content=original(),
        )  # fmt: skip
        before = article(f"{SITE}2025/01/before/", title="Before", tags=NEWS,
                         published="2025-01-01T00:00:00+00:00")  # fmt: skip
        after = article(f"{SITE}2025/03/after/", title="After", tags=NEWS,
                        published="2025-03-01T00:00:00+00:00")  # fmt: skip
        store.save([Observed(post, first), Observed(before), Observed(after)], T1)
        sections = original().sections
        edit = content(
            replace(sections[0], text="An opening paragraph.\nA revised second paragraph."),
            *sections[1:],
            images=original().images,
        )
        store.save([Observed(replace(post, title="The Post, revised", content=edit), second)], T2)
    return db


def ids(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT title, id FROM articles"))
    finally:
        conn.close()


def test_the_article_reads_like_the_post(edited):
    html, doc = page(edited, ids(edited)["The Post, revised"])
    assert doc.xpath("h1")[0].text == "The Post, revised"
    content_part = doc.xpath(".//div[@class='ta-content']")[0]
    assert [h.tag + ":" + h.text for h in content_part.xpath(".//h2|.//h3")] == [
        "h2:Key Takeaways",
        "h3:Q&A",
    ]
    paragraphs = [p.text for p in content_part.xpath(".//p")]
    assert paragraphs == [
        "An opening paragraph.",
        "A revised second paragraph.",
        "Before the list.",
        "After the list.",
    ]
    takeaways = content_part.xpath(".//section[h2='Key Takeaways']/ul")[0]
    # nested as stored: depth 0 > 1 > 2, then depth 0 again
    assert [li.text for li in takeaways.xpath("li")] == ["Scale matters", "Agents later"]
    assert takeaways.xpath("li[1]/ul/li")[0].text == "Compute first"
    assert takeaways.xpath("li[1]/ul/li/ul/li")[0].text == "Then data"
    qa = content_part.xpath(".//section[h3='Q&A']")[0]
    # the list stands where it stood: between the paragraphs around it
    assert [el.tag for el in qa if el.tag != "h3"] == ["p", "ul", "p"]
    assert qa.xpath("ul/li/ul/li")[0].text == "Yes, for now."
    meta = text_of(doc.xpath(".//dl[@class='ta-meta']")[0])
    assert "2025-02-01T00:00:00+00:00" in meta and "Ada" in meta and SITE in meta
    images = text_of(doc.xpath(".//section[@class='ta-images']")[0])
    assert "A chart of compute" in images and f"{SITE}wp-content/uploads/chart.png" in images
    assert not doc.xpath(".//img")  # nothing loads from the live site
    assert "never shown" not in html  # content_html is not used


def test_list_items_nest_by_depth_and_stand_between_their_paragraphs():
    def shape(nodes):
        return [(n.text, shape(n.children)) for n in nodes]

    # a jump of two levels nests one; a first item deeper than 0 is a top-level one
    assert shape(nest([(1, "a"), (0, "b"), (2, "c"), (1, "d"), (0, "e")])) == [
        ("a", []),
        ("b", [("c", []), ("d", [])]),
        ("e", []),
    ]
    parts = blocks("Intro\nx\ny\nOutro", [(0, "x"), (1, "y"), (0, "not in the text")])
    assert [(kind, shape(v) if kind == "ul" else v) for kind, v in parts] == [
        ("p", "Intro"),
        ("ul", [("x", [("y", [])])]),
        ("p", "Outro"),
        ("ul", [("not in the text", [])]),
    ]
    assert blocks("", []) == []


def test_tags_and_categories_link_to_their_facets(edited):
    _, doc = page(edited, ids(edited)["The Post, revised"])
    tags = {
        a.text_content(): a.get("href") for a in doc.xpath(".//ul[contains(@class, 'ta-tags')]//a")
    }
    assert tags == {
        "News": "/edited/article_summary?tags__arraycontains=News",
        "machine learning": "/edited/article_summary?tags__arraycontains=machine+learning",
    }
    categories = doc.xpath(".//ul[contains(@class, 'ta-categories')]//a")
    assert categories[0].get("href") == "/edited/article_summary?categories__arraycontains=Tech"
    # and the facet finds the article
    listed = get(edited, "/article_summary.json?tags__arraycontains=machine+learning&_shape=array")
    assert [r["title"] for r in listed.json()] == ["The Post, revised"]


def test_previous_and_next_under_each_tag(edited):
    found = ids(edited)
    _, doc = page(edited, found["The Post, revised"])
    neighbours = doc.xpath(".//nav[@class='ta-neighbours']/ul/li")
    news = next(li for li in neighbours if li.xpath("bdi")[0].text == "News")
    assert news.xpath("a[@rel='prev']")[0].get("href") == f"/edited/-/article/{found['Before']}"
    assert news.xpath("a[@rel='next']")[0].get("href") == f"/edited/-/article/{found['After']}"
    alone = next(li for li in neighbours if li.xpath("bdi")[0].text == "machine learning")
    assert not alone.xpath("a") and "first under this tag" in text_of(alone)
    _, first = page(edited, found["Before"])
    news = first.xpath(".//nav[@class='ta-neighbours']/ul/li")[0]
    assert "first under this tag" in text_of(news)
    assert news.xpath("a[@rel='next']")[0].get("href").endswith(f"/{found['The Post, revised']}")


def test_history_shows_each_version_and_the_words_that_changed(edited):
    _, doc = page(edited, ids(edited)["The Post, revised"])
    versions = doc.xpath(".//div[@class='ta-version']")
    assert [v.xpath("h3")[0].text for v in versions] == ["Version 2", "Version 1"]
    newest, first = versions
    assert f"First seen {T2}" in text_of(newest) and f"First seen {T1}" in text_of(first)
    assert "The first version archived." in text_of(first) and not first.xpath(".//ins|.//del")
    assert [e.text for e in newest.xpath(".//div[@class='ta-diff']/ins")] == ["revised "]
    title = newest.xpath(".//p/span[@class='ta-diff']")[0]
    assert [e.text for e in title.xpath("del")] == ["Post"]
    assert [e.text for e in title.xpath("ins")] == ["Post, revised"]
    _, before = page(edited, ids(edited)["Before"])
    only = before.xpath(".//div[@class='ta-version']")
    assert len(only) == 1 and "The first version archived." in text_of(only[0])


def test_sources_name_the_live_page_the_capture_and_its_warc_record(edited):
    article_id = ids(edited)["The Post, revised"]
    _, doc = page(edited, article_id)
    sources = doc.xpath(".//section[@class='ta-sources']")[0]
    live = sources.xpath(".//a[@class='ta-live']")[0]
    assert live.get("href") == POST and live.get("rel") == "noopener noreferrer nofollow"
    # the WARC file is missing: the page only names it
    assert "gone.warc.gz at offset 2000" in text_of(sources)
    assert "tag-archiver serve --replay replays it here" in text_of(sources)
    assert not sources.xpath(".//a[@class='ta-archived']")
    _, replayed = page(edited, article_id, replay_url=REPLAY)
    archived = replayed.xpath(".//a[@class='ta-archived']")[0]
    assert archived.get("href") == f"{REPLAY}/20260102030405/{POST}"


def test_datasette_pages_link_titles_to_the_article_page(edited):
    article_id = ids(edited)["The Post, revised"]
    href = f"/edited/-/article/{article_id}"
    for path in ("/articles", f"/articles/{article_id}", "/article_summary", "/takeaways"):
        doc = lxml.html.fromstring(get(edited, path).text)
        links = doc.xpath(f"//td//a[@href='{href}']")
        assert links and links[0].text_content() == "The Post, revised", path


def test_changed_recently_lists_the_latest_change_first(edited):
    # T1 and T2 are fixed dates: 100 000 days back reaches them whatever today is
    found = get(edited, "/changed_recently.json?days=100000&_shape=array").json()
    assert [(r["title"], r["versions"], r["last_change"]) for r in found] == [
        ("The Post, revised", 2, T2),
        ("Before", 1, T1),
        ("After", 1, T1),
    ]
    assert get(edited, "/changed_recently.json?days=0&_shape=array").json() == []
    for days in ("x", "", "1 days', '+1000 years"):  # not a number: nothing, never an error
        response = get(edited, "/changed_recently.json?_shape=array&" + urlencode({"days": days}))
        assert response.status_code == 200 and response.json() == []


def test_unknown_articles_are_a_clear_404(edited):
    for path in ("/-/article/999", "/-/article/abc", "/-/article/99999999999999999999999"):
        response = get(edited, path)
        assert response.status_code == 404, path
        assert "No article" in response.text and "see the articles table" in response.text
    response = get_root(edited, "/nodb/-/article/1")
    assert response.status_code == 404 and "Database not found: nodb" in response.text


def test_an_article_without_sections_or_capture(tmp_path):
    db = tmp_path / "bare.db"
    with Store(db, site=SITE) as store:
        store.save([Observed(article(f"{SITE}bare/", title="Bare", content=None, tags=()))], T1)
    _, doc = page(db, 1)
    assert "No text was archived" in text_of(doc)
    assert "No capture is recorded" in text_of(doc)
    assert not doc.xpath(".//nav[@class='ta-neighbours']")


# --- hostile values -------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LONG = "Long " * 2000  # a 10 000-character heading
RTL = "\u202eevil.exe"
ZERO_WIDTH = "zero\u200bwidth\u200d"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("hostile") / "hostile.db"
    lines = [SCRIPT, IMG, RTL, ZERO_WIDTH]
    body = content(
        section(0, None, None, [*lines, "javascript:alert(1)"]),
        section(1, SCRIPT, 2, lines, [(0, SCRIPT), (1, IMG), (2, RTL), (0, ZERO_WIDTH)]),
        section(2, LONG, 3, ["x"]),
        section(3, IMG, 9, ["y"]),
        images=(Image("javascript:alert(1)", IMG), Image("data:text/html,<script>x</script>", SCRIPT)),
    )  # fmt: skip
    terms = (Term("x", SCRIPT, "javascript:alert(1)"), Term("y", IMG, "data:text/html,x"))
    with Store(db, site=SITE) as store:
        for n, url in enumerate(("javascript:alert(1)//https://b.test/", "data:text/html,<b>x")):
            found = capture(store, 10 + n, url, "2026-01-01T00:00:00Z")
            post = article(
                url, title=f"{SCRIPT}{IMG}{RTL}", author=IMG, tags=terms, categories=terms,
                content=body,
            )  # fmt: skip
            store.save([Observed(post, found)], T1)
            edit = replace(body, text=body.text + f"\n{SCRIPT} added", sha256="edited")
            store.save([Observed(replace(post, title=f"{IMG} v2", content=edit), found)], T2)
    return db


def assert_inert(html: str) -> None:
    """Nothing stored became markup: no raw hostile tag, no script or image in the article,
    no event handler, no link to a javascript: or data: address."""
    assert SCRIPT not in html and "<script>x" not in html
    assert IMG not in html and "<img src=x" not in html
    doc = lxml.html.fromstring(html)
    assert not doc.xpath("//article//script|//article//img|//article//iframe")
    assert not doc.xpath("//@*[starts-with(name(), 'on')]")
    for href in doc.xpath("//@href|//@src"):
        assert not href.strip().lower().startswith(("javascript:", "data:")), href


@pytest.mark.parametrize("article_id", [1, 2])
def test_hostile_values_are_text(hostile, article_id):
    html, doc = page(hostile, article_id, replay_url=REPLAY)
    assert_inert(html)
    assert doc.xpath("h1")[0].text == f"{IMG} v2"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    headings = doc.xpath(".//div[@class='ta-content']//*[self::h2 or self::h3 or self::h6]")
    assert [(h.tag, h.text) for h in headings] == [("h2", SCRIPT), ("h3", LONG), ("h6", IMG)]
    items = [li.text for li in doc.xpath(".//ul[@class='ta-items']//li")]
    assert items == [SCRIPT, IMG, RTL, ZERO_WIDTH]
    assert "javascript:alert(1)" in text_of(doc)  # shown, never a link
    assert not doc.xpath(".//a[@class='ta-live' or @class='ta-archived']")
    assert "not an http(s) address" in text_of(doc)
    diff = doc.xpath(".//div[@class='ta-diff']/ins")
    assert [e.text for e in diff] == [f"\n{SCRIPT} added"]


def test_hostile_values_stay_text_on_datasette_pages(hostile):
    for path in ("/articles", "/articles/1", "/article_summary", "/takeaways", "/images"):
        assert_inert(get(hostile, path, replay_url=REPLAY).text)


# --- in a browser ---------------------------------------------------------------------------


def test_article_page_in_the_browser(browser, served, crawled, tmp_path):
    article_id = ids(crawled)["Deeply Nested Questions and Answers"]
    url = f"{served}/-/article/{article_id}"
    doc = lxml.html.fromstring(chromium(browser, tmp_path, "--dump-dom", url))
    article_part = doc.xpath("//article")[0]
    assert "The Big Questions Raised—and Answered" in [h.text for h in article_part.xpath(".//h2")]
    questions = article_part.xpath(".//section[h2='The Big Questions Raised—and Answered']/ul")[0]
    assert [li.text for li in questions.xpath("li")] == [
        "Will agents replace apps?",
        "Who is liable when an agent errs?",
    ]
    assert questions.xpath("li[1]/ul/li/ul/li")[0].text == "Caveat: Except for simple forms."
    shot = screenshot(browser, tmp_path, url, "article-page.png", 1600)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


# Each would, if it ran, set data-ran on <html>: an attribute no escaped text can spell.
RUNS = "document.documentElement.setAttribute('data-'+'ran','yes')"


def test_a_hostile_article_runs_no_script_in_the_browser(browser, tmp_path):
    db = tmp_path / "runs.db"
    title = f'<script>{RUNS}</script><img src=x onerror="{RUNS}">'
    with Store(db, site=SITE) as store:
        heading = Section(0, f'<svg onload="{RUNS}">', 2, title, items((0, title)))
        post = article(f"{SITE}runs/", title=title, author=title, content=content(heading))
        store.save([Observed(post)], T1)
    # The check can see a script run: the same browser, the same marker, a page with a script.
    control = chromium(browser, tmp_path, "--dump-dom", f"data:text/html,<script>{RUNS}</script>")
    assert 'data-ran="yes"' in control
    with serving(db) as base:
        dom = chromium(browser, tmp_path, "--dump-dom", f"{base}/-/article/1")
    assert "data-ran" not in dom
    assert "&lt;script&gt;" in dom and title in lxml.html.fromstring(dom).xpath("//h1")[0].text


def test_an_edited_articles_history_in_the_browser(browser, tmp_path):
    """Two versions of one post: the page shows both, newest first, and the words that
    changed between them as a diff a reader sees (struck out, underlined)."""
    db = tmp_path / "edited.db"
    with Store(db, site="http://b.test/") as store:
        first = "Scaling laws hold for now.\nCompute keeps growing."
        second = "Scaling laws still hold today.\nCompute keeps growing."
        store.save([Observed(article("http://b.test/edited/", text=first))], T1)
        store.save([Observed(article("http://b.test/edited/", text=second))], T2)
    with serving(db) as base:
        url = f"{base}/-/article/1"
        doc = lxml.html.fromstring(chromium(browser, tmp_path, "--dump-dom", url))
        shot = screenshot(browser, tmp_path, f"{url}#version-2", "article-history.png")
    history = doc.xpath("//section[@class='ta-history']")[0]
    assert [h.text for h in history.xpath(".//h3")] == ["Version 2", "Version 1"]
    newest = history.xpath(".//div[@id='version-2']")[0]
    assert [d.text_content().strip() for d in newest.xpath(".//del")] == ["for now."]
    assert [i.text_content().strip() for i in newest.xpath(".//ins")] == ["still", "today."]
    assert (
        "The first version archived." in history.xpath(".//div[@id='version-1']")[0].text_content()
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
