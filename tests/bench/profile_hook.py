"""Per-process CPU accounting for tests/bench/profile.py, installed as `sitecustomize`.

tests/bench/profile.py copies this file as sitecustomize.py into a folder it puts first on
PYTHONPATH, so every Python process of the crawl (the CLI and the `python -m crawler.share`
processes it starts) imports it at startup, before any of its own code. It does nothing
unless one of these is set:

    TAG_ARCHIVER_BENCH_RUSAGE=DIR   at exit, DIR/<pid>.json: argv, pid, user and sys CPU
                                    (getrusage RUSAGE_SELF), max RSS. No profiler.
    TAG_ARCHIVER_BENCH_PROFILE=DIR  the same, and every thread profiled with cProfile on the
                                    thread's own CPU clock (time.thread_time_ns: a thread
                                    blocked in epoll, a queue or a lock costs nothing);
                                    at exit the threads' stats merged into DIR/<pid>.prof and
                                    each thread's profiled seconds in the JSON.

Written from an atexit hook (registered first, so it runs last): a process that ends by
os._exit (crawler.runs' stop watchdog, a second stop signal) or by a signal leaves nothing.
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import sys
import threading
import time

_PROFILE_DIR = os.environ.get("TAG_ARCHIVER_BENCH_PROFILE")
_RUSAGE_DIR = _PROFILE_DIR or os.environ.get("TAG_ARCHIVER_BENCH_RUSAGE")
_STARTED = time.monotonic()
_profiles: list = []  # (thread name, cProfile.Profile)


class _Held:
    """Stats already taken, in the shape pstats.Stats loads (it calls create_stats())."""

    def __init__(self, stats: dict) -> None:
        self.stats = stats

    def create_stats(self) -> None:
        pass


def _new_profile():
    import cProfile

    return cProfile.Profile(time.thread_time_ns, 1e-9)


def _start_thread(frame, event, arg):  # a profile function: sys.setprofile()'s arguments
    """threading.setprofile(): the first event of a new thread starts its own profiler,
    which replaces this function as the thread's profile function."""
    profile = _new_profile()
    _profiles.append((threading.current_thread().name, profile))
    profile.enable()


def _write() -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report = {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "argv": sys.argv,
        "user": usage.ru_utime,
        "sys": usage.ru_stime,
        "maxrss_kb": usage.ru_maxrss,
        "wall": time.monotonic() - _STARTED,
    }
    if _PROFILE_DIR:
        import gc
        import pstats

        # No collection (and so no finalizer, no switch to a thread still being profiled)
        # while the profilers' tables are read.
        gc.disable()
        threading.setprofile(None)
        main = _profiles[0][1]
        main.disable()
        threads = []
        merged = None
        for name, profile in _profiles:
            # Another thread's profiler cannot be disabled from here (disable() acts on the
            # calling thread); its thread has ended, or is idle (daemon threads): read it as is.
            profile.snapshot_stats()
            seconds = sum(entry[2] for entry in profile.stats.values())
            threads.append({"name": name, "profiled": seconds})
            held = _Held(profile.stats)
            if merged is None:
                merged = pstats.Stats(held)
            else:
                merged.add(held)
        merged.dump_stats(os.path.join(_PROFILE_DIR, f"{os.getpid()}.prof"))
        report["threads"] = threads
    path = os.path.join(_RUSAGE_DIR, f"{os.getpid()}.json")
    with open(path, "w") as file:
        json.dump(report, file)


if _RUSAGE_DIR:
    atexit.register(_write)  # first registered: runs after every other atexit hook
    if _PROFILE_DIR:
        _main = _new_profile()
        _profiles.append(("MainThread", _main))
        threading.setprofile(_start_thread)
        _main.enable()
