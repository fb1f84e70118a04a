"""newswatch: scheduled news monitoring. The console script and settings live here."""

__version__ = "0.1.0"
