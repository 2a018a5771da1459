"""The sites file (crawler.sites): loading, the crawl arguments, keys, and every error."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archive.errors import ArchiveError
from crawler.cli import crawl
from crawler.sites import SiteConfig, SitesFileError, load_sites

EXAMPLE = """\
[defaults]
contact = "mailto:me@example.org"
delay = 1

[[site]]
url = "https://pjfp.com/"
tags = ["ai-scaling", "scaling-laws"]

[[site]]
url = "https://another.example/"
tags = "all"
articles = false
"""

PJFP = SiteConfig(
    url="https://pjfp.com/",
    tags=("ai-scaling", "scaling-laws"),
    contact="mailto:me@example.org",
    delay=1.0,
)
ANOTHER = SiteConfig(
    url="https://another.example/",
    tags="all",
    contact="mailto:me@example.org",
    delay=1.0,
    articles=False,
)
EVERYTHING = SiteConfig(
    url="http://127.0.0.1:8080/blog/",
    tags=("news", "http://127.0.0.1:8080/blog/tag/views/"),
    name="Local blog",
    contact="ops@example.org",
    delay=0.25,
    articles=False,
    full=True,
    refresh_articles=True,
    crawlers=0,
    verify=True,
    warc_max_size=5_000_000,
    log_level="DEBUG",
    settings=(("DOWNLOAD_TIMEOUT", "30"), ("ROBOTSTXT_OBEY", "false")),
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sites.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(SitesFileError) as caught:
        load_sites(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    return message.removeprefix(str(path))


# Loading


def test_the_example_loads_with_the_defaults_merged(tmp_path):
    assert load_sites(write(tmp_path, EXAMPLE)) == [PJFP, ANOTHER]


def test_a_site_key_overrides_the_default_and_urls_are_normalised(tmp_path):
    text = EXAMPLE.replace("articles = false", 'articles = false\ndelay = 0\nurl = "http://x.test"')
    text = text.replace('url = "https://another.example/"\n', "")
    sites = load_sites(str(write(tmp_path, text)))
    assert sites[1].delay == 0.0
    assert sites[1].url == "http://x.test/"
    assert sites[1].contact == "mailto:me@example.org"  # still the default's
    assert sites[0].delay == 1.0


def test_a_bare_host_means_https_as_on_the_command_line(tmp_path):
    sites = load_sites(write(tmp_path, '[[site]]\nurl = "pjfp.com/blog"\ntags = ["a"]\n'))
    assert sites[0].url == "https://pjfp.com/blog/"


def test_set_values_become_strings_and_booleans_lower_case(tmp_path):
    text = """\
[[site]]
url = "https://pjfp.com/"
tags = ["a"]
set = { DOWNLOAD_TIMEOUT = 30, ROBOTSTXT_OBEY = false, X = "a=b", Y = 0.5 }
"""
    [site] = load_sites(write(tmp_path, text))
    assert site.settings == (
        ("DOWNLOAD_TIMEOUT", "30"),
        ("ROBOTSTXT_OBEY", "false"),
        ("X", "a=b"),
        ("Y", "0.5"),
    )
    assert site.crawl_args()[-8:] == [
        "--set",
        "DOWNLOAD_TIMEOUT=30",
        "--set",
        "ROBOTSTXT_OBEY=false",
        "--set",
        "X=a=b",
        "--set",
        "Y=0.5",
    ]


def test_set_may_be_written_as_a_sub_table(tmp_path):
    text = '[[site]]\nurl = "https://pjfp.com/"\ntags = ["a"]\n[site.set]\nFOO = "1"\n'
    assert load_sites(write(tmp_path, text))[0].settings == (("FOO", "1"),)


def test_every_key_loads(tmp_path):
    text = """\
