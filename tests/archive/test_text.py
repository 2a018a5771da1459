"""archive.extract.text: absolute() skips urljoin() only where urljoin() would change nothing."""

from urllib.parse import urljoin

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from archive.extract.text import absolute

BASES = [
    "http://blog.test/tag/x/page/2/",
    "https://blog.test/",
    "http://other.test/a/b?c=d#e",
    "HTTP://User@Blog.test:8080",
    "ftp://files.test/x/",
    "about:blank",
]
# Characters that mean something to urlsplit(), in bulk, so generated hrefs hit every branch.
URL_CHARS = st.sampled_from([*"aZ09-._~:/?#[]@!$&'()*+,;=% \t\n\\é", "..", "//", "/."])


@given(
    base=st.sampled_from(BASES),
    scheme=st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "//", "/", ""]),
    rest=st.lists(URL_CHARS, max_size=30).map("".join),
)
@example(base=BASES[0], scheme="http://", rest="host/a/../b;p?q=1#f")
@example(base=BASES[0], scheme="https://", rest="host/b?#")
@example(base=BASES[0], scheme="http://", rest="[::1/x")
@example(base=BASES[0], scheme="/", rest="a/./b/../c")
@example(base=BASES[3], scheme="/", rest="a?")
@example(base=BASES[4], scheme="/", rest="a")
def test_absolute_is_urljoin(base: str, scheme: str, rest: str) -> None:
    href = scheme + rest
    if not href.strip() or href.strip().startswith(("javascript:", "data:", "mailto:", "#")):
        return
    try:
        expected = urljoin(base, href.strip())
    except ValueError:  # an invalid IPv6 host: not a link at all
        expected = None
    assert absolute(base, href) == expected


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        (" https://blog.test/2025/01/post/ ", "https://blog.test/2025/01/post/"),
        ("/tag/ai/", "http://blog.test/tag/ai/"),
        ("/a/../tag/ai/?x=1#top", "http://blog.test/tag/ai/?x=1#top"),
        ("//cdn.test/i.png", "http://cdn.test/i.png"),
        ("page/3/", "http://blog.test/tag/x/page/2/page/3/"),
        ("#comments", None),
        ("mailto:a@b.test", None),
        ("   ", None),
        (None, None),
        ("http://[oops/x", None),
    ],
)
def test_absolute(href: str | None, expected: str | None) -> None:
    assert absolute(BASES[0], href) == expected
