"""The one settings object: defaults, then environment, then explicit overrides (the CLI's options)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import seeds
from sources import FetchSettings
from storage import DEFAULT_MAX_ATTEMPTS

DEFAULT_DB = Path("newswatch.db")
DEFAULT_DARK_AFTER = 3
# How long a monitor run waits for another run on the same store before it skips.
DEFAULT_LOCK_WAIT = 30.0


@dataclass(frozen=True)
class Settings:
    db_path: Path = DEFAULT_DB
    sources_file: Path = seeds.SOURCES_FILE
    topics_file: Path = seeds.TOPICS_FILE
    # Secret: apprise URLs carry tokens and passwords. Never log them; see alerts.mask_url.
    alert_urls: tuple[str, ...] = field(default=(), repr=False)
    fetch: FetchSettings = FetchSettings()
    # A page that failed is retried on later runs until it has failed this many times.
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    # A source that fails this many runs in a row raises a "source is dark" notice.
    dark_after: int = DEFAULT_DARK_AFTER
    # Seconds a monitor run waits for another run on the same store to finish before it skips.
    lock_wait: float = DEFAULT_LOCK_WAIT
    # A Dask scheduler ("tcp://host:8786") whose workers fetch and extract a backfill's pages.
    dask_address: str | None = None


def split_alert_urls(value: str) -> tuple[str, ...]:
    """NEWSWATCH_ALERT_URLS holds URLs separated by whitespace or commas."""
    return tuple(u for u in re.split(r"[\s,]+", value) if u)


def load_settings(
    *,
    db_path: str | Path | None = None,
    sources_file: str | Path | None = None,
    alert_urls: Sequence[str] | None = None,
    dask_address: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Settings:
    """Settings from the environment (NEWSWATCH_DB, NEWSWATCH_SOURCES, NEWSWATCH_TOPICS,
    NEWSWATCH_ALERT_URLS, NEWSWATCH_USER_AGENT, NEWSWATCH_TIMEOUT, NEWSWATCH_PER_HOST, NEWSWATCH_MIN_DELAY,
    NEWSWATCH_DARK_AFTER, NEWSWATCH_LOCK_WAIT, NEWSWATCH_DASK_ADDRESS),
    overridden by any explicit argument."""
    defaults = Settings()
    fetch = defaults.fetch
    if environ.get("NEWSWATCH_USER_AGENT"):
        fetch = replace(fetch, user_agent=environ["NEWSWATCH_USER_AGENT"])
    if environ.get("NEWSWATCH_TIMEOUT"):
        seconds = _seconds(environ, "NEWSWATCH_TIMEOUT", fetch.read_timeout)
        fetch = replace(fetch, connect_timeout=seconds, read_timeout=seconds)
    # Politeness per site; a robots.txt Crawl-delay still wins when longer.
    fetch = replace(fetch, per_host=_positive_int(environ, "NEWSWATCH_PER_HOST", fetch.per_host),
                    min_delay=_seconds(environ, "NEWSWATCH_MIN_DELAY", fetch.min_delay))
    return Settings(
        db_path=Path(db_path or environ.get("NEWSWATCH_DB") or defaults.db_path),
        sources_file=Path(sources_file or environ.get("NEWSWATCH_SOURCES") or defaults.sources_file),
        topics_file=Path(environ.get("NEWSWATCH_TOPICS") or defaults.topics_file),
        alert_urls=tuple(alert_urls) if alert_urls else split_alert_urls(environ.get("NEWSWATCH_ALERT_URLS", "")),
        fetch=fetch,
        dark_after=_positive_int(environ, "NEWSWATCH_DARK_AFTER", defaults.dark_after),
        lock_wait=_seconds(environ, "NEWSWATCH_LOCK_WAIT", defaults.lock_wait),
        dask_address=dask_address or environ.get("NEWSWATCH_DASK_ADDRESS") or None,
    )


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    value = environ.get(name)
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ValueError(f"{name} must be a number of seconds, not {value!r}")
    return seconds


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name)
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    return int(value)
