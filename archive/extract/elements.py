"""The elements of a subtree by CSS class and by tag, found in one walk, in document order.

Extraction asks each post a dozen questions: its first title, its content, its first
`time[datetime]`, its term links... Asked as XPath, every question walked the whole subtree
again, testing each element's class with concat() and normalize-space(); that made
extraction the costliest step of a crawl. One walk collects what every question needs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from lxml.html import HtmlElement

# Elements any question is about: classed ones, links (term links, pagination, canonical and
# next <link>s) and <time datetime>. One XPath, no union: the result is in document order.
_WANTED = "*[@class or self::a or self::link or self::time]"


class Elements:
    def __init__(self, root: HtmlElement, *, include_root: bool = False) -> None:
        """`root`'s descendants; `include_root` adds `root` itself (for a whole document)."""
        axis = "descendant-or-self" if include_root else "descendant"
        self.found: list[HtmlElement] = root.xpath(f"{axis}::{_WANTED}")
        # Element proxies stay the same objects while `found` holds them, so they can key.
        self.position = {element: n for n, element in enumerate(self.found)}
        self.by_class: dict[str, list[HtmlElement]] = defaultdict(list)
        self.by_tag: dict[str, list[HtmlElement]] = defaultdict(list)
        for element in self.found:
            names = element.get("class")
            if names:
                # split() as normalize-space() does; a class listed twice counts once
                for name in dict.fromkeys(names.split()):
                    self.by_class[name].append(element)
            self.by_tag[element.tag].append(element)

    def with_class(self, *names: str) -> list[HtmlElement]:
        """Elements that have any of the classes `names`, in document order."""
        if len(names) == 1:
            return list(self.by_class.get(names[0], ()))
        return self.in_order(e for name in names for e in self.by_class.get(name, ()))

    def tagged(self, tag: str) -> list[HtmlElement]:
        return list(self.by_tag.get(tag, ()))

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
