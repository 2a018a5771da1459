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


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains `text` (a test's own temporary path)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def wait_for_no_process_mentioning(text: str, timeout: float = 30) -> list[int]:
    """Wait until no live process's command line contains `text`; those left after `timeout`."""
    deadline = time.monotonic() + timeout
    while (left := processes_mentioning(text)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left
