from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import certifi
import httpcore
import httpx

from ._encoding import ACCEPT_ENCODING, BoundedDecoder, EncodingError
from ._guard import BlockedAddress, GuardedBackend

USER_AGENT = "newswatch/0.1 (+https://github.com/newswatch/newswatch; news monitoring)"
HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("xml", "rss", "atom", "json", "text/plain", "gzip")


@dataclass(frozen=True)
class FetchSettings:
    """How politely and how patiently to fetch."""

    user_agent: str = USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    max_bytes: int = 5_000_000
    per_host: int = 2
    max_connections: int = 20
    max_redirects: int = 5
    # Answers worth another try in this run: rate limits, server errors, cut connections.
    retries: int = 2
    retry_base_delay: float = 1.0
    # A Retry-After longer than this is left to the next run.
    max_retry_wait: float = 30.0
    # Seconds between the starts of two requests to one host (a robots.txt Crawl-delay, up to
    # max_crawl_delay, wins when longer).
    min_delay: float = 0.5
    max_crawl_delay: float = 10.0
    respect_robots: bool = True
    # RFC 9309 asks crawlers to read at least 500 KiB of a robots.txt; what follows is ignored.
    max_robots_bytes: int = 512_000
    # Seconds one request may take in all, however slowly its body trickles in; and one source's
    # discovery, or one call's batch of pages: what is left then fails, and is retried next run.
    request_deadline: float = 60.0
    source_deadline: float = 300.0
    # A source's sitemap index is followed to at most this many sitemaps and entries per run.
    max_sitemaps: int = 100
    max_entries: int = 50_000
    # Host names, addresses or networks ("10.0.0.0/8") fetched from although loopback, link-local or private.
    private_hosts: tuple[str, ...] = ()
    # Hosts the user named in the sources file, trusted whatever their address, by name only: a
    # feed that links to another name of the same address ("localhost") is still checked.
    trusted_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class FetchedPage:
    url: str
    final_url: str
    content_type: str  # the header as served, with its charset
    body: bytes
    # Validators for a conditional GET next time.
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class NotModified:
    """The server says the document has not changed since the validators we sent (HTTP 304)."""

    url: str


# What a conditional GET sends: (ETag, Last-Modified) from the last time, either may be None.
Validators = tuple[str | None, str | None]


