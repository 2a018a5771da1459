"""RetryBackoff: when a site that failed is asked again. Scrapy's RetryMiddleware decides whether.

A response RetryMiddleware would retry (RETRY_HTTP_CODES: 5xx, 429, 408) or an exception it
would retry (RETRY_EXCEPTIONS: connection refused or lost, timeouts) puts the site on hold:
no request to it leaves until the hold ends, retried or not, so a site in trouble gets a
pause rather than the next pages at once. The hold is exponential backoff with full jitter
(AWS's "full jitter": a uniform draw between 0 and min(cap, base * 2**(n - 1)) for the n-th
try of a page), and lasts at least what the server's Retry-After asks, when it asks for
more. A hold only ever lengthens: two failures at once hold the site for the longer wait.

Per site: the key is the downloader slot (the host, as for DOWNLOAD_DELAY and AutoThrottle),
and the wait is an asynchronous sleep in process_request, so other sites' requests and the
reactor carry on. It adds to AutoThrottle rather than fighting it: the downloader's own delay
counts from the last request sent, which the hold already pushed back, so the site's next
request waits for whichever is longer.

Priority 551, just above RetryMiddleware (550): process_response and process_exception see
the failure before it retries, and process_request holds a request before the WARC capture
(950) stamps the time it was sent.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.misc import load_object

logger = logging.getLogger(__name__)

# --delay 0 (DOWNLOAD_DELAY 0) means a local site, where a 1 s base would only slow tests
# and demos down; the waits still double from there.
LOCAL_BASE = 0.05
POLITE_BASE = 1.0
# Longest single sleep: a stopping crawl is noticed at least this often.
_SLICE = 0.5


def retry_after_seconds(value: bytes | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_ceiling(attempt: int, base: float, cap: float) -> float:
    """The longest wait before the `attempt`-th retry (1, 2, ...): base doubling, capped."""
    return min(cap, base * 2 ** max(0, attempt - 1))


def full_jitter(attempt: int, base: float, cap: float, rng: random.Random = random) -> float:
    """A wait drawn uniformly from [0, backoff_ceiling(...)]: retries of many pages (and
    many crawlers) spread out instead of arriving together."""
    return rng.uniform(0.0, backoff_ceiling(attempt, base, cap))


class RetryBackoff:
    """Holds a site's requests after it failed: see the module docstring.

    Settings: TAG_ARCHIVER_BACKOFF_BASE (seconds; None: 1 s, or 0.05 s when DOWNLOAD_DELAY
    is 0), TAG_ARCHIVER_BACKOFF_MAX (the cap), TAG_ARCHIVER_RETRY_AFTER_MAX (a longer
    Retry-After fails the page at once: a nightly run must end). Disabled with
    RETRY_ENABLED, like the retries it times.
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("RETRY_ENABLED"):
            raise NotConfigured("RETRY_ENABLED is off")
        self.crawler = crawler
        base = settings.get("TAG_ARCHIVER_BACKOFF_BASE")
        if base in (None, ""):
            base = POLITE_BASE if settings.getfloat("DOWNLOAD_DELAY") > 0 else LOCAL_BASE
        self.base = float(base)
        self.cap = settings.getfloat("TAG_ARCHIVER_BACKOFF_MAX")
        self.retry_after_max = settings.getfloat("TAG_ARCHIVER_RETRY_AFTER_MAX")
        self.codes = {int(code) for code in settings.getlist("RETRY_HTTP_CODES")}
        self.exceptions = tuple(
            load_object(name) if isinstance(name, str) else name
            for name in settings.getlist("RETRY_EXCEPTIONS")
        )
        self.until: dict[str, float] = {}  # slot key -> time.monotonic() the hold ends
        self.rng = random.Random()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryBackoff:
        return cls(crawler)

    # --- when a request may leave -------------------------------------------------------------

    async def process_request(self, request: Request) -> None:
        site = self.site(request)
        waited = 0.0
        while (left := self.until.get(site, 0.0) - time.monotonic()) > 0:
            if self.stopping():
                raise IgnoreRequest(f"the crawl is stopping while {site} is on hold")
            step = min(left, _SLICE)
            await sleep(step)
            waited += step
        if waited:
            self.crawler.stats.inc_value("tag_archiver/backoff/waits")
            self.crawler.stats.inc_value("tag_archiver/backoff/seconds", round(waited, 3))

    # --- failures that put the site on hold ---------------------------------------------------

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in self.codes:
            return response
        wait = full_jitter(self.attempt(request), self.base, self.cap, self.rng)
        asked = retry_after_seconds(response.headers.get("Retry-After"))
        stats = self.crawler.stats
        if asked is not None and asked > self.retry_after_max:
            stats.inc_value("tag_archiver/retry_after/too_long")
            logger.warning(
                "%s asks to wait %.0f s (TAG_ARCHIVER_RETRY_AFTER_MAX is %.0f): not retrying",
                request.url, asked, self.retry_after_max,
            )  # fmt: skip
            request.meta["dont_retry"] = True  # RetryMiddleware, next in line, reads it
        elif asked is not None and asked > wait:
            stats.inc_value("tag_archiver/retry_after/honoured")
            wait = asked
        self.hold(request, wait, f"answered {response.status}")
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if isinstance(exception, self.exceptions):
            wait = full_jitter(self.attempt(request), self.base, self.cap, self.rng)
            self.hold(request, wait, type(exception).__name__)

    # --- helpers --------------------------------------------------------------------------------

    def attempt(self, request: Request) -> int:
        """Which retry this failure would lead to: 1 after the first try failed."""
        return request.meta.get("retry_times", 0) + 1

    def site(self, request: Request) -> str:
        engine = self.crawler.engine
        if engine is None:
            return request.meta.get("download_slot", "")
        return engine.downloader.get_slot_key(request)

    def hold(self, request: Request, wait: float, why: str) -> None:
        site = self.site(request)
        until = time.monotonic() + wait
        if until <= self.until.get(site, 0.0):
            return  # already held longer
        self.until[site] = until
        self.crawler.stats.inc_value("tag_archiver/backoff/holds")
        logger.info(
            "%s %s (try %d): holding requests to %s for %.2f s",
            request.url, why, self.attempt(request), site, wait,
        )  # fmt: skip

    def stopping(self) -> bool:
        """A graceful stop waits for requests in flight, held ones included: let them go."""
        engine = self.crawler.engine
        if engine is None or not engine.running:
            return True
        slot = getattr(engine, "_slot", None)  # Scrapy has no public "closing" flag
        return slot is not None and slot.closing is not None
