"""Folding shards (archive.shards) into one database: `tag-archiver merge --db corpus.db DIR...`.

What a shard adds is its runs the database does not hold yet (runs.uuid), in their order;
runs still running are left for a later merge. Merging a shard again adds nothing; merging
it after its site's next crawl adds that crawl. Each shard merges in one transaction: all of
its new runs, or nothing.

A run comes in whole:
- its `runs` row and its `captures` rows, under new ids (revisit_of and run_id follow), each
  capture's warc_file becoming SITE-KEY/NAME, relative to the database's WARC root, where the
  shard's WARC files are linked (or copied when on another file system);
- its articles, extracted again from those WARC records and stored through the Store, as
  `reextract` does (extraction is a pure function of the record): an article the database
  already holds from an earlier shard of its site merges with it exactly as if the crawl had
  written there, versions and history included;
- 404/410 answers for stored articles mark them gone; its verification findings are copied.

A shard that cannot be merged (a newer schema, a capture or WARC file that differs from the
one the database holds under the same WARC-Record-ID or name) is refused whole, by name.
"""

from __future__ import annotations

import filecmp
import json
import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from archive.errors import ArchiveError
from archive.extract.workers import ExtractedRecord, read_warc_file
from archive.lock import RunLock
from archive.reextract import store_reextracted
from archive.schema import SCHEMA_VERSION
from archive.shards import Shard, find_shards, site_key
from archive.store import Store
from archive.warc.files import default_warc_dir

logger = logging.getLogger(__name__)

# Capture columns that say what an exchange was: two shards that name the same WARC record
# must agree on them.
_IDENTITY = ("url", "status", "payload_digest", "warc_date")
_GONE_STATUSES = (404, 410)
# Responses extracted and stored per savepoint: what they hold (full articles) is in memory
# until stored. On 10,000 articles, 100 measured a 150 MB peak, re-extraction's 500 360 MB,
# at about the same speed (tests/bench/merge_bench.py).
CHUNK_RESPONSES = 100


class MergeError(ArchiveError):
    """A shard that cannot be merged; nothing of it was."""


@dataclass
class MergedShard:
    shard: Path
    sites: list[str]
    runs: int = 0  # runs added
    already: int = 0  # runs the database held before
    running: int = 0  # runs still running in the shard, left for a later merge
    captures: int = 0
    articles: int = 0  # article records stored (an article seen on several pages counts each)

    def summary(self) -> str:
        sites = ", ".join(self.sites) or "no site"
        text = (
            f"{self.shard}: {sites}: {self.runs} run(s) merged ({self.captures} captures, "
            f"{self.articles} article records), {self.already} already merged"
        )
        return text + (f", {self.running} still running" if self.running else "")


def merge(db_path: Path, paths: list[Path], warc_root: Path | None = None) -> Iterator[MergedShard]:
    """Merge the shards `paths` name (archive.shards.find_shards) into the database at
    `db_path`, one at a time, each in one transaction; yields each one's counts as it is
    merged. Holds the database's run lock throughout (RunLocked if another run has it);
    MergeError for a shard that cannot be merged (those before it stay merged)."""
    try:
        shards = find_shards(paths)
    except (ValueError, OSError) as exc:
        raise MergeError(str(exc)) from exc
    warc_root = Path(warc_root) if warc_root else default_warc_dir(db_path)
    with RunLock(db_path), Store(db_path) as corpus:
        for shard in shards:
            yield merge_shard(corpus, shard, warc_root)


def merge_shard(corpus: Store, shard: Shard, warc_root: Path) -> MergedShard:
    source = _open_shard(shard)
    try:
        return _ShardMerge(corpus, shard, source, warc_root).run()
    except sqlite3.Error as exc:
        raise MergeError(f"{shard.directory}: reading the shard failed: {exc}") from exc
    finally:
        source.close()


