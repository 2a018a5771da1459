"""metadata.yml and datasette.yaml: metadata apart from configuration, as Datasette 1.0 takes
them, and both reaching Datasette on 0.65 (this environment) and on the newest 1.0
pre-release (a virtual environment of its own)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from datasette.app import DEFAULT_SETTINGS

from archive.browse import CONFIG, DATABASE_KEY, METADATA, make_datasette, plugin
from archive.records import Observed, Term
from archive.store import Store
from tests.helpers import ROOT, T1, article

# What each level of metadata.yml may hold: what things are, their source and licence.
DESCRIPTIVE = {
    "title",
    "description",
    "description_html",
    "license",
    "license_url",
    "source",
    "source_url",
    "about",
    "about_url",
}
# What each level of datasette.yaml may hold (Datasette 1.0's configuration); the table
# keys are those 1.0 moves out of metadata by itself (datasette.utils._table_config_keys).
PERMISSIONS = {"allow", "allow_sql", "permissions", "plugins"}
CONFIG_INSTANCE = {"settings", "databases"} | PERMISSIONS
CONFIG_DATABASE = {"tables", "queries"} | PERMISSIONS
CONFIG_TABLE = {
    "hidden",
    "sort",
    "sort_desc",
    "size",
    "sortable_columns",
    "label_column",
    "facets",
    "fts_table",
    "fts_pk",
    "searchmode",
} | PERMISSIONS

# The newest pre-release is installed here once and upgraded on each run.
NEXT_VENV = ROOT / ".tools" / "datasette-next"
# Datasette 1.0 pre-release sub-checks that fail for a reason reported and not yet fixed:
# name -> (the text its error holds, why). None today (1.0a41): the plugins' permission
# checks go through archive/browse/permissions.py, which speaks both APIs.
KNOWN_INCOMPATIBLE: dict[str, tuple[str, str]] = {}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def small_archive(db: Path) -> Path:
    """Two articles, one of them under the tag "AI scaling" and about scaling."""
    store = Store(db)
    scaling = article(
        url="http://b.test/scaling/",
        title="Scaling laws",
        text="Scaling is compounding.",
        tags=(Term("ai-scaling", "AI scaling", "http://b.test/tag/ai-scaling/"),),
    )
    store.save([Observed(scaling), Observed(article(url="http://b.test/b/", title="B"))], T1)
    store.close()
    return db


# --- the split ------------------------------------------------------------------------------


def test_metadata_holds_no_configuration():
    metadata = load(METADATA)
    assert set(metadata) <= DESCRIPTIVE | {"databases"}
    assert set(metadata["databases"]) == {DATABASE_KEY}
    database = metadata["databases"][DATABASE_KEY]
    assert set(database) <= DESCRIPTIVE | {"tables"}
    for name, table in database["tables"].items():
        assert set(table) <= DESCRIPTIVE | {"columns"}, name
        assert all(isinstance(text, str) for text in table.get("columns", {}).values()), name


def test_configuration_holds_no_metadata():
    config = load(CONFIG)
    assert set(config) <= CONFIG_INSTANCE
    assert set(config["databases"]) == {DATABASE_KEY}
    database = config["databases"][DATABASE_KEY]
    assert set(database) <= CONFIG_DATABASE
    for name, table in database["tables"].items():
        assert set(table) <= CONFIG_TABLE, name
    # A canned query's title and description belong to its definition, in either version.
    for name, query in database["queries"].items():
        assert set(query) <= {"sql", "title", "description", "description_html"}, name


def test_settings_are_datasettes_own_and_leave_allow_download_to_the_file():
    settings = load(CONFIG)["settings"]
    assert "allow_download" not in settings  # set per database file, by its size
    for key, value in settings.items():
        assert type(value) is type(DEFAULT_SETTINGS[key]), key


def test_no_table_is_configured_without_being_described():
    described = load(METADATA)["databases"][DATABASE_KEY]["tables"]
    configured = load(CONFIG)["databases"][DATABASE_KEY]["tables"]
    assert set(configured) <= set(described)


# --- on Datasette 0.65 (this environment) ---------------------------------------------------


def test_every_description_setting_and_query_reaches_datasette(tmp_path):
    db = small_archive(tmp_path / "mine.db")
    datasette = make_datasette(db, replay_url="http://127.0.0.1:9/coll")
    metadata = load(METADATA)
    config = load(CONFIG)
    assert datasette.metadata("title") == metadata["title"]
    assert datasette.metadata("license") == metadata["license"]
    for name, table in metadata["databases"][DATABASE_KEY]["tables"].items():
        got = datasette.metadata(database=db.stem, table=name)
        assert got["description"] == table["description"], name
        assert got.get("columns", {}) == table.get("columns", {}), name
    for name, table in config["databases"][DATABASE_KEY]["tables"].items():
        got = datasette.table_metadata(db.stem, name)
        assert {key: got.get(key) for key in table} == table, name
    queries = asyncio.run(datasette.get_canned_queries(db.stem, None))
    for name, query in config["databases"][DATABASE_KEY]["queries"].items():
        assert {key: queries[name][key] for key in query} == query, name
    for key, value in config["settings"].items():
        assert datasette.setting(key) == value, key
    assert datasette.setting("allow_download") is True  # a small file
    assert datasette.plugin_config(plugin.NAME) == {"replay_url": "http://127.0.0.1:9/coll"}


# --- on the newest Datasette 1.0 pre-release ------------------------------------------------

# Run by the virtual environment's Python with the repository on its path: builds the server
# as `tag-archiver serve` does and prints {"version", "split", "checks": {name: {ok, error}}}.
CHECKS = r"""
import asyncio, html, inspect, json, re, sys, traceback
from pathlib import Path

