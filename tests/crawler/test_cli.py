"""The CLI in process, through click's CliRunner, for the commands that need no server.

Commands that crawl (crawl, verify, demo) run in a subprocess elsewhere: Twisted's reactor
starts once per process.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from archive.records import Observed, Term
from archive.store import Store
from archive.warc.exchange import Exchange
from archive.warc.files import WarcFileWriter
from crawler.cli import main
from tests.helpers import T1, T2, article

VIEWS = Term("views", "Views", "http://b.test/tag/views/")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_has_help(name):
    """--help works without a server or a database, and says what the docstring says."""
    command = main.commands[name]
    result = invoke(name, "--help")
    assert result.exit_code == 0, result.output
    assert command.help and command.help.strip()
    summary = command.help.strip().splitlines()[0]
    assert " ".join(summary.split()) in " ".join(result.output.split())
    for param in command.params:  # every option is listed, whether it has help text or not
        if isinstance(param, click.Option) and not param.hidden:
            assert param.opts[-1] in result.output


def test_the_group_lists_every_command():
    result = invoke("--help")
    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:")[1].split()
    assert set(main.commands) <= set(listed)


@pytest.fixture
def archive_db(tmp_path) -> Path:
    """Two articles (one under news, one under views) and two runs: one finished, one running."""
    db = tmp_path / "a.db"
    with Store(db) as store:
        store.save(
            [
                Observed(article(url="http://b.test/alpha/", title="Alpha", text="First words.")),
                Observed(article(url="http://b.test/beta/", title="Beta", tags=(VIEWS,))),
            ],
            T1,
        )
        first = store.start_run(started_at=T1, site="http://b.test/", software_version="t")
        store.finish_run(
            first, finished_at=T1, status="finished", pages_fetched=4, articles_new=2, errors=1
        )
        store.start_run(started_at=T2, site="http://b.test/", software_version="t")
    return db


def test_runs_lists_the_newest_first(archive_db):
    result = invoke("runs", "--db", str(archive_db))
    assert result.exit_code == 0, result.output
    header, *lines = result.output.splitlines()
    assert header.split()[:3] == ["run", "started", "status"]
    assert [line.split() for line in lines] == [
        ["2", T2, "running", "0", "0", "0", "0", "0"],
        ["1", T1, "finished", "4", "2", "0", "0", "1"],
    ]


def test_runs_limit(archive_db):
    result = invoke("runs", "--db", str(archive_db), "--limit", "1")
    assert result.exit_code == 0, result.output
    assert [line.split()[0] for line in result.output.splitlines()[1:]] == ["2"]


@pytest.mark.parametrize("command", ["runs", "export"])
def test_a_missing_database_is_a_one_line_error(tmp_path, command):
    missing = tmp_path / "none.db"
    result = invoke(command, "--db", str(missing))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: no database at {missing}: crawl first")
    assert not missing.exists()  # reading never creates one


def test_export_writes_one_json_line_per_article(archive_db):
    result = invoke("export", "--db", str(archive_db))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["url"], r["title"], r["tags"]) for r in records] == [
        ("http://b.test/alpha/", "Alpha", ["News"]),
        ("http://b.test/beta/", "Beta", ["Views"]),
    ]
    assert records[0]["content_text"] == "First words."
    assert records[0]["sections"][0]["heading"] == "TL;DR"
    assert result.stderr == "2 articles exported\n"  # the count never mixes with the data


@pytest.mark.parametrize("tag", ["views", "Views"])
def test_export_csv_of_one_tag_by_slug_or_name(archive_db, tmp_path, tag):
    out = tmp_path / "out.csv"
    result = invoke(
        "export", "--db", str(archive_db), "--format", "csv", "--tag", tag, "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    (row,) = csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))
    assert (row["url"], row["tags"]) == ("http://b.test/beta/", "Views")
    assert json.loads(row["sections"])[0]["heading"] == "TL;DR"
    assert result.stdout == ""
    assert result.stderr == "1 articles exported\n"


def exchange(n: int) -> Exchange:
    return Exchange(
        url=f"http://b.test/p/{n}/",
        method="GET",
        request_headers=(("User-Agent", "tag-archiver/test"),),
        status=200,
        response_headers=(("Content-Type", "text/html; charset=UTF-8"),),
        body=b"<html><body>post</body></html>",
        started=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        ip_address="127.0.0.1",
    )


def test_warc_repair_cuts_a_crashed_file_back_and_closes_it(tmp_path):
    warc_dir = tmp_path / "w"
    writer = WarcFileWriter(warc_dir, warcinfo={"software": "test"})
    for n in range(2):
        writer.write(exchange(n))
    writer.close()
    (closed,) = warc_dir.iterdir()
    whole = closed.read_bytes()
    # What a crash mid-write leaves: the file still named .open, its last record cut short.
    cut = gzip.compress(b"WARC/1.1\r\n" + os.urandom(4000))[:100]
    crashed = closed.with_name(closed.name + ".open")
    closed.rename(crashed)
    crashed.write_bytes(whole + cut)

    result = invoke("warc-repair", str(warc_dir))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{closed.name}: kept {len(whole)} bytes, cut 100",
        f"1 file(s) repaired in {warc_dir}",
    ]
    assert [p.name for p in warc_dir.iterdir()] == [closed.name]
    assert closed.read_bytes() == whole

    again = invoke("warc-repair", str(warc_dir))  # nothing left open: nothing to do
    assert again.output == f"0 file(s) repaired in {warc_dir}\n"


def test_warc_repair_refuses_a_missing_directory(tmp_path):
    result = invoke("warc-repair", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "does not exist" in result.output
