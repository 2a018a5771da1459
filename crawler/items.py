"""The crawl's items are the archive's own records (archive.records.Article).

Scrapy accepts dataclass items, and using the archive's type means a live crawl and a
re-extraction from stored pages produce exactly the same objects for the store.
"""

from archive.records import Article

ArticleItem = Article

__all__ = ["ArticleItem"]
