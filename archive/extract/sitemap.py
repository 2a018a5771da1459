"""WordPress core sitemaps (/wp-sitemap.xml and its children) -> the URLs they list."""

from __future__ import annotations

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


def tag_sitemaps(index_locations: list[str]) -> list[str]:
    """The post-tag sitemaps named by WordPress's sitemap index."""
    return [loc for loc in index_locations if "taxonomies-post_tag" in loc]
