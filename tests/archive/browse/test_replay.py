"""`tag-archiver serve --replay`: pywb started with the browser, one click from a page to its
archived capture; and what the pages say when replay cannot run."""

from __future__ import annotations

import re
import urllib.request
from html import unescape

import pytest

from archive.browse.replay import DEVELOPMENT_PYWB, ReplayError, find_wayback, pywb_replay
from tests.archive.browse import test_browser

# test_browser's Chromium (a fixture here too), its screenshots, its server
browser = test_browser.browser
chromium, screenshot, serving = test_browser.chromium, test_browser.screenshot, test_browser.serving

ARCHIVED_LINK = re.compile(r'class="ta-archived" href="([^"]+)"')


def archived_links(dom: str) -> list[str]:
    return [unescape(href) for href in ARCHIVED_LINK.findall(dom)]


def test_one_click_reaches_the_archived_tag_page_and_article(browser, crawled, tmp_path):
    with serving(crawled, "--replay") as base:
        article = chromium(browser, tmp_path, "--dump-dom", f"{base}/-/article/1")
        title = re.search(r"<h1[^>]*>(.*?)</h1>", article, re.S).group(1).strip()
        [capture] = archived_links(article)
        replayed = chromium(browser, tmp_path, "--virtual-time-budget=5000", "--dump-dom", capture)
        # the archived page as it was: its title may space words as the stored one does not
        assert " ".join(unescape(title).split()) in " ".join(unescape(replayed).split())
        tags = chromium(browser, tmp_path, "--dump-dom", f"{base}/tags?_sort=id")
        tag_capture = archived_links(tags)[0]
        assert "/tag/" in tag_capture
        tag_page = chromium(
            browser, tmp_path, "--virtual-time-budget=5000", "--dump-dom", tag_capture
        )
        assert "Tag:" in tag_page or "tag-" in tag_page
        shot = screenshot(
            browser, tmp_path, capture, "replayed-article.png", 900, "--virtual-time-budget=5000"
        )
    assert shot.stat().st_size > 10_000


def test_a_replay_that_cannot_start_is_said_on_the_page(crawled, tmp_path, monkeypatch):
    monkeypatch.setenv("TAG_ARCHIVER_PYWB", str(tmp_path / "no-pywb-here"))
    with serving(crawled, "--replay") as base:
        page = urllib.request.urlopen(f"{base}/-/article/1", timeout=10).read().decode()
    assert "replay is unavailable: no pywb wayback program at" in unescape(page)
    assert "pipx install pywb" in page


def test_without_replay_the_page_says_how_to_have_it(crawled):
    with serving(crawled) as base:
        page = urllib.request.urlopen(f"{base}/-/article/1", timeout=10).read().decode()
    assert "tag-archiver serve --replay" in page
    assert not archived_links(page)


def test_pywb_is_found_by_its_environment_or_named_clearly(tmp_path):
    if not (DEVELOPMENT_PYWB / "wayback").is_file():
        pytest.fail("tests/setup.sh installs pywb in .tools/pywb")
    assert find_wayback(str(DEVELOPMENT_PYWB.parent)) == DEVELOPMENT_PYWB / "wayback"
    assert find_wayback(str(DEVELOPMENT_PYWB)) == DEVELOPMENT_PYWB / "wayback"
    with pytest.raises(ReplayError, match=r"no pywb wayback program at .*pipx install pywb"):
        find_wayback(str(tmp_path))


def test_nothing_to_replay_is_an_error_not_a_silent_empty_server(tmp_path):
    with (
        pytest.raises(ReplayError, match="no finished WARC files under"),
        pywb_replay(tmp_path, DEVELOPMENT_PYWB / "wayback"),
    ):
        pass
