"""Extraction: pure functions from (url, headers, body) to records. No Scrapy, no I/O."""

from archive.extract.page import EXTRACTOR_VERSION, extract_page
from archive.extract.sitemap import robots_sitemaps, sitemap_locations, tag_sitemaps
from archive.extract.urls import tag_slug_from_url, term_slug

__all__ = [
    "EXTRACTOR_VERSION",
    "extract_page",
    "robots_sitemaps",
    "sitemap_locations",
    "tag_sitemaps",
    "tag_slug_from_url",
    "term_slug",
]
