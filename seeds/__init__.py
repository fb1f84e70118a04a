"""What a fresh install monitors and tests against: default sources, topics and the demo news site."""

from __future__ import annotations

from pathlib import Path

SEEDS_DIR = Path(__file__).parent
SOURCES_FILE = SEEDS_DIR / "sources.toml"
TOPICS_FILE = SEEDS_DIR / "topics.toml"
# The seeds' topics and a second pair of countries that extends them (README, "Add a topic").
EXAMPLE_TOPICS_FILE = SEEDS_DIR / "us-venezuela-topics.toml"
SITE_DIR = SEEDS_DIR / "site"
# The two seed documents the demo site's articles were built from (the captures the user reported).
DOCUMENTS_DIR = SEEDS_DIR / "documents"
# Stands for the demo site's base URL in its pages and feeds, which is only known once it is served.
SITE_PLACEHOLDER = "{{SITE}}"

_CONTENT_TYPES = {".html": "text/html", ".xml": "application/xml"}


def demo_site(base_url: str) -> dict[str, tuple[str, bytes]]:
    """The demo site's files as {path: (content type, body)}, with links pointing at ``base_url``.
    A file in UTF-8 is served saying so; one in another charset (the Arabic outlet's windows-1256)
    without a charset, as many servers do: its own declaration names it."""
    pages = {}
    for file in sorted(SITE_DIR.rglob("*")):
        if file.suffix in _CONTENT_TYPES:
            body = file.read_bytes().replace(SITE_PLACEHOLDER.encode(), base_url.rstrip("/").encode())
            path = "/" + file.relative_to(SITE_DIR).as_posix()
            pages["/" if path == "/index.html" else path] = (_content_type(file.suffix, body), body)
    return pages


def _content_type(suffix: str, body: bytes) -> str:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return _CONTENT_TYPES[suffix]
    return f"{_CONTENT_TYPES[suffix]}; charset=utf-8"


def demo_sources_toml(base_url: str) -> str:
    """A sources file for the demo site served at ``base_url``."""
    base = base_url.rstrip("/")
    return (
        '[[sources]]\nname = "The Statecraft Review"\n'
        f'feed = "{base}/review/feed.xml"\n\n'
        '[[sources]]\nname = "Global Wire Daily"\n'
        f'feed = "{base}/daily/atom.xml"\n\n'
        '[[sources]]\nname = "Al-Waha Today (Arabic)"\n'
        f'feed = "{base}/alwaha/rss.xml"\n\n'
        '[[sources]]\nname = "Payam-e Emrooz (Persian)"\n'
        f'feed = "{base}/payam/feed.xml"\n'
    )
