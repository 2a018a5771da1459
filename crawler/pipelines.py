"""Item pipelines: validate article records, then store them in batches."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import UTC, datetime
from functools import partial

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from archive.records import Gone, Observed
from archive.store import Outcome, Store
from crawler.database import DatabaseWriter

logger = logging.getLogger(__name__)


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StorePipeline:
    """Buffers articles and hands them to the database writer TAG_ARCHIVER_BATCH_SIZE at a time.

    A batch is one transaction, so a crash loses at most the batches not yet committed and
    never leaves half an article. Storing runs in the writer's process while the crawl goes
    on (crawler.database); the outcomes come back to count distinct articles as new /
    changed / unchanged in the stats, and the pipeline closes only once all have come back.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        if not settings.get("TAG_ARCHIVER_DB"):
            raise NotConfigured("TAG_ARCHIVER_DB is not set")
        self.database = crawler.get_extension(DatabaseWriter)
        if self.database is None:
            raise NotConfigured("the crawler.database.DatabaseWriter extension is disabled")
        self.batch_size = max(1, settings.getint("TAG_ARCHIVER_BATCH_SIZE"))
        self.pending: list[Observed] = []
        self.outcomes: dict[str, Outcome] = {}
        # outcomes counted as they change: recounting the whole run at every batch made
        # storing quadratic in the run's length (100,000 articles: 2,000 passes over them)
        self.counts: Counter[Outcome] = Counter()
        # One timestamp per crawl: every row this run touches says the same last_seen.
        self.seen_at = utc_now()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def process_item(self, item: object) -> object:
        if isinstance(item, Gone):
            self.flush()  # an earlier observation in this run must not undo the mark
            marking = self.database.submit(Store.mark_gone, item.url, self.run_seen_at())
            marking.add_done_callback(self.marked_gone)
            return item
        if not isinstance(item, Observed):
            return item
        if not item.article.title and item.article.content is None:
            self.crawler.stats.inc_value("tag_archiver/articles/dropped")
            raise DropItem(f"article {item.article.url} has neither a title nor content")
        self.pending.append(item)
        if len(self.pending) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        saving = self.database.submit(Store.save, batch, self.run_seen_at())
        # The items' own URL strings key the outcomes, not the copies coming back from the
        # writer: the spider holds the same strings, so a run keeps one copy per article.
        urls = [observed.article.url for observed in batch]
        saving.add_done_callback(partial(self.saved, urls))

    def saved(self, urls: list[str], saving: asyncio.Future) -> None:
        if saving.cancelled() or saving.exception() is not None:
            # Nothing of the batch was committed; the database writer stops the crawl.
            logger.error("%d articles in the failed batch were not stored", len(urls))
            return
        # Store.save answers for each article of the batch, in order.
        for url, result in zip(urls, saving.result(), strict=True):
            previous = self.outcomes.get(url)
            # An article seen new earlier in this run stays "new" when seen again.
            if previous is None or previous is Outcome.UNCHANGED:
                self.outcomes[url] = result.outcome
                self.counts[result.outcome] += 1
                if previous is not None:
                    self.counts[previous] -= 1
        stats = self.crawler.stats
        stats.set_value("tag_archiver/articles/stored", len(self.outcomes))
        for outcome in Outcome:
            stats.set_value(f"tag_archiver/articles/{outcome.value}", self.counts[outcome])

    def marked_gone(self, marking: asyncio.Future) -> None:
        if not marking.cancelled() and marking.exception() is None and marking.result():
            self.crawler.stats.inc_value("tag_archiver/articles/gone")

    def run_seen_at(self) -> str:
        """The run's start time, so rows and the runs table agree on what "this run" is."""
        return self.crawler.stats.get_value("tag_archiver/run_started") or self.seen_at

    async def close_spider(self) -> None:
        self.flush()
        await self.database.drained()
