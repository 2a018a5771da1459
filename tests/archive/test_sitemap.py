"""Sitemaps are untrusted XML: no entity expansion, no file or network reads."""

from __future__ import annotations

import pytest

from archive.errors import ExtractionError
from archive.extract import sitemap_locations, tag_sitemaps

INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>http://b.test/wp-sitemap-posts-post-1.xml</loc></sitemap>
<sitemap><loc>http://b.test/wp-sitemap-taxonomies-post_tag-1.xml</loc></sitemap>
</sitemapindex>"""


def test_index_names_the_tag_sitemap():
    assert tag_sitemaps(sitemap_locations(INDEX)) == [
        "http://b.test/wp-sitemap-taxonomies-post_tag-1.xml"
    ]


def test_external_entities_are_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = f"""<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file://{secret}">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://b.test/&x;</loc></url></urlset>""".encode()
    try:
        locations = sitemap_locations(body)
    except ExtractionError:
        return
    assert not any("TOP-SECRET" in loc for loc in locations)


def test_billion_laughs_is_not_expanded():
    entities = '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{i} "&a{i - 1};&a{i - 1};&a{i - 1};&a{i - 1};">' for i in range(1, 12)
    )
    body = f'<?xml version="1.0"?><!DOCTYPE u [{entities}]><urlset><url><loc>&a11;</loc></url></urlset>'.encode()
    try:
        locations = sitemap_locations(body)
    except ExtractionError:
        return
    assert sum(len(loc) for loc in locations) < 10_000


@pytest.mark.parametrize("body", [b"", b"<not-closed", b"\x00\x01binary"])
def test_garbage_is_a_typed_error(body):
    with pytest.raises(ExtractionError):
        sitemap_locations(body)
