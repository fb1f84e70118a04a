"""The Atom feed over HTTP (`newswatch feed --serve`, `newswatch serve --feed-port`): made from the
store at each request, so a reader polling it sees each run's changes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

FEED_PATH = "/feed.xml"


def feed_server(render: Callable[[str | None, str], bytes], *, host: str = "127.0.0.1",
                port: int = 8080) -> ThreadingHTTPServer:
    """A server (not yet serving: call serve_forever) answering GET /feed.xml[?topic=ID] with
    ``render(topic, the feed's own URL)``; a ValueError from it (an unknown topic) is a 404."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            parts = urlsplit(self.path)
            if parts.path != FEED_PATH:
                return self._send(404, b"not found: the feed is at /feed.xml\n", "text/plain; charset=utf-8")
            topic = parse_qs(parts.query).get("topic", [None])[0]
            try:
                body = render(topic, f"http://{self.headers.get('Host') or f'{host}:{port}'}{self.path}")
            except ValueError as exc:
                return self._send(404, f"{exc}\n".encode(), "text/plain; charset=utf-8")
            self._send(200, body, "application/atom+xml; charset=utf-8")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # no line per poll on the terminal
            pass

    return ThreadingHTTPServer((host, port), Handler)


def serve_in_background(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="feed", daemon=True)
    thread.start()
    return thread
