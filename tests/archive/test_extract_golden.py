"""Extraction on both theme families against golden records from the captured test bed."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict
from pathlib import Path

import pytest

from archive.extract import extract_page
from archive.records import PageKind
from crawler.snapshot import SNAPSHOT_ORIGIN
from tests.helpers import THEMES, VARIANTS, html_pages, to_json

GOLDEN = Path(__file__).parent / "golden" / "extract"


def golden_name(path: str) -> str:
    """A file name for the page at `path`; plain-permalink query URLs keep a mark of it."""
    name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "front-page"
    return ("query-" if "?" in path else "") + name + ".json"


def readable(page) -> dict:
    """The page record, with each content's HTML replaced by its hash to keep diffs short."""
    data = asdict(page)
    for article in data["articles"]:
        if article["content"]:
            html = article["content"].pop("html")
            article["content"]["html_sha256"] = hashlib.sha256(html.encode()).hexdigest()
    return data


def _cases() -> list[tuple]:
    """Every captured HTML page of every site, once per golden file (a capture may hold one
    page under two spellings of its URL: upper and lower case percent escapes)."""
    cases, names = [], set()
    for theme in (*THEMES, *VARIANTS):
        for page in html_pages(theme):
            if (theme, golden_name(page[0])) not in names:
                names.add((theme, golden_name(page[0])))
                cases.append((theme, *page))
    return cases


CASES = _cases()


@pytest.mark.parametrize(
    ("theme", "path", "headers", "body"), CASES, ids=[f"{c[0]}{c[1]}" for c in CASES]
)
def test_extraction_matches_golden(theme, path, headers, body, golden):
    page = extract_page(SNAPSHOT_ORIGIN + path, headers, body)
    golden(GOLDEN / theme / golden_name(path), to_json(readable(page)))


@pytest.mark.parametrize("theme", THEMES)
def test_both_themes_give_the_same_articles(theme):
    """The block and the classic rendering of one post extract to the same words and sections."""
    singles = {}
    for path, headers, body in html_pages(theme):
        page = extract_page(SNAPSHOT_ORIGIN + path, headers, body)
        if page.kind is PageKind.SINGLE and page.articles:
            (article,) = page.articles
            singles[article.url] = (article.title, article.content.sha256, article.content.sections)
    other = "classic" if theme == "block" else "block"
    for path, headers, body in html_pages(other):
        page = extract_page(SNAPSHOT_ORIGIN + path, headers, body)
        if page.kind is PageKind.SINGLE and page.articles:
            (article,) = page.articles
            assert singles[article.url] == (
                article.title,
                article.content.sha256,
                article.content.sections,
            )
    assert len(singles) == 16


@pytest.mark.parametrize("theme", THEMES)
def test_archive_block_and_single_page_agree(theme):
    """An article's block on a tag page carries the same content as its own page."""
    blocks, singles = {}, {}
    for path, headers, body in html_pages(theme):
        page = extract_page(SNAPSHOT_ORIGIN + path, headers, body)
        target = blocks if page.kind is PageKind.TAG_ARCHIVE else singles
        for article in page.articles:
            target[article.url] = article.content.sha256
    assert blocks and blocks.keys() == singles.keys()
    assert blocks == singles


def test_seed_article_sections_and_takeaways():
    """The pjfp.com seed article as the block theme renders it on the AI scaling tag page."""
    (path, headers, body) = next(p for p in html_pages("block") if p[0] == "/tag/ai-scaling/")
    page = extract_page(SNAPSHOT_ORIGIN + path, headers, body)
    assert page.tag.slug == "ai-scaling" and page.tag.name == "AI scaling"
    (article,) = page.articles
    assert article.title.startswith("Andrej Karpathy on the Decade of AI Agents")
    assert {t.slug for t in article.tags} == {"ai-scaling", "scaling-laws"}
    sections = article.content.sections
    assert [s.heading for s in sections] == ["TL;DR", "Summary", "Key Takeaways", "Discussion"]
    takeaways = sections[2].items
    assert len(takeaways) == 7
    assert takeaways[0].text.startswith("AI progress is exponential: Breakthroughs")
    assert all(item.depth == 0 for item in takeaways)
    assert sections[1].text.count("\n") == 3  # four paragraphs


def test_nested_questions_keep_their_depth():
    (path, headers, body) = next(p for p in html_pages("classic") if p[0] == "/tag/scaling-laws/")
    page = extract_page(SNAPSHOT_ORIGIN + path, headers, body)
    ross = next(a for a in page.articles if a.title.startswith("The AI Revolution Unveiled"))
    questions = next(s for s in ross.content.sections if s.heading.startswith("The Big Questions"))
    depths = [item.depth for item in questions.items]
    assert depths == [0, 1] * 8
    assert questions.items[1].text.startswith("Answer: Ross champions prompt engineering")
