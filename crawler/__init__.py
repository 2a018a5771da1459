"""The Scrapy side of tag-archiver: spider, pipelines, extensions, settings, CLI."""


def main() -> None:
    """The `tag-archiver` command. Its script imports this package, not the CLI: each helper
    process (extraction workers, the database writer) imports the script again as
    multiprocessing's main module, and with the CLI there it would carry Scrapy and the rest
    too."""
    from archive.lean_sqlite_utils import import_sqlite_utils_without_numpy

    import_sqlite_utils_without_numpy()
    from crawler.cli import main as cli

    cli()
