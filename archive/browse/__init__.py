"""Browsing a tag-archiver database in Datasette: metadata, a small plugin, the server."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import yaml
from datasette.app import Datasette
from datasette.plugins import pm

from archive.browse import charts, plugin
from archive.errors import StoreError

# What the archive, its tables and columns are (Datasette's metadata) ...
METADATA = Path(__file__).with_name("metadata.yml")
# ... and how Datasette serves it: settings, facets, sort, full-text search, canned queries
# (Datasette 1.0's configuration, config=; 0.65 takes it inside the metadata).
CONFIG = Path(__file__).with_name("datasette.yaml")
# The database key of both files, replaced by the database file's stem.
DATABASE_KEY = "archive"
# The plugin's own pages (the article page); names of their own, so no Datasette page changes.
TEMPLATES = Path(__file__).with_name("templates")
# Past this size the "download the whole database" link would hand out a huge file.
DOWNLOAD_LIMIT = 100 * 1024 * 1024


def metadata_for(
    db_path: Path, replay_url: str | None = None, replay_error: str | None = None
) -> dict[str, Any]:
    """The one metadata document Datasette 0.65 takes for `db_path`: metadata.yml with
    datasette.yaml's configuration (table configuration, canned queries) merged in, and the
    plugin's configuration: `replay_url`, the replay service archived links go to;
    `replay_error`, why replay asked for is unavailable (shown where the links would be).
    Without datasette.yaml's settings, which 0.65 takes apart (make_datasette passes them).
    The two files share no leaf key, so the merge loses nothing."""

    def merge(into: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value
        return into

    metadata = yaml.safe_load(METADATA.read_text(encoding="utf-8"))
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    del config["settings"]
    for document in (metadata, config):
        document["databases"] = {Path(db_path).stem: document["databases"].pop(DATABASE_KEY)}
    given = {"replay_url": replay_url, "replay_error": replay_error}
    if replay_url or replay_error:
        config["plugins"] = {plugin.NAME: {k: v for k, v in given.items() if v}}
    return merge(metadata, config)


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
    """A Datasette serving `db_path` with metadata.yml, datasette.yaml and our plugins (see
    metadata_for for `replay_url` and `replay_error`). Datasette 0.65 gets one metadata
    document and the settings apart; Datasette 1.0 gets the configuration apart from the
    metadata (config=), as the two files hold them. Which of the two is decided by what
    Datasette.__init__ accepts, not by a version number, so a pre-release counts as what
    it can do."""
    if plugin.NAME not in {name for name, _ in pm.list_name_plugin()}:
        pm.register(plugin, name=plugin.NAME)
        pm.register(charts, name=charts.NAME)
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    settings = config.pop("settings")
    settings["allow_download"] = Path(db_path).stat().st_size <= DOWNLOAD_LIMIT
    merged = metadata_for(db_path, replay_url, replay_error)
    # Never immutable (-i): a crawl may be writing; WAL lets Datasette read alongside it.
    if "config" not in inspect.signature(Datasette.__init__).parameters:
        return Datasette(
            [str(db_path)], metadata=merged, settings=settings, template_dir=str(TEMPLATES)
        )
    # Datasette 1.0 reads canned queries from the configuration only, so the files go in
    # apart; the plugin's configuration is the one metadata_for made.
    metadata = yaml.safe_load(METADATA.read_text(encoding="utf-8"))
    for document in (metadata, config):
        document["databases"] = {Path(db_path).stem: document["databases"].pop(DATABASE_KEY)}
    config["settings"] = settings
    if "plugins" in merged:
        config["plugins"] = merged["plugins"]
    return Datasette([str(db_path)], metadata=metadata, config=config, template_dir=str(TEMPLATES))