@dataclass(frozen=True)
class FetchFailure:
    url: str
    reason: str


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle takes ~15 ms: once per process, not once per client.
    return ssl.create_default_context(cafile=certifi.where())


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that connects only where the guard allows."""

    def __init__(self, settings: FetchSettings):
        super().__init__(verify=_tls_context())
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_tls_context(), max_connections=settings.max_connections, keepalive_expiry=5.0,
            http2=True,  # negotiated over TLS where the site offers it; plain HTTP stays 1.1
            network_backend=GuardedBackend(settings.private_hosts, settings.trusted_hosts))


def build_client(settings: FetchSettings) -> httpx.AsyncClient:
    """The one place an HTTP client is made: explicit timeouts, limits, redirects, User-Agent, the
    encodings we can undo within limits, and no private address unless its host is listed or trusted."""
    return httpx.AsyncClient(
        transport=_GuardedTransport(settings),
        headers={"User-Agent": settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
        follow_redirects=True,
        max_redirects=settings.max_redirects,
    )


RETRY_STATUSES = {429, 500, 502, 503, 504}


class _Retryable(Exception):
    def __init__(self, failure: FetchFailure, wait: float | None):
        self.failure, self.wait = failure, wait


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), if it says."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


async def _fetch_one(
    client: httpx.AsyncClient, url: str, *, accept: tuple[str, ...] | None, validators: Validators | None,
    settings: FetchSettings, max_bytes: int | None = None, truncate: bool = False,
) -> FetchedPage | NotModified | FetchFailure:
    """GET one URL, conditionally when ``validators`` are given; every way it can go wrong comes
    back as a FetchFailure with a reason. Rate limits, server errors and cut connections are tried
    again, ``settings.retries`` times, after exponential backoff with jitter or the server's Retry-After.
    Each try has ``settings.request_deadline`` seconds in all. A body over ``max_bytes`` (default
    ``settings.max_bytes``) is a failure, or with ``truncate`` cut there."""
    for attempt in range(settings.retries + 1):
        try:
            async with asyncio.timeout(settings.request_deadline):
                return await _get_once(client, url, accept=accept, max_bytes=max_bytes or settings.max_bytes,
                                       validators=validators, truncate=truncate)
        except TimeoutError:
            return FetchFailure(url, f"no complete answer within {settings.request_deadline:g} s")
        except _Retryable as problem:
            backoff = settings.retry_base_delay * 2 ** attempt * random.uniform(1, 1.5)  # jitter spreads retries out
            wait = problem.wait if problem.wait is not None else backoff
            if attempt == settings.retries or wait > settings.max_retry_wait:
                return problem.failure
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


async def _get_once(
    client: httpx.AsyncClient, url: str, *, accept: tuple[str, ...] | None, max_bytes: int,
    validators: Validators | None, truncate: bool,
) -> FetchedPage | NotModified | FetchFailure:
    etag, last_modified = validators or (None, None)
    headers = {k: v for k, v in (("If-None-Match", etag), ("If-Modified-Since", last_modified)) if v}
    try:
        async with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return NotModified(url)
            if response.status_code in RETRY_STATUSES:
                wait = _retry_after(response.headers.get("retry-after"))
                reason = f"HTTP {response.status_code}" + (f" (retry after {wait:.0f} s)" if wait else "")
                raise _Retryable(FetchFailure(url, reason), wait)
            if response.status_code >= 400:
                return FetchFailure(url, f"HTTP {response.status_code}")
            content_type = response.headers.get("content-type", "")
            media_type = content_type.split(";")[0].strip().lower()
            if accept is not None and media_type and not any(t in media_type for t in accept):
                return FetchFailure(url, f"unexpected content type {media_type!r}")
            body = await _read_body(response, max_bytes, truncate)
            if body is None:
                return FetchFailure(url, f"body too large: over {max_bytes} bytes")
            return FetchedPage(url, str(response.url), content_type, body,
                               etag=response.headers.get("etag"), last_modified=response.headers.get("last-modified"))
    except EncodingError as exc:
        return FetchFailure(url, str(exc))
    except httpx.TimeoutException as exc:
        return FetchFailure(url, f"timeout ({type(exc).__name__})")
    except httpx.TooManyRedirects:
        return FetchFailure(url, "too many redirects")
    except httpx.ConnectError as exc:
        if isinstance(exc.__cause__, BlockedAddress):
            return FetchFailure(url, str(exc))
        raise _Retryable(FetchFailure(url, f"connection error: {type(exc).__name__}: {exc}"), None) from None
    except (httpx.ReadError, httpx.RemoteProtocolError) as exc:
        raise _Retryable(FetchFailure(url, f"connection error: {type(exc).__name__}: {exc}"), None) from None
    except httpx.HTTPError as exc:
        return FetchFailure(url, f"connection error: {type(exc).__name__}: {exc}")


async def _read_body(response: httpx.Response, max_bytes: int, truncate: bool) -> bytes | None:
    """The body, decoded as it arrives and never held past ``max_bytes`` (None when longer, or its
    first ``max_bytes`` with ``truncate``)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes and not truncate:
        return None
    decoder = BoundedDecoder(response.headers.get("content-encoding", ""))
    body = bytearray()
    async for chunk in response.aiter_raw():
        for piece in decoder.decode(chunk):
            body += piece
            if len(body) > max_bytes:
                return bytes(body[:max_bytes]) if truncate else None
    decoder.finish()
    return bytes(body)


