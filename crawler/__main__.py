"""`python -m crawler ...` is `tag-archiver ...`."""

# Before anything heavy is imported: a SIGINT/SIGTERM while a crawl is starting is an
# interrupted run (exit 5), never a KeyboardInterrupt traceback (crawler.stop).
from crawler.stop import STOP_SIGNALS

STOP_SIGNALS.install()

from archive.lean_sqlite_utils import import_sqlite_utils_without_numpy  # noqa: E402

import_sqlite_utils_without_numpy()

from crawler.cli import main  # noqa: E402

main()