class _ShardMerge:
    def __init__(
        self, corpus: Store, shard: Shard, source: sqlite3.Connection, warc_root: Path
    ) -> None:
        self.corpus = corpus
        self.conn = corpus.conn
        self.shard = shard
        self.source = source
        self.warc_root = warc_root
        self.columns = {
            table: [r[1] for r in self.conn.execute(f"PRAGMA table_info([{table}])")]
            for table in ("runs", "captures", "verifications")
        }

    def run(self) -> MergedShard:
        runs = [dict(r) for r in self.source.execute("SELECT * FROM runs ORDER BY id")]
        sites = {r["id"]: (r["url"], r["name"]) for r in self.source.execute("SELECT * FROM sites")}
        result = MergedShard(self.shard.directory, [])
        held = {
            uuid for (uuid,) in self.conn.execute("SELECT uuid FROM runs WHERE uuid IS NOT NULL")
        }
        linked: list[Path] = []
        try:
            with self.corpus.writing(), self.corpus.transaction():
                for run in runs:
                    if run["status"] == "running":
                        result.running += 1
                    elif run["uuid"] in held:
                        result.already += 1
                    else:
                        url, name = sites.get(run["site_id"], (run["site"], None))
                        if url not in result.sites:
                            result.sites.append(url)
                        self.corpus.use_site(url, name)
                        self._merge_run(run, site_key(url), result, linked)
                        result.runs += 1
        except BaseException:
            for path in linked:  # nothing half-merged: the files this merge added go too
                path.unlink(missing_ok=True)
            raise
        return result

    def _merge_run(self, run: dict, key: str, result: MergedShard, linked: list[Path]) -> None:
        captures = [
            dict(r)
            for r in self.source.execute(
                "SELECT * FROM captures WHERE run_id = ? ORDER BY id", [run["id"]]
            )
        ]
        names = {c["warc_file"] for c in captures} | set(json.loads(run["warc_files"] or "[]"))
        placed = {name: self._place(name, key, linked, needed=False) for name in sorted(names)}
        for capture in captures:  # a capture's file must be there: its row must resolve
            if placed.get(capture["warc_file"]) is None:
                placed[capture["warc_file"]] = self._place(capture["warc_file"], key, linked)
        run_id = self._insert(
            "runs",
            run,
            site_id=self.corpus.site_id,
            warc_files=json.dumps(
                [placed[n] for n in json.loads(run["warc_files"] or "[]") if placed.get(n)]
            ),
        )
        ours: set[str] = set()
        for capture in captures:
            ours.add(capture["warc_record_id"])
            if self._known_capture(capture):
                continue
            self._insert(
                "captures",
                capture,
                run_id=run_id,
                site_id=self.corpus.site_id,
                warc_file=placed[capture["warc_file"]],
                revisit_of=self._corpus_capture(capture["revisit_of"]),
            )
            result.captures += 1
        # The run's pages, extracted again from its records and stored as the crawl stored
        # them; each chunk a savepoint, its new rows indexed for search at its end.
        records = self._records(sorted({c["warc_file"] for c in captures}), ours)
        while chunk := list(islice(records, CHUNK_RESPONSES)):
            store_reextracted(self.corpus, chunk)
            result.articles += sum(len(record.articles) for record in chunk)
        for capture in captures:
            if capture["status"] in _GONE_STATUSES:
                self.corpus.mark_gone(capture["url"], capture["fetched_at"])
        for finding in self.source.execute(
            "SELECT * FROM verifications WHERE run_id = ? ORDER BY id", [run["id"]]
        ):
            self._insert("verifications", dict(finding), run_id=run_id)

    def _records(self, names: list[str], ours: set[str]) -> Iterator[ExtractedRecord]:
        for name in names:
            for record in read_warc_file(self.shard.warc_dir / name):
                if record.location.record_id in ours:
                    yield record

    def _insert(self, table: str, row: dict, **changes: object) -> int:
        values = {
            column: row[column]
            for column in self.columns[table]
            if column != "id" and column in row
        } | changes
        names = ", ".join(f"[{c}]" for c in values)
        marks = ", ".join("?" * len(values))
        return self.conn.execute(
            f"INSERT INTO [{table}] ({names}) VALUES ({marks})", list(values.values())
        ).lastrowid

    def _known_capture(self, capture: dict) -> bool:
        """Whether the database holds this WARC record already; MergeError if what it holds
        under that record id is another exchange."""
        held = self.conn.execute(
            f"SELECT {', '.join(_IDENTITY)} FROM captures WHERE warc_record_id = ?",
            [capture["warc_record_id"]],
        ).fetchone()
        if held is None:
            return False
        for column, value in zip(_IDENTITY, held, strict=True):
            if value != capture[column]:
                raise MergeError(
                    f"{self.shard.directory}: capture {capture['warc_record_id']} "
                    f"({capture['url']}) has {column} {capture[column]!r}, the database holds "
                    f"{value!r} under the same WARC-Record-ID: the shards disagree; nothing "
                    "of this shard was merged"
                )
        return True

    def _corpus_capture(self, shard_capture_id: int | None) -> int | None:
        if shard_capture_id is None:
            return None
        row = self.source.execute(
            "SELECT warc_record_id FROM captures WHERE id = ?", [shard_capture_id]
        ).fetchone()
        found = (
            self.conn.execute(
                "SELECT id FROM captures WHERE warc_record_id = ?", [row[0]]
            ).fetchone()
            if row
            else None
        )
        if found is None:
            raise MergeError(
                f"{self.shard.directory}: a revisit names capture {shard_capture_id}, which "
                "neither the shard's merged runs nor the database hold"
            )
        return found[0]

    def _place(self, name: str, key: str, linked: list[Path], needed: bool = True) -> str | None:
        """The WARC file `name` of the shard, linked (or copied) into the WARC root under
        the site's key; its name there, relative to the root. A file already there must be
        the same bytes. A missing file: MergeError when `needed`, else None."""
        source = self.shard.warc_dir / name
        relative = name if "/" in name else f"{key}/{name}"
        target = self.warc_root / relative
        if not source.is_file():
            if needed:
                raise MergeError(
                    f"{self.shard.directory}: its WARC file {source} is missing; the captures "
                    "in it would not resolve"
                )
            return None
        if target.exists():
            if not filecmp.cmp(source, target, shallow=False):
                raise MergeError(
                    f"{self.shard.directory}: {target} already exists with other content than "
                    f"{source}: the shards disagree; nothing of this shard was merged"
                )
            return relative
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".merging")
        try:
            os.link(source, partial)
        except OSError:  # another file system, or links not allowed: a copy
            shutil.copyfile(source, partial)
        os.replace(partial, target)
        linked.append(target)
        return relative


def _open_shard(shard: Shard) -> sqlite3.Connection:
    """The shard's database, read-only; brought up to date first if it is older."""
    try:
        source = sqlite3.connect(f"file:{shard.db}?mode=ro", uri=True)
        version = source.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as exc:
        raise MergeError(f"{shard.db}: not a readable SQLite database: {exc}") from exc
    if version > SCHEMA_VERSION:
        source.close()
        raise MergeError(
            f"{shard.db} has schema version {version}, newer than this tag-archiver "
            f"understands ({SCHEMA_VERSION}): merge it with a newer tag-archiver"
        )
    if version == 0:
        source.close()
        raise MergeError(f"{shard.db} is not a tag-archiver database")
    if version < SCHEMA_VERSION:
        source.close()
        Store(shard.db).close()  # the upgrade, in place, as any command opening it does
        source = sqlite3.connect(f"file:{shard.db}?mode=ro", uri=True)
    source.row_factory = sqlite3.Row
    return source