[[site]]
url = "http://127.0.0.1:8080/blog"
tags = ["news", "http://127.0.0.1:8080/blog/tag/views/"]
name = "Local blog"
contact = "ops@example.org"
delay = 0.25
articles = false
full = true
refresh_articles = true
crawlers = 0
verify = true
warc_max_size = 5_000_000
log_level = "DEBUG"
set = { DOWNLOAD_TIMEOUT = 30, ROBOTSTXT_OBEY = false }
"""
    assert load_sites(write(tmp_path, text)) == [EVERYTHING]


def test_the_error_is_an_archive_error():
    assert issubclass(SitesFileError, ArchiveError)


# The crawl command's arguments


def test_crawl_args_of_the_example():
    assert PJFP.crawl_args() == [
        "https://pjfp.com/",
        "--tag",
        "ai-scaling",
        "--tag",
        "scaling-laws",
        "--delay",
        "1",
        "--contact",
        "mailto:me@example.org",
    ]
    assert ANOTHER.crawl_args() == [
        "https://another.example/",
        "--all-tags",
        "--delay",
        "1",
        "--no-articles",
        "--contact",
        "mailto:me@example.org",
    ]


def test_crawl_args_of_every_option():
    assert EVERYTHING.crawl_args() == [
        "http://127.0.0.1:8080/blog/",
        "--tag",
        "news",
        "--tag",
        "http://127.0.0.1:8080/blog/tag/views/",
        "--delay",
        "0.25",
        "--no-articles",
        "--full",
        "--refresh-articles",
        "--contact",
        "ops@example.org",
        "--log-level",
        "DEBUG",
        "--warc-max-size",
        "5000000",
        "--crawlers",
        "0",
        "--set",
        "DOWNLOAD_TIMEOUT=30",
        "--set",
        "ROBOTSTXT_OBEY=false",
        "--verify",
    ]


def test_options_at_the_commands_defaults_are_left_out():
    site = SiteConfig(url="https://pjfp.com/", tags=("a",), log_level="INFO", warc_max_size=10**9)
    assert site.crawl_args() == ["https://pjfp.com/", "--tag", "a"]


def parsed(site: SiteConfig, tmp_path: Path) -> dict:
    """The crawl command's parameters for the site's arguments: parsed, not run."""
    db = tmp_path / "x.db"
    with crawl.make_context("crawl", [*site.crawl_args(), "--db", str(db)]) as ctx:
        return ctx.params


def test_the_crawl_command_parses_crawl_args(tmp_path):
    assert parsed(EVERYTHING, tmp_path) == {
        "site_url": "http://127.0.0.1:8080/blog/",
        "sites_file": None,
        "parallel": None,
        "site_time_limit": None,
        "shards_dir": None,
        "tags": ("news", "http://127.0.0.1:8080/blog/tag/views/"),
        "all_tags": False,
        "db": tmp_path / "x.db",
        "delay": 0.25,
        "no_articles": True,
        "full": True,
        "refresh_articles": True,
        "contact": "ops@example.org",
        "log_level": "DEBUG",
        "warc_dir": None,
        "warc_max_size": 5_000_000,
        "crawlers": 0,
        "set_": ("DOWNLOAD_TIMEOUT=30", "ROBOTSTXT_OBEY=false"),
        "stats_json": None,
        "verify_after": True,
    }


def test_the_crawl_command_parses_the_smallest_site_as_its_defaults(tmp_path):
    """Every option left out, or given at the command's default, parses as if not given."""
    site = SiteConfig(url="https://a.test/", tags="all", log_level="INFO", warc_max_size=10**9)
    bare = ["https://a.test/", "--all-tags", "--db", str(tmp_path / "x.db")]
    with crawl.make_context("crawl", bare) as ctx:
        assert parsed(site, tmp_path) == ctx.params


def test_a_tag_that_starts_with_a_dash_is_still_a_tag(tmp_path):
    site = SiteConfig(url="https://pjfp.com/", tags=("-odd", "--all-tags"))
    assert parsed(site, tmp_path)["tags"] == ("-odd", "--all-tags")


# Errors: each names the file, and the line and site where there are some


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[site]]\nurl = "https://a.test/"\ntags = [\n', ", line 3 (the end of the file): "),
        ('[[site]]\nurl = "https://a.test/"\nurl = "x"\n', ", line 3, column "),
        ("[[site]]\nurl = https://a.test/\n", ", line 2, column 7: Invalid value"),
        ('[[site]]\nurl = "https://a.test/', ", line 2 (the end of the file): Unterminated string"),
    ],
)
def test_toml_syntax_errors_give_line_and_column(tmp_path, text, expected):
    message = load_error(tmp_path, text)
    assert message.startswith(expected), message


