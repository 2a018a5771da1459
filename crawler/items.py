"""The crawl's items are the archive's own records: archive.records.Observed, an Article plus
the capture (WARC record) it was read from.

Scrapy accepts dataclass items, and using the archive's type means a live crawl and a
re-extraction from WARC files produce exactly the same objects for the store.
"""

from archive.records import Observed

ArticleItem = Observed

__all__ = ["ArticleItem"]
