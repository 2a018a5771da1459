"""The baseline: a plain Scrapy spider that only follows the same tag pagination.

scrapy runspider tests/bench/plain_spider.py -a site=http://127.0.0.1:PORT -a tags=tag-000,...

It follows every pagination form tag-archiver follows (archive/extract/pagination.py) with
plain CSS selectors, and does nothing else: no extraction, no storage. Scrapy's duplicate
filter drops the pages it was already given.
"""

import scrapy

PAGINATION = ", ".join(
    f"{selector}::attr(href)"
    for selector in (
        "link[rel~=next]",  # <link rel="next"> in the head
        "a.page-numbers",  # paginate_links(): numbered, prev and next
        "a.wp-block-query-pagination-next",  # the block theme's next page
        ".wp-block-query-pagination a",  # the block theme's numbers, in its pagination block
        ".nav-previous a",  # a classic theme's "Older posts"
        ".nav-links a",  # a classic theme's navigation links
        ".pagination a",
        "a[rel~=next]",
    )
)


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
        for href in dict.fromkeys(response.css(PAGINATION).getall()):
            yield response.follow(href)
