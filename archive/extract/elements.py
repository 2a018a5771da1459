"""The elements of a subtree by CSS class and by tag, found in one pass, in document order.

Extraction asks each post a dozen questions: its first title, its content, its first
`time[datetime]`, its term links... Asked as XPath, each question would walk the whole
subtree again, testing each element's class with concat() and normalize-space(). One walk
collects what every question needs.

A page's posts are subtrees of the page, so their elements are runs of the page's walk
(a subtree's descendants follow it in document order): `within()` answers for a post from
the page's walk instead of walking and indexing the post again.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable

from lxml import etree
from lxml.html import HtmlElement

# Tags indexed whatever their attributes: term links, pagination, canonical and next
# <link>s, <time>. Other elements are indexed by their class and itemprop only.
_TAGS = frozenset({"a", "link", "time"})


# Each value a "smart string" that knows its element: one C walk reads every class.
_CLASS_VALUES = etree.XPath("descendant-or-self::*/@class")
_ITEMPROP_VALUES = etree.XPath("descendant-or-self::*/@itemprop")

# An index: the positions, in the walk, of the elements under each key (a class name, an
# itemprop, a tag), ascending.
_Index = dict[str, list[int]]


def _index_words(values: list, position: dict[HtmlElement, int]) -> _Index:
    """Positions by each whitespace-separated word of an attribute's `values` (as XPath
    returns them, in document order), leaving out elements not in the walk (its root)."""
    index: _Index = {}
    for value in values:
        n = position.get(value.getparent())
        if n is None:
            continue
        # split() as normalize-space() does
        for word in value.split():
            positions = index.get(word)
            if positions is None:
                index[word] = [n]
            elif positions[-1] != n:  # a word listed twice counts once
                positions.append(n)
    return index


class Elements:
    def __init__(self, root: HtmlElement, *, include_root: bool = False) -> None:
        """`root`'s descendants; `include_root` adds `root` itself (for a whole document).

        Every element of the walk has a position (document order), so that any of them can
        be asked `within()`; the indexes hold the elements with a class or an itemprop, and
        the tags in _TAGS."""
        # Walked in C (iter(), XPath to the attributes), indexed in Python: reading each
        # element's attributes from Python would cost more than the rest together.
        found = list(root.iter(etree.Element))
        if not include_root:
            del found[0]
        # Element proxies stay the same objects while `found` holds them, so they can key.
        self._found = found
        self.position = position = {element: n for n, element in enumerate(found)}
        self._by_class = _index_words(_CLASS_VALUES(root), position)
        self._by_itemprop = _index_words(_ITEMPROP_VALUES(root), position)
        self._by_tag = by_tag = {}
        for element in root.iter(*_TAGS):
            n = position.get(element)
            if n is None:  # the root, not in the walk
                continue
            positions = by_tag.get(element.tag)
            if positions is None:
                by_tag[element.tag] = [n]
            else:
                positions.append(n)
        # This walk's own run of positions; a view from within() narrows it.
        self._start, self._end = 0, len(found)

    def within(self, element: HtmlElement) -> Elements:
        """`element`'s descendants, as Elements(element) would find them, from this walk.
        `element` must be one of this walk's."""
        view = object.__new__(Elements)
        view._found, view.position = self._found, self.position
        view._by_class, view._by_tag = self._by_class, self._by_tag
        view._by_itemprop = self._by_itemprop
        view._start = self.position[element] + 1
        view._end = self.position[_last_descendant(element)] + 1
        return view

    def holds(self, element: HtmlElement) -> bool:
        """`element` is one of this walk's (for a view, inside its element)."""
        position = self.position.get(element)
        return position is not None and self._start <= position < self._end

    def with_class(self, *names: str) -> list[HtmlElement]:
        """Elements that have any of the classes `names`, in document order."""
        by_class, start, end = self._by_class, self._start, self._end
        runs = []
        for name in names:  # most names asked of a post are absent from the whole page
            positions = by_class.get(name)
            if positions is not None:
                run = positions[bisect_left(positions, start) : bisect_left(positions, end)]
                if run:
                    runs.append(run)
        if not runs:
            return []
        # one class's run is in order, each once; several are merged as numbers
        run = runs[0] if len(runs) == 1 else sorted(set().union(*runs))
        found = self._found
        return [found[n] for n in run]

    def tagged(self, tag: str) -> list[HtmlElement]:
        """Elements of `tag`, one of _TAGS."""
        return self._between(self._by_tag, tag)

    def with_itemprop(self, name: str) -> list[HtmlElement]:
        """Microdata elements whose itemprop lists `name` (datePublished, author...)."""
        return self._between(self._by_itemprop, name)

    def _between(self, index: _Index, key: str) -> list[HtmlElement]:
        """The elements under `key` in this walk's run (most keys asked of a post are
        absent from the whole page)."""
        positions = index.get(key)
        if positions is None:
            return []
        found = self._found
        run = positions[bisect_left(positions, self._start) : bisect_left(positions, self._end)]
        return [found[n] for n in run]

    def in_order(self, elements: Iterable[HtmlElement]) -> list[HtmlElement]:
        """`elements` (all from this walk) without repeats, in document order."""
        return sorted(set(elements), key=self.position.__getitem__)

    def first(self, elements: Iterable[HtmlElement]) -> HtmlElement | None:
        """The first of `elements` (all from this walk) in document order."""
        return min(elements, key=self.position.__getitem__, default=None)


def _last_descendant(element: HtmlElement) -> HtmlElement:
    """The last element in document order of `element`'s subtree (itself if it has none):
    the last element child's, down to a leaf. Comments and the like are not elements."""
    while True:
        for child in reversed(element):
            if isinstance(child.tag, str):
                element = child
                break
        else:
            return element


def has_rel(element: HtmlElement, value: str) -> bool:
    """As the XPath `contains(concat(' ', @rel, ' '), ' value ')` WordPress themes rely on."""
    return f" {value} " in f" {element.get('rel') or ''} "


def links(elements: Iterable[HtmlElement]) -> list[HtmlElement]:
    """Those with an href attribute (`a[@href]`: present, even if empty)."""
    return [element for element in elements if element.get("href") is not None]
