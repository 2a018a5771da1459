"""Item pipelines: validate article records, then store them in batches."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable
from functools import partial

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from archive.clock import utc_now
from archive.errors import StoreError
from archive.records import Gone, Observed
from archive.run_ledger import Tally
from archive.store import Outcome
from crawler.database import DatabaseWriter
from crawler.runs import ArchiveRun

logger = logging.getLogger(__name__)


class StorePipeline:
    """Buffers articles and hands them to the database writer TAG_ARCHIVER_BATCH_SIZE at a time.

    A batch is one transaction, so a crash loses at most the batches not yet committed and
    never leaves half an article. Storing runs in the writer's process while the crawl goes
    on (crawler.database); the outcomes come back to count distinct articles as new /
    changed / unchanged in the stats, and the pipeline closes only once all have come back.
    What the run has stored so far is kept beside the store (archive.run_ledger), not in
    this process's memory.
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
        # distinct articles stored by this run, by their outcome in it (run_ledger.Tally)
        self.counts: Counter[Outcome] = Counter()
        # One timestamp per crawl: every row this run touches says the same last_seen.
        self.seen_at = utc_now()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def process_item(self, item: object) -> object:
        if isinstance(item, Gone):
            self.flush()  # an earlier observation in this run must not undo the mark
            marking = self.database.submit("mark_gone", item.url, self.run_seen_at())
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
        saving = self.database.submit("save_observed", batch, self.run_seen_at())
        saving.add_done_callback(partial(self.saved, len(batch)))

    def saved(self, size: int, saving: asyncio.Future) -> None:
        if saving.cancelled() or saving.exception() is not None:
            # Nothing of the batch was committed; the database writer stops the crawl.
            logger.error("%d articles in the failed batch were not stored", size)
            return
        tally: Tally = saving.result()
        self.counts.update(tally.outcomes)
        stats = self.crawler.stats
        stats.set_value("tag_archiver/articles/stored", self.counts.total())
        for outcome in (Outcome.NEW, Outcome.CHANGED, Outcome.UNCHANGED):
            stats.set_value(f"tag_archiver/articles/{outcome.value}", self.counts[outcome])
        for url in tally.conflicts:
            stats.inc_value("tag_archiver/articles/conflict")
            stats.inc_value("tag_archiver/errors")
            logger.error(
                "%s: this permalink is stored for another WordPress post ID; not stored", url
            )
        if tally.listed_again:
            stats.inc_value("tag_archiver/articles/listed_again", tally.listed_again)

    def unlisted_under(self, walked: Iterable[tuple[str, str]]) -> list[str]:
        """Stored articles under each (tag slug, oldest date read) that no tag page of this
        run listed (run_ledger.unlisted_under), once everything before is stored. Waits for
        the writer: for a spider with nothing left to download."""
        self.flush()
        try:
            return self.database.wait_for("unlisted_under", list(walked))
        except StoreError:
            return []  # the database writer failed and is stopping the crawl

    def marked_gone(self, marking: asyncio.Future) -> None:
        if not marking.cancelled() and marking.exception() is None and marking.result():
            self.crawler.stats.inc_value("tag_archiver/articles/gone")

    def run_seen_at(self) -> str:
        """The run's start time, so rows and the runs table agree on what "this run" is."""
        run = self.crawler.get_extension(ArchiveRun)
        return (run.started_at if run is not None else None) or self.seen_at

    async def close_spider(self) -> None:
        self.flush()
        await self.database.drained()