class _HostGate:
    """A host's request slots and start spacing, shared by every fetch in this process: each
    fetch_pages call runs an event loop of its own, and flows run several at once in threads."""

    def __init__(self, per_host: int):
        self._slots = threading.BoundedSemaphore(per_host)
        self._spacing = threading.Lock()
        self._next_start = 0.0

    @contextlib.asynccontextmanager
    async def slot(self, delay: float):
        """Hold one of the host's slots, from the request's turn to start until it ends."""
        # Polled, not awaited in a thread: a blocked thread could starve the loop's DNS lookups.
        while not self._slots.acquire(blocking=False):
            await asyncio.sleep(_GATE_POLL_SECONDS)
        try:
            with self._spacing:
                now = time.monotonic()
                start = max(now, self._next_start)
                self._next_start = start + delay
            if start > now:
                await asyncio.sleep(start - now)
            yield
        finally:
            self._slots.release()


_GATE_POLL_SECONDS = 0.02
_gates: dict[str, _HostGate] = {}
_gates_lock = threading.Lock()


def _gate(base: str, per_host: int) -> _HostGate:
    """The process's gate for a host; the first fetch of the host sets its number of slots."""
    with _gates_lock:
        return _gates.setdefault(base, _HostGate(per_host))


class _Host:
    """One host's politeness within one fetch: its robots.txt rules, and its share of the
    process-wide gate (at most ``per_host`` of this fetch's requests wait at the gate)."""

    def __init__(self, base: str, settings: FetchSettings):
        self.waiting = asyncio.Semaphore(settings.per_host)
        self.gate = _gate(base, settings.per_host)
        self.delay = settings.min_delay
        self.robots_read = asyncio.Lock()
        self.robots_done = False
        self.robots: RobotFileParser | None = None  # None: everything allowed
        self.robots_failure: str | None = None

    async def read_robots(self, client: httpx.AsyncClient, base: str, settings: FetchSettings) -> None:
        async with self.robots_read:
            if self.robots_done:
                return
            self.robots_done = True
            async with self.gate.slot(self.delay):
                answer = await _fetch_one(client, base + "/robots.txt", accept=None, validators=None,
                                          settings=settings, max_bytes=settings.max_robots_bytes, truncate=True)
            if isinstance(answer, FetchFailure):
                # RFC 9309: unreachable, or a server error, means "disallow all" for now; a 4xx, no rules.
                if not answer.reason.startswith("HTTP 4"):
                    self.robots_failure = f"robots.txt: {answer.reason}; not fetched"
                return
            if isinstance(answer, FetchedPage):
                self.robots = RobotFileParser()
                self.robots.parse(answer.body.decode("utf-8", errors="replace").splitlines())
                crawl_delay = self.robots.crawl_delay(settings.user_agent)
                if crawl_delay:
                    self.delay = max(self.delay, min(float(crawl_delay), settings.max_crawl_delay))


class Fetcher:
    """One shared client for every request made inside ``async with``; per-host politeness shared
    with every other fetch in this process."""

    def __init__(self, settings: FetchSettings):
        self.settings = settings
        self._hosts: dict[str, _Host] = {}

    async def __aenter__(self) -> Fetcher:
        self._client = build_client(self.settings)
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc) -> None:
        await self._client.__aexit__(*exc)

    def _host(self, url: str) -> tuple[str, _Host]:
        parts = urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}"
        if base not in self._hosts:
            self._hosts[base] = _Host(base, self.settings)
        return base, self._hosts[base]

    async def sitemaps(self, url: str) -> list[str]:
        """The sitemaps that the robots.txt of ``url``'s host lists (read once per host)."""
        base, host = self._host(url)
        await host.read_robots(self._client, base, self.settings)
        return (host.robots.site_maps() or []) if host.robots else []

    async def get(self, url: str, *, accept: tuple[str, ...] = HTML_TYPES, validators: Validators | None = None,
                  respect_robots: bool | None = None) -> FetchedPage | NotModified | FetchFailure:
        """Fetch one URL politely; see fetch_pages."""
        settings = self.settings
        base, host = self._host(url)
        if settings.respect_robots if respect_robots is None else respect_robots:
            await host.read_robots(self._client, base, settings)
            if host.robots_failure:
                return FetchFailure(url, host.robots_failure)
            if host.robots and not host.robots.can_fetch(settings.user_agent, url):
                return FetchFailure(url, "disallowed by robots.txt")
        async with host.waiting, host.gate.slot(host.delay):
            return await _fetch_one(self._client, url, accept=accept, validators=validators, settings=settings)


