"""Sitemaps are untrusted XML: no entity expansion, no file or network reads."""

from __future__ import annotations

import pytest

from archive.errors import ExtractionError
from archive.extract import robots_sitemaps, sitemap_locations, tag_sitemaps

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


def test_robots_txt_sitemap_lines_in_any_case():
    body = b"User-agent: *\nDisallow: /wp-admin/\nSitemap: https://b.test/sitemap_index.xml\nsitemap: https://b.test/wp-sitemap.xml # core\nSitemap: /relative.xml\n"
    assert robots_sitemaps(body) == [
        "https://b.test/sitemap_index.xml",
        "https://b.test/wp-sitemap.xml",
    ]


@pytest.mark.parametrize(
    "location",
    [
        "http://b.test/wp-sitemap-taxonomies-post_tag-1.xml",  # core
        "http://b.test/?sitemap=taxonomies&sitemap-subtype=post_tag&paged=1",  # core, plain
        "http://b.test/post_tag-sitemap.xml",  # Yoast, Rank Math, All in One SEO
        "http://b.test/post_tag-sitemap2.xml",
    ],
)
def test_tag_sitemaps_of_core_and_the_seo_plugins(location):
    others = ["http://b.test/post-sitemap.xml", "http://b.test/category-sitemap.xml"]
    assert tag_sitemaps([*others, location]) == [location]
