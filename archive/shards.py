"""Shards: one site's crawls, in a directory of their own, to be merged into a corpus.

A shard is a directory holding `archive.db` (a tag-archiver database) and `warc/` (its WARC
files). `crawl --sites` (crawler.sites_run) and the fleet's workers (crawler.fleet) crawl each
site into its own shard, so sites crawled at once never share a database; `merge`
(archive.merge) folds shards into one database. A shard kept from night to night makes the
next crawl of its site incremental.

In a merged database, a capture's `warc_file` is `SITE-KEY/NAME.warc.gz`, relative to the
database's WARC root (DB-NAME-warc/ beside it, or the --warc-dir given to merge).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from archive.extract.urls import site_root

SHARD_DB = "archive.db"
SHARD_WARC = "warc"


@dataclass(frozen=True, order=True)
class Shard:
    directory: Path

    @property
    def db(self) -> Path:
        return self.directory / SHARD_DB

    @property
    def warc_dir(self) -> Path:
        return self.directory / SHARD_WARC

    def exists(self) -> bool:
        """Whether a crawl has begun in it: its database is there and not empty (a crawl
        killed as it started can leave an empty file)."""
        return self.db.is_file() and self.db.stat().st_size > 0


def site_key(url: str) -> str:
    """A site's name on disk: `pjfp.com`, `127.0.0.1-8080`, `example.org-blog`.

    Lower case, only [a-z0-9._-], at most 109 characters, never starting with a dot. The
    same for http and https (one site); otherwise distinct for distinct URLs: the readable
    form alone only when it reads back to exactly this URL (see _read_back), else
    followed by `-` and 8 hex digits of the SHA-1 of the URL without its scheme.
    """
    identity = _identity(site_root(url))
    text = unicodedata.normalize("NFKD", unquote(identity)).encode("ascii", "ignore")
    readable = _UNSAFE.sub("-", text.decode().lower()).strip("-.")[:_READABLE_MAX]
    readable = readable.rstrip("-.")
    if readable and _read_back(readable) == identity and not _HASH_END.search(readable):
        return readable
    digest = hashlib.sha1(identity.encode("utf-8")).hexdigest()[:8]
    return f"{readable or 'site'}-{digest}"


# The key: a readable form of the URL without its scheme, and a hash when that form is lossy.

_UNSAFE = re.compile(r"[^a-z0-9._-]+")
_HASH_END = re.compile(r"-[0-9a-f]{8}$")  # a readable key never looks like a hashed one
_READABLE_MAX = 100  # with the hash, well inside any file system's 255


def _identity(url: str) -> str:
    """The URL without its scheme, the host part in lower case: what makes two URLs one site."""
    netloc, slash, path = url.partition("://")[2].partition("/")
    return netloc.lower() + slash + path


def _read_back(readable: str) -> str:
    """The identity a readable key stands for: the host runs to the last `-`-separated part
    with a dot in it (else the first part), then a port if the next part is all digits, then
    one path segment per part. A function, so two URLs whose readable forms both read back
    to themselves cannot share one; the rest get the hash."""
    parts = readable.split("-")
    dotted = [i for i, part in enumerate(parts) if "." in part]
    end = dotted[-1] + 1 if dotted else 1
    host, path = "-".join(parts[:end]), parts[end:]
    if path and path[0].isdigit():
        host += ":" + path.pop(0)
    return host + "/" + "".join(f"{segment}/" for segment in path)


def find_shards(paths: list[Path]) -> list[Shard]:
    """The shards `paths` name: each a shard, or a directory of shards (a worker's --data
    directory, which may hold none yet), in name order; directories in which no crawl has
    begun are left out. ValueError for a path that is not a directory."""
    found: list[Shard] = []
    for path in paths:
        path = Path(path)
        if not path.is_dir():
            raise ValueError(f"{path} is not a directory of shards, nor a shard")
        if Shard(path).exists():
            found.append(Shard(path))
        elif not Shard(path).db.exists():
            found.extend(sorted(Shard(c) for c in path.iterdir() if Shard(c).exists()))
    return found
