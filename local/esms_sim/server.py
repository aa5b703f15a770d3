"""The simulator's HTTP plumbing: a threading server that hands each request to one `handle` function."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

MAX_BODY_BYTES = 1_000_000


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"


def json_reply(payload: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(payload, ensure_ascii=False).encode())


def html_reply(status: int, title: str) -> Reply:
    page = f"<html><head><title>{title}</title></head><body><h1>{status} {title}</h1></body></html>"
    return Reply(status, page.encode(), "text/html; charset=utf-8")


# (method, path with its query string, body) -> the reply, or None to close the connection unanswered.
Handle = Callable[[str, str, bytes], Reply | None]


class Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins request threads and stop() leaves none behind
    request_queue_size = 128  # a burst of concurrent senders must not see refused connections

    def __init__(self, address: tuple[str, int], handle: Handle) -> None:
        super().__init__(address, _Handler)
        self.handle = handle

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout test) is normal here; anything else still prints."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    timeout = 10.0  # a connection that never sends its request cannot hold stop() forever

    def do_GET(self) -> None:
        self._send(cast(Server, self.server).handle("GET", self.path, b""))

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self._send(json_reply({"error": "bad Content-Length"}, 400))
            return
        raw = self.rfile.read(length)
        self._send(cast(Server, self.server).handle("POST", self.path, raw))

    def _send(self, reply: Reply | None) -> None:
        """Write the reply; None closes the connection unanswered (the drop fault)."""
        self.close_connection = True
        if reply is None:
            return
        with suppress(ConnectionError):  # the client already gave up
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: no request lines on stderr (and so no chance of logging anything sensitive)."""
