from pathlib import Path

import pytest

import seeds
from newswatch.settings import DEFAULT_DB, load_settings


def test_defaults():
    settings = load_settings(environ={})
    assert settings.db_path == DEFAULT_DB
    assert settings.sources_file == seeds.SOURCES_FILE
    assert settings.alert_urls == ()


def test_environment_then_arguments():
    environ = {"NEWSWATCH_DB": "/data/env.db", "NEWSWATCH_ALERT_URLS": "mailto://a@x.org, json://127.0.0.1:9/\nslack://t",
               "NEWSWATCH_TIMEOUT": "2.5", "NEWSWATCH_USER_AGENT": "custom/1"}
    settings = load_settings(environ=environ)
    assert settings.db_path == Path("/data/env.db")
    assert settings.alert_urls == ("mailto://a@x.org", "json://127.0.0.1:9/", "slack://t")
    assert settings.fetch.read_timeout == settings.fetch.connect_timeout == 2.5
    assert settings.fetch.user_agent == "custom/1"
    overridden = load_settings(db_path="cli.db", alert_urls=["mailto://b@x.org"], environ=environ)
    assert overridden.db_path == Path("cli.db") and overridden.alert_urls == ("mailto://b@x.org",)


def test_alert_urls_never_appear_in_repr():
    settings = load_settings(environ={"NEWSWATCH_ALERT_URLS": "mailto://u:SECRETPW@x.org"})
    assert "SECRETPW" not in repr(settings)


def test_bad_timeout_is_a_clear_error():
    with pytest.raises(ValueError, match="NEWSWATCH_TIMEOUT"):
        load_settings(environ={"NEWSWATCH_TIMEOUT": "soon"})


def test_dark_after():
    assert load_settings(environ={}).dark_after == 3
    assert load_settings(environ={"NEWSWATCH_DARK_AFTER": "5"}).dark_after == 5
    with pytest.raises(ValueError, match="NEWSWATCH_DARK_AFTER"):
        load_settings(environ={"NEWSWATCH_DARK_AFTER": "0"})


def test_politeness_and_lock_wait():
    defaults = load_settings(environ={})
    assert (defaults.fetch.per_host, defaults.fetch.min_delay, defaults.lock_wait) == (2, 0.5, 30.0)
    relaxed = load_settings(environ={"NEWSWATCH_PER_HOST": "8", "NEWSWATCH_MIN_DELAY": "0",
                                     "NEWSWATCH_LOCK_WAIT": "2.5"})
    assert (relaxed.fetch.per_host, relaxed.fetch.min_delay, relaxed.lock_wait) == (8, 0.0, 2.5)
    for name, value in [("NEWSWATCH_PER_HOST", "0"), ("NEWSWATCH_MIN_DELAY", "-1"), ("NEWSWATCH_LOCK_WAIT", "soon")]:
        with pytest.raises(ValueError, match=name):
            load_settings(environ={name: value})


def test_dask_address_from_environment_then_argument():
    assert load_settings(environ={}).dask_address is None
    environ = {"NEWSWATCH_DASK_ADDRESS": "tcp://10.0.0.5:8786"}
    assert load_settings(environ=environ).dask_address == "tcp://10.0.0.5:8786"
    assert load_settings(dask_address="tcp://127.0.0.1:8786", environ=environ).dask_address == "tcp://127.0.0.1:8786"
