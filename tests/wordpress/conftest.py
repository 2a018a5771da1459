"""Shared by the live test-bed tests: the scratch site, which tests may change."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.helpers import ROOT
from tests.wordpress_truth import live_origin

TESTBED = ROOT / "tests" / "testbed"


def reset() -> None:
    subprocess.run(
        ["bash", str(TESTBED / "reset-site.sh"), "scratch"],
        check=True,
        capture_output=True,
        timeout=300,
    )


def mutate(*args: str) -> str:
    result = subprocess.run(
        ["php", str(TESTBED / "mutate.php"), "scratch", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def scratch() -> Iterator[str]:
    """The scratch site (TA_WP_SCRATCH), rebuilt before and after the test."""
    origin = live_origin("scratch")  # skips when the test bed is down (fails under CI)
    reset()
    try:
        yield origin
    finally:
        reset()
