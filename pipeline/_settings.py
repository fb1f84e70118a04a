"""The one settings object: defaults, then NEWSWATCH_* environment variables, then explicit overrides."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, get_args

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

import seeds
from sources import FetchSettings
from storage import DEFAULT_DARK_AFTER, DEFAULT_MAX_ATTEMPTS

DEFAULT_DB = Path("newswatch.db")
_FETCH_DEFAULTS = FetchSettings()


class Settings(BaseSettings):
    """Everything a run is configured with. Each field is also read from NEWSWATCH_<FIELD>."""

    # An empty variable counts as unset, as it does in a shell.
    model_config = SettingsConfigDict(env_prefix="NEWSWATCH_", env_ignore_empty=True, frozen=True, extra="forbid")

    db: Path = DEFAULT_DB
    sources: Path = seeds.SOURCES_FILE
    topics: Path = seeds.TOPICS_FILE
    # Secret: apprise URLs carry tokens and passwords; shown as ********** in reprs and flow parameters.
    alert_urls: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    user_agent: str = _FETCH_DEFAULTS.user_agent
    # One number of seconds for both the connect and the read timeout.
    timeout: float | None = Field(default=None, ge=0)
    # Politeness per site; a robots.txt Crawl-delay still wins when longer.
    per_host: int = Field(default=_FETCH_DEFAULTS.per_host, ge=1)
    min_delay: float = Field(default=_FETCH_DEFAULTS.min_delay, ge=0)
    # A page that failed is retried on later runs until it has failed this many times.
    max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1)
    # A source that fails this many runs in a row raises a "source is dark" notice.
    dark_after: int = Field(default=DEFAULT_DARK_AFTER, ge=1)
    # A digest message carries the HTML report (`newswatch report`) of this many days, to today.
    digest_report_days: int | None = Field(default=None, ge=1)
    # Seconds a monitor run waits for another run on the same store to finish before it skips.
    lock_wait: float = Field(default=30.0, ge=0)
    # Host names, addresses or networks (10.0.0.0/8) that may be fetched from although not public.
    private_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    # Seconds one request may take in all; and one source's feed discovery, or batch of pages.
    request_deadline: float = Field(default=_FETCH_DEFAULTS.request_deadline, gt=0)
    source_deadline: float = Field(default=_FETCH_DEFAULTS.source_deadline, gt=0)
    # How far a source's sitemap index is followed in one run.
    max_sitemaps: int = Field(default=_FETCH_DEFAULTS.max_sitemaps, ge=1)
    max_entries: int = Field(default=_FETCH_DEFAULTS.max_entries, ge=1)
    # A Dask scheduler ("tcp://host:8786") whose workers fetch and extract a backfill's pages.
    dask_address: str | None = None

    @field_validator("alert_urls", "private_hosts", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        """NEWSWATCH_ALERT_URLS and NEWSWATCH_PRIVATE_HOSTS hold items separated by whitespace or commas."""
        return split_list(value) if isinstance(value, str) else value

    @property
    def fetch(self) -> FetchSettings:
        """How politely and patiently to fetch, as the sources package takes it."""
        timeouts = {} if self.timeout is None else {"connect_timeout": self.timeout, "read_timeout": self.timeout}
        return FetchSettings(user_agent=self.user_agent, per_host=self.per_host, min_delay=self.min_delay,
                             private_hosts=self.private_hosts, request_deadline=self.request_deadline,
                             source_deadline=self.source_deadline, max_sitemaps=self.max_sitemaps,
                             max_entries=self.max_entries, **timeouts)


def split_list(value: str) -> tuple[str, ...]:
    """A list in one variable: items separated by whitespace or commas."""
    return tuple(u for u in re.split(r"[\s,]+", value) if u)


def load_settings(
    *,
    db_path: str | Path | None = None,
    sources_file: str | Path | None = None,
    alert_urls: Sequence[str | SecretStr] | None = None,
    dask_address: str | None = None,
) -> Settings:
    """The settings from the environment, overridden by any explicit argument (the CLI's options).
    ValueError naming the variable when one is wrong."""
    overrides = {"db": db_path, "sources": sources_file, "alert_urls": tuple(alert_urls or ()) or None,
                 "dask_address": dask_address}
    try:
        return Settings(**{name: value for name, value in overrides.items() if value is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0])
        raise ValueError(f"NEWSWATCH_{field.upper()} must be {_expected(field, error['msg'])}, "
                         f"not {error['input']!r}") from None


def _expected(field: str, message: str) -> str:
    """What a setting's value must be, in words a user of the environment variable reads."""
    kinds = set(get_args(Settings.model_fields[field].annotation)) or {Settings.model_fields[field].annotation}
    if int in kinds:
        return "a whole number of at least 1"
    if float in kinds:
        return "a number of seconds, 0 or more"
    return message[0].lower() + message[1:]
