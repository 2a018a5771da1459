"""SlowClose: a test item pipeline that takes a while to close, so that a test can act while a
spider's close is under way, before its spider_closed handlers (tests/crawler/test_lifecycle.py)."""

from __future__ import annotations

import asyncio
import logging

logger = logging.getLogger(__name__)

DONE = "slow close: done"


class SlowClose:
    def process_item(self, item: object) -> object:
        return item

    async def close_spider(self) -> None:
        await asyncio.sleep(2)
        logger.warning(DONE)
