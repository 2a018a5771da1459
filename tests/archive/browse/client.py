"""GET requests to a Datasette made as `tag-archiver serve` makes it (archive.browse.
make_datasette), through Datasette's own test client: no server, no network."""

from __future__ import annotations

import asyncio
from pathlib import Path

from archive.browse import make_datasette


def get_root(db: Path, path: str, params: dict | None = None, **kwargs):
    """GET `path` from the instance's root (`/-/...`, or `/DB/...` spelled out)."""
    datasette = make_datasette(db, **kwargs)

    async def fetch():
        await datasette.invoke_startup()
        return await datasette.client.get(path, params=params)

    return asyncio.run(fetch())


def get(db: Path, path: str, **kwargs):
    """GET /<db><path>, the database's own pages."""
    return get_root(db, f"/{db.stem}{path}", **kwargs)
