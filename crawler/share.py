"""`python -m crawler.share CONFIG`: one of a run's other crawler processes (crawler.shares).

It imports what a crawl needs, reads the run it adds to from the first line of its stdin,
walks the tags that arrive after it, writes its stats and verdict to CONFIG's result file,
and exits with its verdict's code; if stdin ends before naming a run, it exits 0 at once.
Started by the run's first process, never by hand.
"""

from __future__ import annotations

# Before anything heavy is imported: a stop while starting is an interrupted run (crawler.stop).
from crawler.stop import STOP_SIGNALS

STOP_SIGNALS.install()

import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from archive.lean_sqlite_utils import import_sqlite_utils_without_numpy  # noqa: E402


def stop_when_orphaned() -> None:
    """The run's first process died (kill -9, the OOM killer): stop as a SIGTERM would, so
    nothing goes on writing a database whose lock is gone."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="orphan watch", daemon=True).start()


def main(argv: list[str]) -> int:
    config = json.loads(argv[1])
    stop_when_orphaned()
    import_sqlite_utils_without_numpy()
    from crawler.run import CrawlOptions, run_crawl

    run_line = sys.stdin.buffer.readline()
    if not run_line:
        return 0  # the first process ended before its run began
    run = json.loads(run_line)
    options = CrawlOptions(**config["options"])
    options.extra_settings["TAG_ARCHIVER_SHARE"] = {
        "run_id": run["run_id"],
        "capture_ids": run["capture_ids"],
        "claims": config["claims"],
        "ledger": config["ledger"],
        "write_turns": config["write_turns"],
    }
    result = run_crawl(options, share=True)
    report = {
        "stats": result.stats,
        "status": result.ended.status,
        "message": result.ended.message,
    }
    Path(config["result"]).write_text(json.dumps(report, default=str))
    return int(result.exit_code)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
