"""`python -m crawler ...` is `tag-archiver ...`."""

from crawler.cli import main

main()
