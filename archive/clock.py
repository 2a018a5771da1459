"""The one spelling of a moment in the database: UTC to the second, ISO 8601 with a Z.

Every timestamp column (runs, captures, articles' first_seen/last_seen/gone_at) is compared
as text, so every writer must spell moments the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso_seconds(moment: datetime) -> str:
    """`moment` as 2026-01-02T03:04:05Z. An aware moment is converted to UTC first; a naive
    one (warcio's WARC-Date) is taken to be UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> str:
    """Now, as iso_seconds spells it."""
    return iso_seconds(datetime.now(UTC))