import datasette, yaml
from datasette.app import Datasette

from archive.browse import CONFIG, DATABASE_KEY, METADATA, make_datasette, plugin

db = Path(sys.argv[1])
metadata = yaml.safe_load(METADATA.read_text(encoding="utf-8"))
config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
checks = {}


def error_of(response):
    found = re.search(r"<h1>Error \d+</h1>\s*<div[^>]*>(.*?)</div>", response.text, re.S)
    text = html.unescape(found.group(1)) if found else response.text[:300]
    return f"{response.status_code}: {text.strip()}"


async def check(name, step):
    try:
        error = await step()
    except Exception:
        error = traceback.format_exc(limit=-3)
    checks[name] = {"ok": error is None, "error": error}


def page(path, *texts):
    async def step():
        response = await ds.client.get(path)
        if response.status_code != 200:
            return error_of(response)
        missing = [t for t in texts if t not in response.text]
        return f"{path} lacks {missing}" if missing else None

    return step


async def described():
    if (await ds.get_instance_metadata()).get("title") != metadata["title"]:
        return "instance title"
    for name, table in metadata["databases"][DATABASE_KEY]["tables"].items():
        got = await ds.get_resource_metadata(db.stem, name)
        if got.get("description") != table["description"]:
            return f"{name}: {got}"
        for column, text in table.get("columns", {}).items():
            if (await ds.get_column_metadata(db.stem, name, column)).get("description") != text:
                return f"{name}.{column}"


async def configured():
    for name, table in config["databases"][DATABASE_KEY]["tables"].items():
        got = await ds.table_config(db.stem, name)
        if {key: got.get(key) for key in table} != table:
            return f"{name}: {got}"
    for key, value in config["settings"].items():
        if ds.setting(key) != value:
            return f"setting {key}: {ds.setting(key)}"
    if ds.plugin_config(plugin.NAME) != {"replay_url": "http://127.0.0.1:9/coll"}:
        return f"plugin config: {ds.plugin_config(plugin.NAME)}"


async def facets():
    response = await ds.client.get(f"/{db.stem}/article_summary.json?_extra=facet_results")
    if response.status_code != 200:
        return error_of(response)
    results = response.json()["facet_results"]["results"]
    tags = {row["value"] for row in results.get("tags", {}).get("results", [])}
    if not {"site", "author", "year", "categories"} <= set(results) or "AI scaling" not in tags:
        return f"facets: {sorted(results)}, tags {sorted(tags)}"


