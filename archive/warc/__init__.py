"""WARC writing, reading and repair (warcio underneath). No Scrapy."""
