"""Scripts that print newswatch's quality and speed figures (see each module's docstring)."""

import os
import tempfile


def private_prefect() -> None:
    """A Prefect home of the run's own, no telemetry, warnings only. Call before importing prefect."""
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="newswatch-bench-"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def loopback_sources() -> None:
    """The benchmarks' news sites are on 127.x.x.x: let newswatch fetch from them."""
    os.environ.setdefault("NEWSWATCH_PRIVATE_HOSTS", "127.0.0.0/8")
