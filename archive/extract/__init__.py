"""Extraction: pure functions from (url, headers, body) to records. No Scrapy, no I/O."""

from archive.extract.page import EXTRACTOR_VERSION, extract_page, tag_slug_from_url
from archive.extract.sitemap import sitemap_locations, tag_sitemaps

__all__ = [
    "EXTRACTOR_VERSION",
    "extract_page",
    "sitemap_locations",
    "tag_sitemaps",
    "tag_slug_from_url",
]
