"""Sitemaps -> the URLs they list: WordPress core's (/wp-sitemap.xml, /?sitemap=index with
plain permalinks), the SEO plugins' (Yoast and Rank Math /sitemap_index.xml, All in One SEO
/sitemap.xml), and the `Sitemap:` lines of robots.txt that point at any of them."""

from __future__ import annotations

import re

from lxml import etree

from archive.errors import ExtractionError

# A sitemap is untrusted XML: no entity expansion (billion laughs), no DTD or network
# fetches (XXE), no huge trees.
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
)


def sitemap_locations(body: bytes) -> list[str]:
    """The <loc> of every <sitemap> or <url> entry, in document order."""
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise ExtractionError("unparseable", f"not a sitemap: {exc}") from exc
    if root is None:
        raise ExtractionError("empty", "the sitemap is empty")
    return [loc.text.strip() for loc in root.iter("{*}loc") if loc.text and loc.text.strip()]


# How each generator names its tag sitemap: core `wp-sitemap-taxonomies-post_tag-1.xml` or
# `?sitemap=taxonomies&sitemap-subtype=post_tag&paged=1`; Yoast, Rank Math and All in One SEO
# `post_tag-sitemap.xml` (numbered post_tag-sitemap2.xml past a thousand tags).
_TAG_SITEMAP = re.compile(
    r"taxonomies-post_tag|sitemap-subtype=post_tag|/post_tag-sitemap\d*\.xml", re.IGNORECASE
)


def tag_sitemaps(index_locations: list[str]) -> list[str]:
    """The tag sitemaps a sitemap index names."""
    return [loc for loc in index_locations if _TAG_SITEMAP.search(loc)]


def robots_sitemaps(body: bytes) -> list[str]:
    """The URLs of robots.txt's `Sitemap:` lines (RFC 9309 §2.2.4: any line, any case)."""
    found = []
    for line in body.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(":")
        value = value.split("#", 1)[0].strip()
        if name.strip().lower() == "sitemap" and value.startswith(("http://", "https://")):
            found.append(value)
    return list(dict.fromkeys(found))
