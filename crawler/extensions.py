"""CrawlProgress: a progress line while the crawl runs, and the run's verdict at the end."""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

logger = logging.getLogger(__name__)


def progress_line(stats: dict) -> str:
    return (
        f"{stats.get('tag_archiver/pages/tag_archive', 0)} tag pages, "
        f"{stats.get('tag_archiver/pages/single', 0)} article pages, "
        f"{stats.get('tag_archiver/articles/stored', 0)} articles stored "
        f"({stats.get('tag_archiver/articles/new', 0)} new, "
        f"{stats.get('tag_archiver/articles/changed', 0)} changed), "
        f"{stats.get('tag_archiver/errors', 0)} errors"
    )


class CrawlProgress:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.interval = crawler.settings.getfloat("TAG_ARCHIVER_PROGRESS_INTERVAL")
        if self.interval <= 0:
            raise NotConfigured("TAG_ARCHIVER_PROGRESS_INTERVAL is 0")
        self.loop: task.LoopingCall | None = None
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlProgress:
        return cls(crawler)

    def opened(self) -> None:
        self.loop = task.LoopingCall(self.log)
        self.loop.start(self.interval, now=False)

    def log(self) -> None:
        logger.info("progress: %s", progress_line(self.crawler.stats.get_stats()))

    def closed(self, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        logger.info("finished (%s): %s", reason, progress_line(self.crawler.stats.get_stats()))
