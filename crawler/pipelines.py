"""Item pipelines: validate article records, then write them to the SQLite store in batches."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DropItem, NotConfigured

from archive.errors import StoreError
from archive.records import Gone, Observed
from archive.store import Outcome, Store
from crawler.stop import stop_crawl

logger = logging.getLogger(__name__)


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StorePipeline:
    """Buffers articles and commits them TAG_ARCHIVER_BATCH_SIZE at a time.

    A batch is one transaction, so a crash loses at most the open batch and never leaves half
    an article. Counts distinct articles as new / changed / unchanged in the stats.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.path = settings.get("TAG_ARCHIVER_DB")
        if not self.path:
            raise NotConfigured("TAG_ARCHIVER_DB is not set")
        self.batch_size = max(1, settings.getint("TAG_ARCHIVER_BATCH_SIZE"))
        self.durable = settings.getbool("TAG_ARCHIVER_FSYNC")
        self.store: Store | None = None
        self.pending: list[Observed] = []
        self.outcomes: dict[str, Outcome] = {}
        # One timestamp per crawl: every row this run touches says the same last_seen.
        self.seen_at = utc_now()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        try:
            self.store = Store(self.path, durable=self.durable)
        except StoreError as exc:
            self.crawler.stats.set_value("tag_archiver/failure", str(exc))
            raise CloseSpider(f"store: {exc}") from exc

    def process_item(self, item: object) -> object:
        if isinstance(item, Gone):
            self.flush()  # an earlier observation in this run must not undo the mark
            if self.store is not None and self.store.mark_gone(item.url, self.run_seen_at()):
                self.crawler.stats.inc_value("tag_archiver/articles/gone")
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
        if not self.pending or self.store is None:
            return
        batch, self.pending = self.pending, []
        try:
            saved = self.store.save(batch, self.run_seen_at())
        except StoreError as exc:
            # Nothing of the batch was committed. The run cannot archive any more: stop it.
            self.crawler.stats.set_value("tag_archiver/failure", str(exc))
            logger.error("%s; %d articles in the failed batch were not stored", exc, len(batch))
            self.closing = stop_crawl(self.crawler, "store_error")
            raise DropItem(str(exc)) from exc
        for result in saved:
            previous = self.outcomes.get(result.url)
            # An article seen new earlier in this run stays "new" when seen again.
            if previous is None or previous is Outcome.UNCHANGED:
                self.outcomes[result.url] = result.outcome
        stats = self.crawler.stats
        stats.set_value("tag_archiver/articles/stored", len(self.outcomes))
        for outcome in Outcome:
            count = sum(1 for o in self.outcomes.values() if o is outcome)
            stats.set_value(f"tag_archiver/articles/{outcome.value}", count)

    def run_seen_at(self) -> str:
        """The run's start time, so rows and the runs table agree on what "this run" is."""
        return self.crawler.stats.get_value("tag_archiver/run_started") or self.seen_at

    def close_spider(self) -> None:
        try:
            self.flush()
        except DropItem:
            pass  # already counted and logged in flush()
        finally:
            if self.store is not None:
                self.store.close()