def test_a_missing_file(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(SitesFileError, match=re.escape(f"{path}: cannot read the sites file")):
        load_sites(path)


def test_text_that_is_not_utf8(tmp_path):
    path = tmp_path / "sites.toml"
    path.write_bytes(b'[[site]]\nurl = "https://caf\xe9.test/"\n')
    with pytest.raises(SitesFileError, match=re.escape(f"{path}, line 2: not UTF-8 text")):
        load_sites(path)


SITE = '[[site]]\nurl = "https://a.test/"\ntags = ["a"]\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("delay = 1\n" + SITE, ", line 1: unknown table 'delay'"),
        (SITE + "[sites]\nx = 1\n", ", line 4: unknown table 'sites'"),
        ("[site]\nurl = 'https://a.test/'\n", ", line 1: 'site' must be an array of tables"),
        ("site = [1, 2]\n", ", line 1: 'site' must be an array of tables"),
        ("defaults = 1\n" + SITE, ", line 1: 'defaults' must be a table"),
        ("[defaults]\ndelay = 1\n", ": no sites: add a [[site]] table"),
        ("", ": no sites"),
        (
            '[defaults]\ndelay = 1\ncontakt = "me"\n' + SITE,
            ", line 3 ([defaults]): unknown key 'contakt' (known: articles, contact, crawlers, "
            "delay, full, log_level, name, refresh_articles, set, tags, verify, warc_max_size)",
        ),
        (
            '[defaults]\nurl = "https://a.test/"\n' + SITE,
            ", line 2 ([defaults]): 'url' belongs in each [[site]], not in [defaults]",
        ),
        ("[defaults]\ndelay = -1\n" + SITE, ", line 2 ([defaults]): delay must be a number"),
    ],
)
def test_file_level_errors(tmp_path, text, expected):
    message = load_error(tmp_path, text)
    assert message.startswith(expected), message


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("tagz = ['a']", "unknown key 'tagz' (known: articles, contact, crawlers, delay, full, "),
        ("delay = -1", "delay must be a number of seconds, 0 or more, not -1"),
        ("delay = true", "delay must be a number of seconds, 0 or more, not True"),
        ("delay = inf", "delay must be a number of seconds, 0 or more, not inf"),
        ("delay = '1'", "delay must be a number of seconds"),
        ("articles = 'no'", "articles must be true or false, not 'no'"),
        ("crawlers = -1", "crawlers must be a whole number, 0 or more, not -1"),
        ("crawlers = 2.0", "crawlers must be a whole number"),
        ("warc_max_size = 999_999", "warc_max_size must be a whole number, 1_000_000 or more"),
        ("log_level = 'info'", "log_level must be one of DEBUG, INFO, WARNING, ERROR, not 'info'"),
        ("contact = ''", "contact must be a non-empty string, not ''"),
        ("name = 3", "name must be a non-empty string, not 3"),
        ("set = 'X=1'", "set must be a table of settings"),
        ("set = { 'BAD NAME' = 1 }", "set has 'BAD NAME', which is not a setting name"),
        ("set = { X = [1] }", "set X must be a string, number or boolean, not [1]"),
    ],
)
def test_a_bad_value_names_the_site_line_and_key(tmp_path, line, expected):
    text = SITE + '\n[[site]]\nurl = "https://b.test/"\ntags = ["b"]\n' + line + "\n"
    message = load_error(tmp_path, text)
    assert message.startswith(f", line 8 (site 2, https://b.test/): {expected}"), message


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "tags = 'ai-scaling'",
            "tags must be a list of tags or \"all\", not the string 'ai-scaling'",
        ),
        ("tags = []", 'tags must be a non-empty list of tag slugs or URLs, or "all"; not []'),
        ("tags = ['a', '']", "tags must hold tag slugs or URLs without spaces around them, not ''"),
        ("tags = [' a']", "tags must hold tag slugs or URLs without spaces around them, not ' a'"),
        ("tags = [1]", "tags must hold tag slugs or URLs without spaces around them, not 1"),
    ],
)
def test_bad_tags(tmp_path, line, expected):
    text = f'[[site]]\nurl = "https://b.test/"\n{line}\n'
    assert load_error(tmp_path, text) == f", line 3 (site 1, https://b.test/): {expected}"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://b.test/",
        "https://",
        "https://b .test/",
        "https://b.test:x/",
        "https://b.test:99999/",
        "",
    ],
)
def test_bad_urls(tmp_path, url):
    text = f'[[site]]\ntags = ["a"]\nurl = "{url}"\n'
    message = load_error(tmp_path, text)
    assert message == f", line 3 (site 1, {url}): url must be an http or https URL, not {url!r}"


