"""The benchmark's measurement counts the whole process tree, orphans included."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers import ROOT

# A parent that starts a grandchild in its own session and exits at once; the grandchild
# burns CPU and holds ~60 MB for a while after the parent is gone: an orphan, like a
# multiprocessing forkserver's workers.
ORPHAN = """
import subprocess, sys
subprocess.Popen([sys.executable, "-c", '''
import time
block = bytearray(60 * 2**20)
for i in range(0, len(block), 4096):
    block[i] = 1
end = time.process_time() + 0.6
while time.process_time() < end:
    pass
'''], start_new_session=True)
"""


def measure(*command: str) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "tests.bench.measure", "--", *command],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return json.loads(output)


def test_an_orphaned_grandchild_is_waited_for_and_counted():
    result = measure(sys.executable, "-c", ORPHAN)
    assert result["code"] == 0
    assert result["cpu"] >= 0.6  # the grandchild's CPU, which os.wait4 on the parent misses
    assert result["rss_mb"] >= 60


def test_the_exit_code_is_the_commands():
    assert measure(sys.executable, "-c", "raise SystemExit(3)")["code"] == 3
