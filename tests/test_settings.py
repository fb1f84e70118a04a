from pathlib import Path

import pytest

import seeds
from pipeline import DEFAULT_DB, load_settings


def in_clear(settings) -> list[str]:
    return [url.get_secret_value() for url in settings.alert_urls]


def setenv(monkeypatch, **variables):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def test_defaults():
    settings = load_settings()
    assert settings.db == DEFAULT_DB
    assert settings.sources == seeds.SOURCES_FILE
    assert settings.alert_urls == ()
    assert settings.fetch.read_timeout == 20.0 and settings.fetch.connect_timeout == 10.0


def test_environment_then_arguments(monkeypatch):
    setenv(monkeypatch, NEWSWATCH_DB="/data/env.db",
           NEWSWATCH_ALERT_URLS="mailto://a@x.org, json://127.0.0.1:9/\nslack://t",
           NEWSWATCH_TIMEOUT="2.5", NEWSWATCH_USER_AGENT="custom/1")
    settings = load_settings()
    assert settings.db == Path("/data/env.db")
    assert in_clear(settings) == ["mailto://a@x.org", "json://127.0.0.1:9/", "slack://t"]
    assert settings.fetch.read_timeout == settings.fetch.connect_timeout == 2.5
    assert settings.fetch.user_agent == "custom/1"
    overridden = load_settings(db_path="cli.db", alert_urls=["mailto://b@x.org"])
    assert overridden.db == Path("cli.db") and in_clear(overridden) == ["mailto://b@x.org"]


def test_an_empty_variable_counts_as_unset(monkeypatch):
    setenv(monkeypatch, NEWSWATCH_TIMEOUT="", NEWSWATCH_DB="")
    settings = load_settings()
    assert settings.db == DEFAULT_DB and settings.timeout is None


def test_alert_urls_never_appear_in_repr_or_dump(monkeypatch):
    setenv(monkeypatch, NEWSWATCH_ALERT_URLS="mailto://u:SECRETPW@x.org")
    settings = load_settings()
    assert "SECRETPW" not in repr(settings)
    assert "SECRETPW" not in settings.model_dump_json()
    assert in_clear(settings) == ["mailto://u:SECRETPW@x.org"]


def test_bad_timeout_is_a_clear_error(monkeypatch):
    setenv(monkeypatch, NEWSWATCH_TIMEOUT="soon")
    with pytest.raises(ValueError, match="NEWSWATCH_TIMEOUT.*'soon'"):
        load_settings()


def test_dark_after(monkeypatch):
    assert load_settings().dark_after == 3
    setenv(monkeypatch, NEWSWATCH_DARK_AFTER="5")
    assert load_settings().dark_after == 5
    setenv(monkeypatch, NEWSWATCH_DARK_AFTER="0")
    with pytest.raises(ValueError, match="NEWSWATCH_DARK_AFTER"):
        load_settings()


def test_politeness_and_lock_wait(monkeypatch):
    monkeypatch.delenv("NEWSWATCH_MIN_DELAY", raising=False)  # the test session's
    defaults = load_settings()
    assert (defaults.fetch.per_host, defaults.fetch.min_delay, defaults.lock_wait) == (2, 0.5, 30.0)
    setenv(monkeypatch, NEWSWATCH_PER_HOST="8", NEWSWATCH_MIN_DELAY="0", NEWSWATCH_LOCK_WAIT="2.5")
    relaxed = load_settings()
    assert (relaxed.fetch.per_host, relaxed.fetch.min_delay, relaxed.lock_wait) == (8, 0.0, 2.5)


@pytest.mark.parametrize("name, value", [("NEWSWATCH_PER_HOST", "0"), ("NEWSWATCH_MIN_DELAY", "-1"),
                                         ("NEWSWATCH_LOCK_WAIT", "soon"), ("NEWSWATCH_PER_HOST", "2.5")])
def test_bad_values_name_their_variable(monkeypatch, name, value):
    setenv(monkeypatch, **{name: value})
    with pytest.raises(ValueError, match=name):
        load_settings()


def test_dask_address_from_environment_then_argument(monkeypatch):
    assert load_settings().dask_address is None
    setenv(monkeypatch, NEWSWATCH_DASK_ADDRESS="tcp://10.0.0.5:8786")
    assert load_settings().dask_address == "tcp://10.0.0.5:8786"
    assert load_settings(dask_address="tcp://127.0.0.1:8786").dask_address == "tcp://127.0.0.1:8786"
