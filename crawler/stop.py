"""Stopping a crawl from inside a component, when it can no longer do its job."""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)


def stop_crawl(crawler: Crawler, reason: str) -> Deferred | None:
    """Schedule the spider's close. Never runs it inline: a middleware or pipeline calling this
    is itself inside the engine, which must not be re-entered."""
    engine = crawler.engine
    if engine is None or engine.spider is None:
        return None
    closing = deferred_from_coro(engine.close_spider_async(reason=reason))
    closing.addErrback(lambda failure: logger.error("closing the crawl failed: %s", failure.value))
    return closing
