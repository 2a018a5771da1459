"""The elements of a subtree by CSS class and by tag, found in one walk, in document order.

Extraction asks each post a dozen questions: its first title, its content, its first
`time[datetime]`, its term links... Asked as XPath, each question would walk the whole
subtree again, testing each element's class with concat() and normalize-space(). One walk
collects what every question needs.

A page's posts are subtrees of the page, so their elements are runs of the page's list
(a subtree's descendants follow it in document order): `within()` answers for a post from
the page's walk instead of walking and indexing the post again.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable

from lxml.html import HtmlElement

# Elements any question is about: classed ones, microdata, links (term links, pagination,
# canonical and next <link>s) and <time>. One XPath, no union: the result is in document order.
_WANTED = "*[@class or @itemprop or self::a or self::link or self::time]"


class _Index:
    """Elements of one walk under a key (a class name, a tag), with their positions in it."""

    def __init__(self) -> None:
        self.elements: list[HtmlElement] = []
        self.positions: list[int] = []

    def add(self, element: HtmlElement, position: int) -> None:
        self.elements.append(element)
        self.positions.append(position)

    def between(self, start: int, end: int) -> list[HtmlElement]:
        """Those at positions start <= p < end."""
        return self.elements[bisect_left(self.positions, start) : bisect_left(self.positions, end)]


class Elements:
    def __init__(self, root: HtmlElement, *, include_root: bool = False) -> None:
        """`root`'s descendants; `include_root` adds `root` itself (for a whole document)."""
        axis = "descendant-or-self" if include_root else "descendant"
        found: list[HtmlElement] = root.xpath(f"{axis}::{_WANTED}")
        # Element proxies stay the same objects while `found` holds them, so they can key.
        self.position = {element: n for n, element in enumerate(found)}
        self._by_class: dict[str, _Index] = defaultdict(_Index)
        self._by_tag: dict[str, _Index] = defaultdict(_Index)
        self._by_itemprop: dict[str, _Index] = defaultdict(_Index)
        for n, element in enumerate(found):
            names = element.get("class")
            if names:
                # split() as normalize-space() does; a class listed twice counts once
                for name in dict.fromkeys(names.split()):
                    self._by_class[name].add(element, n)
            self._by_tag[element.tag].add(element, n)
            props = element.get("itemprop")
            if props:
                for prop in dict.fromkeys(props.split()):
                    self._by_itemprop[prop].add(element, n)
        # This walk's own run of positions; a view from within() narrows it.
        self._start, self._end = 0, len(found)

    def within(self, element: HtmlElement) -> Elements:
        """`element`'s descendants, as Elements(element) would find them, from this walk.
        `element` must be one of this walk's (a classed element, a link or a time)."""
        view = object.__new__(Elements)
        view.position = self.position
        view._by_class, view._by_tag = self._by_class, self._by_tag
        view._by_itemprop = self._by_itemprop
        view._start = self.position[element] + 1
        view._end = view._start + int(element.xpath(f"count(descendant::{_WANTED})"))
        return view

    def with_class(self, *names: str) -> list[HtmlElement]:
        """Elements that have any of the classes `names`, in document order."""
        found = [self._between(self._by_class, name) for name in names]
        if len(found) == 1:
            return found[0]
        return self.in_order(e for elements in found for e in elements)

    def tagged(self, tag: str) -> list[HtmlElement]:
        return self._between(self._by_tag, tag)

    def with_itemprop(self, name: str) -> list[HtmlElement]:
        """Microdata elements whose itemprop lists `name` (datePublished, author...)."""
        return self._between(self._by_itemprop, name)

    def _between(self, index: dict[str, _Index], key: str) -> list[HtmlElement]:
        entry = index.get(key)
        return entry.between(self._start, self._end) if entry is not None else []

    def in_order(self, elements: Iterable[HtmlElement]) -> list[HtmlElement]:
        """`elements` (all from this walk) without repeats, in document order."""
        return sorted(set(elements), key=self.position.__getitem__)

    def first(self, elements: Iterable[HtmlElement]) -> HtmlElement | None:
        ordered = self.in_order(elements)
        return ordered[0] if ordered else None


def has_rel(element: HtmlElement, value: str) -> bool:
    """As the XPath `contains(concat(' ', @rel, ' '), ' value ')` WordPress themes rely on."""
    return f" {value} " in f" {element.get('rel') or ''} "


def links(elements: Iterable[HtmlElement]) -> list[HtmlElement]:
    """Those with an href attribute (`a[@href]`: present, even if empty)."""
    return [element for element in elements if element.get("href") is not None]
