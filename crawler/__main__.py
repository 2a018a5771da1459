"""`python -m crawler ...` is `tag-archiver ...`."""

# Before anything heavy is imported: a SIGINT/SIGTERM while a crawl is starting is an
# interrupted run (exit 5), never a KeyboardInterrupt traceback (crawler.stop).
from crawler.stop import STOP_SIGNALS

STOP_SIGNALS.install()

from crawler import main  # noqa: E402  # the `tag-archiver` script's own entry point

main()
