"""Browsing a tag-archiver database in Datasette: metadata, a small plugin, the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from datasette.app import Datasette
from datasette.plugins import pm

from archive.browse import charts, plugin
from archive.errors import StoreError

METADATA = Path(__file__).with_name("metadata.yml")
# The plugin's own pages (the article page); names of their own, so no Datasette page changes.
TEMPLATES = Path(__file__).with_name("templates")
# Past this size the "download the whole database" link would hand out a huge file.
DOWNLOAD_LIMIT = 100 * 1024 * 1024
SETTINGS = {
    "sql_time_limit_ms": 3000,  # default 1000: FTS over 100 000 articles can need more
    "max_returned_rows": 1000,
    "facet_time_limit_ms": 500,
}


def metadata_for(
    db_path: Path, replay_url: str | None = None, replay_error: str | None = None
) -> dict[str, Any]:
    """The metadata for `db_path`; `replay_url`: the replay service archived links go to;
    `replay_error`: why replay asked for is unavailable (shown where the links would be)."""
    metadata = yaml.safe_load(METADATA.read_text(encoding="utf-8"))
    metadata["databases"] = {Path(db_path).stem: metadata["databases"].pop("archive")}
    config = {"replay_url": replay_url, "replay_error": replay_error}
    if replay_url or replay_error:
        metadata["plugins"] = {plugin.NAME: {k: v for k, v in config.items() if v}}
    return metadata


def check_database(db_path: Path) -> None:
    """A clear message for a missing, empty or foreign file, and an upgrade for an old one."""
    from archive.store import Store

    path = Path(db_path)
    if not path.exists():
        raise StoreError(f"no database at {path}: crawl first (tag-archiver crawl ... --db {path})")
    if path.stat().st_size == 0:
        raise StoreError(f"{path} is empty: crawl into it first")
    Store(path).close()  # refuses what is not ours; brings an older schema up to date


def make_datasette(
    db_path: Path, replay_url: str | None = None, replay_error: str | None = None
) -> Datasette:
    if plugin.NAME not in {name for name, _ in pm.list_name_plugin()}:
        pm.register(plugin, name=plugin.NAME)
        pm.register(charts, name=charts.NAME)
    settings = dict(SETTINGS)
    settings["allow_download"] = Path(db_path).stat().st_size <= DOWNLOAD_LIMIT
    # Never immutable (-i): a crawl may be writing; WAL lets Datasette read alongside it.
    return Datasette(
        [str(db_path)],
        metadata=metadata_for(db_path, replay_url, replay_error),
        settings=settings,
        template_dir=str(TEMPLATES),
    )
