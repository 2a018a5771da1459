"""crawler.stop: a stop sent to a child while its interpreter starts is never lost or raw."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from crawler.stop import INTERRUPTED_EXIT, STOP_SIGNALS, STOPS

# A child that is slow to take the signals, as an interpreter with a long startup is.
SLOW_START = (
    "import time; time.sleep(1.0)\n"
    "from crawler.stop import STOP_SIGNALS\n"
    "STOP_SIGNALS.install()\n"
    "time.sleep(30)\n"
)


def start(blocked: bool) -> subprocess.Popen:
    command = [sys.executable, "-c", SLOW_START]
    if not blocked:
        return subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    with STOP_SIGNALS.blocked_for_child():
        return subprocess.Popen(command, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_before_the_child_takes_the_signals_waits_for_it(signum):
    child = start(blocked=True)
    child.send_signal(signum)
    _, stderr = child.communicate(timeout=20)
    assert child.returncode == INTERRUPTED_EXIT, stderr
    assert "interrupted before the run began" in stderr
    assert "Traceback" not in stderr


def test_without_the_block_python_meets_the_stop_itself():
    """The control: the same child, started plainly, dies in Python's own handling."""
    child = start(blocked=False)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=20)
    killed, raised = child.returncode == -signal.SIGINT, child.returncode == 1
    assert killed or (raised and "KeyboardInterrupt" in stderr), (child.returncode, stderr)


def test_the_block_is_the_childs_only():
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    child = start(blocked=True)
    child.kill()
    child.communicate(timeout=20)
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before
    assert not STOPS & before


# A stop that Python hands to the handler while it runs a callback (a weakref's, as
# importlib's module locks have): an exception raised there would be printed and forgotten.
IN_A_CALLBACK = """
import os, signal, time, weakref
from crawler.stop import STOP_SIGNALS
STOP_SIGNALS.install()

class Thing:
    pass

def callback(_):
    os.kill(os.getpid(), signal.SIGTERM)
    for _ in range(10_000):  # the handler runs here, inside the callback
        pass

thing = Thing()
reference = weakref.ref(thing, callback)
del thing
time.sleep(0.5)
print("went on")
"""


def test_a_stop_met_inside_a_callback_still_ends_the_process():
    child = subprocess.run(
        [sys.executable, "-c", IN_A_CALLBACK], capture_output=True, text=True, timeout=20
    )
    assert child.returncode == INTERRUPTED_EXIT, child.stderr
    assert "went on" not in child.stdout
    assert "Traceback" not in child.stderr
