"""The processes a test started: a crawl's session and the helpers in it."""

from __future__ import annotations

import time
from pathlib import Path


def session_members(session: int) -> list[int]:
    """Live processes of the session that process `session` started (zombies count as gone)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, _ppid, _pgrp, sid = stat[stat.rindex(")") + 2 :].split()[:4]
        if int(sid) == session and state != "Z":
            members.append(int(entry.name))
    return members


def wait_for_session_end(session: int, timeout: float = 30) -> list[int]:
    """Wait until nothing of the session is left; what still is, after `timeout`."""
    deadline = time.monotonic() + timeout
    while (left := session_members(session)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left
