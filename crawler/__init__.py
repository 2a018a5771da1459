"""The Scrapy side of tag-archiver: spider, pipelines, extensions, settings, CLI."""
