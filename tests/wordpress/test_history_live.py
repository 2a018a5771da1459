"""The reading view's history of a post edited on a live WordPress (the scratch site): crawled,
retitled through WordPress's own functions, crawled again, then opened in Chromium."""

from __future__ import annotations

import sqlite3

import lxml.html
import pytest

from tests.archive.browse import test_browser
from tests.helpers import run_cli
from tests.wordpress.conftest import mutate

pytestmark = pytest.mark.wordpress

# test_browser's Chromium (a fixture here too), its screenshots, its server
browser = test_browser.browser
chromium, screenshot, serving = test_browser.chromium, test_browser.screenshot, test_browser.serving
HISTORY_4 = 17  # its post id on a freshly built test bed (populate.php inserts posts in order)


def test_a_post_retitled_on_the_site_shows_its_history(scratch, browser, tmp_path):
    db = tmp_path / "scratch.db"
    crawl = ("crawl", scratch, "--db", str(db), "--delay", "0", "--tag", "history")
    first = run_cli(*crawl)
    assert first.returncode == 0, first.stdout + first.stderr
    mutate("set-title", str(HISTORY_4), "History Notes, Part 4 (revised)")
    again = run_cli(*crawl, "--full")  # the post is on an older page than an incremental run walks
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 changed" in again.stdout
    conn = sqlite3.connect(db)
    # each version names the capture that shows it: the new title, the second run's page
    versions = conn.execute(
        "SELECT v.title, c.run_id FROM article_versions v JOIN captures c ON c.id = v.capture_id "
        "JOIN articles a ON a.id = v.article_id WHERE a.wp_post_id = ? ORDER BY v.id",
        [HISTORY_4],
    ).fetchall()
    assert versions == [("History Notes, Part 4", 1), ("History Notes, Part 4 (revised)", 2)]
    (article_id,) = conn.execute(
        "SELECT id FROM articles WHERE wp_post_id = ?", [HISTORY_4]
    ).fetchone()
    conn.close()
    with serving(db) as base:
        url = f"{base}/-/article/{article_id}"
        doc = lxml.html.fromstring(chromium(browser, tmp_path, "--dump-dom", url))
        shot = screenshot(browser, tmp_path, url, "article-history-testbed.png", 1600)
    assert doc.xpath("//h1")[0].text_content().strip() == "History Notes, Part 4 (revised)"
    history = doc.xpath("//section[@class='ta-history']")[0]
    assert [h.text for h in history.xpath(".//h3")] == ["Version 2", "Version 1"]
    newest = history.xpath(".//div[@id='version-2']")[0]
    assert [i.text_content().strip() for i in newest.xpath(".//ins")] == ["(revised)"]
    assert (
        "The first version archived." in history.xpath(".//div[@id='version-1']")[0].text_content()
    )
    assert shot.stat().st_size > 20_000
