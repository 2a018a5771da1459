"""LaterPages: a tag's numbered pages, asked for a window at a time.

When page 1 of a tag prints the last page number, every later page is known at once.
Scheduled at once, they would all wait in Scrapy's scheduler, each a Request with its
headers, fingerprint and page-ledger entry (about 2.5 KB): a crawl's memory would grow with
the size of the archive, not with how much it fetches at a time. LaterPages keeps each such
tag's remaining pages as the list page 1 already holds and hands them out in order: at most
`window` of a tag's pages are asked for and unanswered at a time, and each answer (or
failure) hands out the next.

Contract: `start` takes a tag's pages 2..N and returns the first window; `next` returns the
tag's next page once one of its pages has been answered; `waiting` says whether a page it
holds may have come next already. A page it holds is never lost: `drain` hands out a window
of every tag's remaining pages, for the spider's idle signal (a page answered without
reaching its callback, such as one the duplicate filter dropped, never asks for its next).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class _Remaining:
    urls: Sequence[str]  # the tag's pages in order; urls[i] is page first_number + i
    first_number: int
    at: int = 0  # index of the next page to hand out

    def take(self) -> tuple[int, str]:
        number = self.first_number + self.at
        url = self.urls[self.at]
        self.at += 1
        return number, url

    def left(self) -> bool:
        return self.at < len(self.urls)


class LaterPages:
    def __init__(self, window: int) -> None:
        if window < 1:
            raise ValueError(f"a window of later pages must hold at least one page, not {window}")
        self.window = window
        self._tags: dict[str, _Remaining] = {}

    def start(self, tag: str, urls: Sequence[str], first_number: int = 2) -> list[tuple[int, str]]:
        """Hold the tag's pages `urls` (numbered from `first_number`); the first window of
        them, (page number, url), to ask for now."""
        remaining = _Remaining(urls, first_number)
        self._tags[tag] = remaining
        return self._take(tag, remaining, self.window)

    def next(self, tag: str) -> tuple[int, str] | None:
        """The tag's next page, if it holds one: one of its pages was answered."""
        remaining = self._tags.get(tag)
        if remaining is None:
            return None
        taken = self._take(tag, remaining, 1)
        return taken[0] if taken else None

    def waiting(self, tag: str, number: int) -> bool:
        """Whether page `number` of the tag is still held here, to be handed out in turn."""
        remaining = self._tags.get(tag)
        return (
            remaining is not None
            and remaining.first_number + remaining.at <= number
            and number - remaining.first_number < len(remaining.urls)
        )

    def drain(self) -> list[tuple[str, int, str]]:
        """A window of every tag's held pages, (tag, page number, url): nothing else asks."""
        return [
            (tag, number, url)
            for tag, remaining in list(self._tags.items())
            for number, url in self._take(tag, remaining, self.window)
        ]

    def __len__(self) -> int:
        """Pages held, not yet handed out."""
        return sum(len(r.urls) - r.at for r in self._tags.values())

    def _take(self, tag: str, remaining: _Remaining, count: int) -> list[tuple[int, str]]:
        taken = []
        while len(taken) < count and remaining.left():
            taken.append(remaining.take())
        if not remaining.left():
            del self._tags[tag]
        return taken