async def _fetch_batch(fetcher: Fetcher, urls: list[str], accept: tuple[str, ...], validators: Mapping[str, Validators],
                       respect_robots: bool | None, on_result: Callable[[str], None] | None):
    settings = fetcher.settings
    tasks = [asyncio.ensure_future(fetcher.get(url, accept=accept, validators=validators.get(url),
                                               respect_robots=respect_robots)) for url in urls]
    if on_result:
        for url, task in zip(urls, tasks, strict=True):
            task.add_done_callback(lambda _, url=url: on_result(url))
    await asyncio.wait(tasks, timeout=settings.source_deadline)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)  # the late ones wind down before the client closes
    late = f"not fetched: the {settings.source_deadline:g} s deadline for the batch passed"
    return [task.result() if task.done() and not task.cancelled() else FetchFailure(url, late)
            for url, task in zip(urls, tasks, strict=True)]


async def _fetch_all(urls: list[str], settings: FetchSettings, accept: tuple[str, ...],
                     validators: Mapping[str, Validators], respect_robots: bool | None):
    async with Fetcher(settings) as fetcher:
        return await _fetch_batch(fetcher, urls, accept, validators, respect_robots, None)


def fetch_pages(
    urls: Iterable[str], settings: FetchSettings, *, accept: tuple[str, ...] = HTML_TYPES,
    validators: Mapping[str, Validators] | None = None, respect_robots: bool | None = None,
) -> list[FetchedPage | NotModified | FetchFailure]:
    """Fetch URLs concurrently, in input order; conditionally for the URLs that have ``validators``.

    Politely: at most ``settings.per_host`` requests at a time per host from this process (however
    many fetches run at once), request starts spaced by ``min_delay`` (or the host's Crawl-delay),
    and, for article pages, what robots.txt disallows is not fetched. Feeds and sitemaps
    (``respect_robots=False``) are published for machines. What is not fetched within
    ``settings.source_deadline`` seconds comes back as a FetchFailure. A run that fetches many
    batches shares one client and each host's robots.txt through a FetchSession.
    """
    urls = list(urls)
    if not urls:
        return []
    return list(asyncio.run(_fetch_all(urls, settings, accept, validators or {}, respect_robots)))


class FetchSession:
    """One HTTP client, with each host's robots.txt rules and politeness, for a whole run: the
    batches of many calls (a backfill's chunks, a monitor run's sources), from any thread, share
    them, so a host's robots.txt is read once a run and its connections are kept. Its event loop
    runs in a thread of its own; ``fetch_pages`` blocks the calling thread until its batch is done."""

    def __init__(self, settings: FetchSettings):
        self.settings = settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fetch-session", daemon=True)
        self._fetcher = Fetcher(settings)

    def __enter__(self) -> FetchSession:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._fetcher.__aenter__(), self._loop).result()
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self._fetcher.__aexit__(None, None, None), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def fetch_pages(self, urls: Iterable[str], *, accept: tuple[str, ...] = HTML_TYPES,
                    validators: Mapping[str, Validators] | None = None, respect_robots: bool | None = None,
                    on_result: Callable[[str], None] | None = None) -> list[FetchedPage | NotModified | FetchFailure]:
        """As the module's fetch_pages, over this session's client; ``on_result(url)`` is called (in
        the session's thread) as each URL's answer comes in."""
        urls = list(urls)
        if not urls:
            return []
        batch = _fetch_batch(self._fetcher, urls, accept, validators or {}, respect_robots, on_result)
        return list(asyncio.run_coroutine_threadsafe(batch, self._loop).result())