async def search():
    response = await ds.client.get(f"/{db.stem}/search_articles.json?q=scaling&site=")
    if response.status_code != 200:
        return error_of(response)
    rows = response.json()["rows"]
    if [r["title"] for r in rows] != ["Scaling laws"] or "[" not in rows[0]["snippet"]:
        return f"rows: {rows}"


async def every_query():
    for name in config["databases"][DATABASE_KEY]["queries"]:
        path = f"/{db.stem}/{name}.json?q=x&tag=x&phrase=x&site=x&days=30"
        response = await ds.client.get(path)
        if response.status_code != 200:
            return f"{name}: {error_of(response)}"


async def main():
    global ds
    ds = make_datasette(db, replay_url="http://127.0.0.1:9/coll")
    await ds.invoke_startup()
    summary = metadata["databases"][DATABASE_KEY]["tables"]["article_summary"]["description"]
    await check("descriptions", described)
    await check("table configuration and settings", configured)
    await check("facets (JSON)", facets)
    await check("canned query (JSON)", search)
    await check("every canned query (JSON)", every_query)
    # 1.0 lists a database's first five queries on its page, and all of them at /-/queries
    await check("database page", page(f"/{db.stem}", "article_summary", "Queries"))
    await check("queries page", page(f"/{db.stem}/-/queries", "search_articles", "sites_compared"))
    await check("table page", page(f"/{db.stem}/article_summary", html.escape(summary), "tags (array)"))
    await check("canned query page", page(f"/{db.stem}/search_articles?q=scaling&site=", "Scaling laws"))
    await check("article page", page(f"/{db.stem}/-/article/1", "Scaling laws"))
    await check("charts page", page("/-/tag-archiver/charts", "articles-per-month"))
    split = "config" in inspect.signature(Datasette.__init__).parameters
    print(json.dumps({"version": datasette.__version__, "split": split, "checks": checks}))


asyncio.run(main())
"""


def next_datasette() -> Path:
    """The Python of NEXT_VENV, holding the newest Datasette pre-release (>= 1.0a0) and
    what archive.browse imports beside it; the repository itself comes on PYTHONPATH."""
    python = NEXT_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(NEXT_VENV)], check=True)
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    result = subprocess.run(
        [*install, "--pre", "--upgrade", "datasette>=1.0a0", "pyyaml", "markupsafe"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return python


@pytest.mark.datasette_prerelease
def test_newest_datasette_prerelease_serves_the_archive(tmp_path):
    db = small_archive(tmp_path / "next.db")
    python = next_datasette()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ran = subprocess.run(
        [str(python), "-c", CHECKS, str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    report = json.loads(ran.stdout.strip().splitlines()[-1])
    version, checks = report["version"], report["checks"]
    assert report["split"], f"Datasette {version} takes no config=: not a 1.0 pre-release"

    def known(name: str) -> bool:
        return name in KNOWN_INCOMPATIBLE and KNOWN_INCOMPATIBLE[name][0] in checks[name]["error"]

    failed = {name: c["error"] for name, c in checks.items() if not c["ok"]}
    unexpected = {name: error for name, error in failed.items() if not known(name)}
    now_passing = [name for name in KNOWN_INCOMPATIBLE if checks[name]["ok"]]
    assert not unexpected, f"on Datasette {version}:\n" + "\n".join(
        f"- {name}: {error}" for name, error in unexpected.items()
    )
    assert not now_passing, (
        f"on Datasette {version} {now_passing} now pass: remove them from KNOWN_INCOMPATIBLE"
    )
    if failed:
        pytest.xfail(
            f"Datasette {version}: configuration and metadata are read; known incompatibilities "
            "in archive/browse (removed permission API, Datasette 1.0a20): "
            + "; ".join(f"{name} [{KNOWN_INCOMPATIBLE[name][1]}] {failed[name]}" for name in failed)
        )
