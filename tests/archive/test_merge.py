"""Merging shards: real crawls of two loopback sites, each into its own shard, folded into
one database that must hold exactly what the shards hold."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from archive.merge import MergeError, merge
from archive.shards import Shard, site_key
from crawler.snapshot import serve_snapshot
from tests.archive_view import articles_view
from tests.helpers import ROOT, check_database, check_provenance, crawl_or_fail, dump, rows, run_cli

BLOCK = ROOT / "tests/fixtures/wordpress/block"


@pytest.fixture(scope="module")
def sites():
    with serve_snapshot() as demo, serve_snapshot(BLOCK) as block:
        yield {"demo": f"{demo.origin}/", "block": f"{block.origin}/"}


def crawl_shard(origin: str, shard: Shard, *args: str) -> None:
    shard.directory.mkdir(parents=True, exist_ok=True)
    crawl_or_fail(origin, shard.db, "--warc-dir", str(shard.warc_dir), *args)


@pytest.fixture
def shards(sites, tmp_path) -> dict[str, Shard]:
    made = {
        "demo": Shard(tmp_path / "shards" / "demo"),
        "block": Shard(tmp_path / "shards" / "block"),
    }
    crawl_shard(sites["demo"], made["demo"], "--tag", "ai-scaling", "--tag", "scaling-laws")
    crawl_shard(sites["block"], made["block"], "--all-tags")
    return made


def merged(db: Path, *paths: Path) -> list:
    return list(merge(db, list(paths)))


def test_the_merged_database_holds_what_each_shard_holds(sites, shards, tmp_path):
    corpus = tmp_path / "corpus.db"
    results = merged(corpus, tmp_path / "shards")  # a directory of shards
    assert sorted(r.runs for r in results) == [1, 1]
    for name, shard in shards.items():
        # the same rows, down to the WARC record each article was read from
        assert articles_view(corpus, sites[name]) == articles_view(shard.db)
        assert rows(corpus, "SELECT count(*) FROM captures c JOIN sites s ON s.id = c.site_id "
                    "WHERE s.url = ?", sites[name]) == rows(shard.db, "SELECT count(*) FROM captures")  # fmt: skip
    check_database(corpus)
    check_provenance(corpus)  # every capture resolves to its whole record under the WARC root
    files = rows(corpus, "SELECT DISTINCT warc_file FROM captures")
    assert {name.split("/")[0] for (name,) in files} == {site_key(u) for u in sites.values()}
    assert rows(corpus, "SELECT url, articles, runs FROM site_stats ORDER BY url") == sorted(
        [(sites["demo"], 3, 1), (sites["block"], 16, 1)]
    )


def test_merging_again_adds_nothing_and_the_next_crawl_adds_its_run(sites, shards, tmp_path):
    corpus = tmp_path / "corpus.db"
    merged(corpus, shards["demo"].directory, shards["block"].directory)
    before = dump(corpus, ignore=())
    again = merged(corpus, shards["demo"].directory, shards["block"].directory)
    assert [(r.runs, r.already) for r in again] == [(0, 1), (0, 1)]
    assert dump(corpus, ignore=()) == before

    # The site's next, incremental crawl: revisits of the first run's captures.
    crawl_shard(sites["demo"], shards["demo"], "--tag", "ai-scaling", "--tag", "scaling-laws")
    [result] = merged(corpus, shards["demo"].directory)
    assert (result.runs, result.already) == (1, 1)
    assert articles_view(corpus, sites["demo"]) == articles_view(shards["demo"].db)
    revisits = (
        "SELECT count(*) FROM captures c JOIN sites s ON s.id = c.site_id "
        "WHERE c.revisit_of IS NOT NULL AND s.url = ?"
    )
    assert (
        rows(corpus, revisits, sites["demo"])
        == rows(shards["demo"].db, revisits, sites["demo"])
        != [(0,)]
    )
    check_provenance(corpus)
    check_database(corpus)


def test_a_shard_from_a_newer_schema_is_refused(shards, tmp_path):
    newer = tmp_path / "newer"
    shutil.copytree(shards["demo"].directory, newer)
    conn = sqlite3.connect(newer / "archive.db")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(MergeError, match=r"newer.*schema version 99|schema version 99.*newer"):
        merged(tmp_path / "corpus.db", newer)


def test_shards_that_disagree_about_a_capture_merge_nothing(shards, tmp_path):
    corpus = tmp_path / "corpus.db"
    merged(corpus, shards["demo"].directory)
    before = dump(corpus, ignore=())
    files_before = sorted(p for p in (tmp_path / "corpus-warc").rglob("*") if p.is_file())
    other = tmp_path / "other"
    shutil.copytree(shards["demo"].directory, other)
    conn = sqlite3.connect(other / "archive.db")
    with conn:  # another run, as the merge sees it, claiming a record with other content
        conn.execute("UPDATE runs SET uuid = 'another'")
        conn.execute("UPDATE captures SET payload_digest = 'sha1:X' WHERE id = 2")
    conn.close()
    with pytest.raises(MergeError, match="disagree") as raised:
        merged(corpus, other)
    assert str(other) in str(raised.value)
    assert dump(corpus, ignore=()) == before
    assert sorted(p for p in (tmp_path / "corpus-warc").rglob("*") if p.is_file()) == files_before


def test_a_warc_file_already_there_with_other_bytes_merges_nothing(sites, shards, tmp_path):
    corpus = tmp_path / "corpus.db"
    merged(corpus, shards["block"].directory)
    before = dump(corpus, ignore=())
    name = min(p.name for p in shards["demo"].warc_dir.glob("*.warc.gz"))
    squatter = tmp_path / "corpus-warc" / site_key(sites["demo"]) / name
    squatter.parent.mkdir(parents=True)
    squatter.write_bytes(b"not the shard's file")
    with pytest.raises(MergeError, match="other content"):
        merged(corpus, shards["demo"].directory)
    assert dump(corpus, ignore=()) == before
    assert squatter.read_bytes() == b"not the shard's file"


def test_the_merge_command(shards, tmp_path):
    corpus = tmp_path / "corpus.db"
    result = run_cli("merge", "--db", str(corpus), str(tmp_path / "shards"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("1 run(s) merged") == 2
    # A worker with no site yet, and one killed as its crawl began (an empty database).
    idle = tmp_path / "idle"
    idle.mkdir()
    killed = tmp_path / "killed"
    (killed / "127.0.0.1-9").mkdir(parents=True)
    (killed / "127.0.0.1-9" / "archive.db").touch()
    result = run_cli("merge", "--db", str(corpus), str(idle), str(killed))
    assert result.returncode == 0, result.stderr
    assert "nothing merged" in result.stdout
    broken = tmp_path / "broken" / "archive.db"
    broken.parent.mkdir()
    broken.write_bytes(b"not a database at all")
    result = run_cli("merge", "--db", str(corpus), str(broken.parent))
    assert result.returncode == 1
    assert f"{broken}: not a readable SQLite database" in result.stderr
    assert "Traceback" not in result.stderr
