"""Real servers on 127.0.0.1 for the demo and the tests: a small web site and an SMTP sink."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    # When it arrived (time.monotonic()): the spacing of a site's requests, measured at the server.
    at: float = field(default_factory=time.monotonic)


@dataclass
class Response:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    # A body sent piece by piece, as made, with no Content-Length: endless or trickling ones.
    stream: Callable[[], Iterable[bytes]] | None = None


class LoopbackSite:
    """Serves ``routes`` ({path: Response}) on 127.0.0.1 from a thread; edit routes while it runs.
    A route may be a list of Responses, served in turn (the last one from then on). GET and POST
    are answered alike, and every request is kept in ``requests`` (a webhook receiver)."""

    def __init__(self, routes: dict[str, Response] | None = None, *, port: int = 0, host: str = "127.0.0.1"):
        self.routes: dict[str, Response | list[Response]] = dict(routes or {})
        self.requests: list[SeenRequest] = []
        # Requests being answered now, and the most at once: concurrency measured at the server.
        self.in_flight = 0
        self.peak_in_flight = 0
        self._count = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with site._count:
                    site.in_flight += 1
                    site.peak_in_flight = max(site.peak_in_flight, site.in_flight)
                try:
                    self._answer()
                finally:
                    with site._count:
                        site.in_flight -= 1

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                site.requests.append(SeenRequest(self.command, self.path, dict(self.headers), body))
                response = site.routes.get(self.path.split("?")[0]) or Response(b"not found", "text/plain", 404)
                if isinstance(response, list):
                    response = response.pop(0) if len(response) > 1 else response[0]
                if response.delay:
                    time.sleep(response.delay)
                # Like most servers: an ETag from the body, and 304 to a request that already has it.
                headers = {"ETag": '"' + hashlib.sha1(response.body).hexdigest()[:16] + '"', **response.headers}
                if response.status == 200 and self.headers.get("If-None-Match") == headers["ETag"]:
                    self.send_response(304)
                    self.send_header("ETag", headers["ETag"])
                    self.end_headers()
                    return
                try:
                    self.send_response(response.status)
                    self.send_header("Content-Type", response.content_type)
                    if not response.stream:
                        self.send_header("Content-Length", str(len(response.body)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    for piece in response.stream() if response.stream else [response.body]:
                        self.wfile.write(piece)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test); nothing to answer

            do_POST = do_GET

            def log_message(self, *args):
                pass

        if not host.startswith("127."):
            raise ValueError(f"{host} is not a loopback address")
        try:
            self._server = ThreadingHTTPServer((host, port), Handler)
        except OSError:
            if not port:
                raise
            self._server = ThreadingHTTPServer((host, 0), Handler)  # the preferred port is taken
        self._server.daemon_threads = True
        self.base_url = f"http://{host}:{self._server.server_port}"
        # Shutting down waits for the next poll: 0.5 s by default, paid by every test that serves a site.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    def __enter__(self) -> LoopbackSite:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return self.base_url + path


class MailSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it receives."""

    def __init__(self, *, port: int | None = None, on_message: Callable[[EmailMessage], None] | None = None):
        self.messages: list[EmailMessage] = []
        self._on_message = on_message
        self.port = port or free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(message)
        if self._on_message:
            self._on_message(message)
        return "250 Message accepted"

    def alert_url(self, to: str = "alerts@example.org") -> str:
        """An apprise URL that sends to this server."""
        return f"mailto://127.0.0.1:{self.port}?from=newswatch@localhost&to={to}"

    def __enter__(self) -> MailSink:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()
