"""The baseline: a plain Scrapy spider that only follows the same tag pagination.

scrapy runspider tests/bench/plain_spider.py -a site=http://127.0.0.1:PORT -a tags=tag-000,...
"""

import scrapy


class PlainPagination(scrapy.Spider):
    name = "plain"
    custom_settings = {  # noqa: RUF012 - Scrapy reads this class attribute by name
        "LOG_LEVEL": "WARNING",
        "ROBOTSTXT_OBEY": True,
        "TELNETCONSOLE_ENABLED": False,
    }

    def __init__(self, site: str, tags: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.site, self.tags = site.rstrip("/"), tags.split(",")

    async def start(self):
        for tag in self.tags:
            yield scrapy.Request(f"{self.site}/tag/{tag}/")

    def parse(self, response):
        for href in response.css("a.page-numbers::attr(href)").getall():
            yield response.follow(href)
