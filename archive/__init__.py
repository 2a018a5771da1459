"""The archive side of tag-archiver: extraction, the SQLite store. Never imports Scrapy."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tag-archiver")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