@pytest.mark.parametrize(
    "url", ["https://b.test/?p=1", "https://b.test/#top", "https://u@b.test/", "mailto:me@b.test"]
)
def test_a_site_url_has_no_query_fragment_or_user(tmp_path, url):
    message = load_error(tmp_path, f'[[site]]\ntags = ["a"]\nurl = "{url}"\n')
    assert (
        message
        == f", line 3 (site 1, {url}): url must be a site's URL, without user, query or fragment: {url!r}"
    )


def test_a_url_that_is_not_a_string(tmp_path):
    message = load_error(tmp_path, '[[site]]\ntags = ["a"]\nurl = 1\n')
    assert message == ", line 3 (site 1): url must be an http or https URL, not 1"


def test_a_site_without_url(tmp_path):
    message = load_error(tmp_path, SITE + '\n# the second\n[[site]]\ntags = ["a"]\n')
    assert message == ", line 6 (site 2): missing key 'url'"


def test_a_site_without_tags(tmp_path):
    message = load_error(tmp_path, '[defaults]\ndelay = 1\n\n[[site]]\nurl = "https://a.test/"\n')
    assert message == (
        ", line 4 (site 1, https://a.test/): missing key 'tags' (give it here or in [defaults])"
    )


def test_tags_from_the_defaults_are_enough(tmp_path):
    text = '[defaults]\ntags = "all"\n[[site]]\nurl = "https://a.test/"\n'
    assert load_sites(write(tmp_path, text))[0].tags == "all"


@pytest.mark.parametrize(
    ("second", "why"),
    [
        ("https://a.test", "both are https://a.test/"),
        ("http://a.test/", "both have the key 'a.test'"),
        ("https://A.TEST/", "both have the key 'a.test'"),
    ],
)
def test_two_entries_for_one_site(tmp_path, second, why):
    text = SITE + f'\n[[site]]\nurl = "{second}"\ntags = ["b"]\n'
    message = load_error(tmp_path, text)
    assert message == f", line 5 (site 2, {second}): the same site as site 1 (line 1): {why}"


def test_without_headers_in_the_text_errors_still_name_the_site(tmp_path):
    text = 'site = [{ url = "https://a.test/", tags = ["a"] }, { url = "https://b.test/" }]\n'
    message = load_error(tmp_path, text)
    assert (
        message == " (site 2, https://b.test/): missing key 'tags' (give it here or in [defaults])"
    )


def test_a_key_in_a_sub_table_falls_back_to_the_sites_line(tmp_path):
    text = SITE + "[site.set]\nX = [1]\n"
    assert load_error(tmp_path, text).startswith(", line 1 (site 1, https://a.test/): set X must")


def test_a_byte_order_mark_is_not_an_error(tmp_path):
    path = tmp_path / "sites.toml"
    path.write_bytes(b"\xef\xbb\xbf" + EXAMPLE.encode())
    assert load_sites(path) == [PJFP, ANOTHER]


# Keys


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://pjfp.com/", "pjfp.com"),
        ("http://127.0.0.1:8080/", "127.0.0.1-8080"),
        ("https://example.org/blog/", "example.org-blog"),
        ("https://Example.ORG/blog", "example.org-blog"),
        ("https://www.my-blog.example/wp/", "www.my-blog.example-wp"),
        ("http://localhost:8080/", "localhost-8080"),
    ],
)
def test_readable_keys(url, key):
    assert SiteConfig.from_dict({"url": url, "tags": "all"}).key == key


