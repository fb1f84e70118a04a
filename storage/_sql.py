"""What every table module shares: timestamps and IN-clause chunks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta


def now(later: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + later).isoformat(timespec="seconds")


def in_chunks(urls: Iterable[str], size: int = 400) -> Iterator[tuple[list[str], str]]:
    """Distinct URLs in chunks small enough for one "in (?, ?, ...)" clause, with its placeholders."""
    distinct = list(dict.fromkeys(urls))
    for start in range(0, len(distinct), size):
        chunk = distinct[start:start + size]
        yield chunk, ",".join("?" * len(chunk))
