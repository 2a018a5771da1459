"""Extraction in worker processes gives what extraction in process gives, and survives a
worker dying."""

from __future__ import annotations

import os
import signal

import pytest

from archive.errors import ExtractionError
from archive.extract import extract_page
from archive.extract.workers import ExtractionWorkers
from crawler.snapshot import SNAPSHOT_ORIGIN
from tests.helpers import html_pages

PAGES = [(SNAPSHOT_ORIGIN + path, headers, body) for path, headers, body in html_pages("block")]


@pytest.fixture
def workers():
    pool = ExtractionWorkers(2)
    yield pool
    pool.close()


def test_workers_give_the_same_pages_as_extraction_in_process(workers):
    futures = [workers.submit(*page) for page in PAGES]
    assert [f.result(timeout=60) for f in futures] == [extract_page(*page) for page in PAGES]


def test_no_workers_extracts_in_the_calling_process():
    inline = ExtractionWorkers(0)
    assert inline.submit(*PAGES[0]).result() == extract_page(*PAGES[0])
    inline.close()


@pytest.mark.parametrize("count", [0, 2])
def test_an_unreadable_page_comes_back_as_its_extraction_error(count):
    pool = ExtractionWorkers(count)
    try:
        error = pool.submit("http://b.test/tag/x/", {}, b"\x00\x01" * 600).exception(timeout=60)
    finally:
        pool.close()
    assert isinstance(error, ExtractionError) and error.reason == "binary"
    assert "binary" in str(error)


def test_a_dead_worker_costs_one_page_not_the_crawl(workers):
    from concurrent.futures.process import BrokenProcessPool

    assert workers.submit(*PAGES[0]).result(timeout=60).url == PAGES[0][0]
    for pid in list(workers._pool._processes):  # as the OOM killer would
        os.kill(pid, signal.SIGKILL)
    with pytest.raises(BrokenProcessPool) as caught:
        workers.submit(*PAGES[1]).result(timeout=60)
    error = workers.crashed(caught.value)
    assert error.reason == "crashed"
    # a new pool takes over
    assert workers.submit(*PAGES[1]).result(timeout=60) == extract_page(*PAGES[1])


def test_workers_ignore_the_stop_signals_the_crawler_handles(workers):
    workers.submit(*PAGES[0]).result(timeout=60)
    for pid in list(workers._pool._processes):
        os.kill(pid, signal.SIGINT)
        os.kill(pid, signal.SIGTERM)
    # still alive and working: the crawler decides when they stop (close())
    assert workers.submit(*PAGES[2]).result(timeout=60) == extract_page(*PAGES[2])