@pytest.mark.parametrize(
    ("url", "readable"),
    [
        ("https://example.org/Blog/", "example.org-blog"),  # distinct from /blog/ on any disk
        ("https://example.org/café/", "example.org-cafe"),
        ("https://example.org/caf%C3%A9/", "example.org-cafe"),
        ("https://example.org/2024/", "example.org-2024"),  # not port 2024
        ("https://example.org/a-b/", "example.org-a-b"),  # not /a/b/
        ("https://example.org/deadbeef/", "example.org-deadbeef"),  # looks hashed
        ("https://[::1]:8080/", "1-8080"),
        ("https://../", "site"),
    ],
)
def test_a_lossy_or_ambiguous_readable_form_gets_a_hash(url, readable):
    key = SiteConfig.from_dict({"url": url, "tags": "all"}).key
    assert re.fullmatch(re.escape(readable) + "-[0-9a-f]{8}", key), key


def test_the_hash_tells_apart_urls_with_one_readable_form():
    keys = {
        SiteConfig.from_dict({"url": url, "tags": "all"}).key
        for url in ("https://example.org/a-b/", "https://example.org/a/b/", "https://x.org/a//b/")
    }
    assert len(keys) == 3
    assert "example.org-a-b" in keys  # /a/b/ reads back from it: it needs no hash


HOST_LABEL = st.text("abcxyzAB019-", min_size=1, max_size=6)
SEGMENT = st.text(
    st.characters(exclude_characters="/?#", exclude_categories=("Cc", "Cs", "Z")),
    min_size=1,
    max_size=6,
) | st.sampled_from(["blog", "2024", "a-b", "wp", "index.php", "deadbeef", "é"])
SITE_PARTS = st.tuples(
    st.lists(HOST_LABEL, min_size=1, max_size=3).map(".".join),
    st.none() | st.integers(0, 65535),
    st.lists(SEGMENT, max_size=3).map(tuple),
)


def site_of(parts: tuple[str, int | None, tuple[str, ...]], scheme: str = "https") -> SiteConfig:
    host, port, segments = parts
    netloc = host if port is None else f"{host}:{port}"
    return SiteConfig.from_dict(
        {"url": f"{scheme}://{netloc}/{''.join(s + '/' for s in segments)}", "tags": "all"}
    )


def one_site(parts: tuple[str, int | None, tuple[str, ...]]) -> tuple:
    host, port, segments = parts
    return host.lower(), port, segments


@given(st.lists(SITE_PARTS, min_size=2, max_size=6, unique_by=one_site))
def test_distinct_sites_have_distinct_safe_keys(many):
    keys = [site_of(parts).key for parts in many]
    for key in keys:
        assert re.fullmatch(r"[a-z0-9_-][a-z0-9._-]{0,108}", key), key
    assert len(set(keys)) == len(keys), (many, keys)


@given(SITE_PARTS)
def test_http_and_https_are_one_site(parts):
    assert site_of(parts, "http").key == site_of(parts, "https").key


# Round trip through a task message


@pytest.mark.parametrize("site", [PJFP, ANOTHER, EVERYTHING])
def test_to_dict_from_dict_round_trip_through_json(site):
    assert SiteConfig.from_dict(json.loads(json.dumps(site.to_dict()))) == site
    assert SiteConfig.from_dict(site.to_dict()) == site


def test_to_dict_is_spelled_like_a_site_table():
    assert ANOTHER.to_dict() == {
        "url": "https://another.example/",
        "tags": "all",
        "contact": "mailto:me@example.org",
        "delay": 1.0,
        "articles": False,
        "full": False,
        "refresh_articles": False,
        "verify": False,
        "set": {},
    }


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        ({"url": "https://a.test/", "tags": "all", "delay": -1}, "delay must be a number"),
        ({"url": "https://a.test/", "tags": "all", "settings": {}}, "unknown key 'settings'"),
        ({"tags": "all"}, "missing key 'url'"),
    ],
)
def test_from_dict_checks_as_the_file_does(d, expected):
    with pytest.raises(ValueError, match=re.escape(expected)):
        SiteConfig.from_dict(d)
