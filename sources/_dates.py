from __future__ import annotations

from datetime import UTC, date

from dateutil import parser as dateparser


def parse_day(value: str | None) -> date | None:
    """The calendar day (in UTC when the value has a time zone) of a feed, sitemap or page date:
    RFC 822 ("Tue, 19 Dec 2019 10:00:00 GMT"), ISO 8601 ("2019-12-19T10:00:00+09:00") and the like.
    None when there is no date or it cannot be read."""
    if not value:
        return None
    try:
        parsed = dateparser.parse(value)
    except (ValueError, OverflowError):
        return None
    return (parsed.astimezone(UTC) if parsed.tzinfo else parsed).date()
