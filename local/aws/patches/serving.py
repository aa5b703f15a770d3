"""Serving: moto's werkzeug server keeps each boto3 connection open instead of one per request.

werkzeug's development server (3.1) closes the connection after every answer and then waits 10 ms for
more from the client; a boto3 call per connection, and a thread lingering per call, cost the stack's
pollers more than the calls themselves. KeepAliveRequestHandler (a subclass, not a patch) and
NO_TRAILING_READ (the one werkzeug patch) fix both; the handler needs the patch, as werkzeug's own
comment says: its read of whatever follows an answer would take the next request on a kept connection
(without it, bench/local_stack_throughput.py hangs).
"""

from __future__ import annotations

import socket
from typing import IO, Any, cast

import werkzeug.serving
from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

from local.aws.patches.patching import Patch


class KeepAliveRequestHandler(MotoRequestHandler):
    """moto's request handler, keeping each HTTP/1.1 connection open for the client's next request.

    werkzeug's development server (3.1) answers every request with "Connection: close", and after each
    response reads whatever else the client sends, waiting 10 ms for it (the next request line, with
    keep-alive). So each boto3 call opened a new connection, and the server started a thread for it that
    lingered 10 ms after answering. Here the request body is read to its Content-Length after the
    response, the trailing read is skipped (NO_TRAILING_READ), and the connection stays open; a request
    with a chunked body still closes it.
    """

    _unread_body: LimitedStream | None = None

    def setup(self) -> None:
        super().setup()
        # Answers go out in several writes; on a connection that stays open, Nagle's algorithm would hold
        # the last one back until the client's delayed acknowledgement (40 ms), as closing no longer flushes.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self) -> None:
        self._unread_body = None  # a request that never reaches make_environ (a malformed one) closes
        super().handle_one_request()

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        if "wsgi.input_terminated" not in environ:  # not chunked: the body ends at its Content-Length
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return environ
            self._unread_body = LimitedStream(cast(IO[bytes], self.rfile), length)
            environ["wsgi.input"] = self._unread_body
        return environ

    def send_header(self, keyword: str, value: str) -> None:
        if self._unread_body is not None and keyword.lower() == "connection" and value.lower() == "close":
            return
        super().send_header(keyword, value)

    def run_wsgi(self) -> None:
        super().run_wsgi()
        if self._unread_body is not None:
            self._unread_body.exhaust()  # whatever the application left unread, before the next request


class _NothingMoreToRead:
    """Stands in for the selectors module in werkzeug.serving, whose run_wsgi uses it for one thing only:
    to read what the client sent after the request it answered (see KeepAliveRequestHandler)."""

    EVENT_READ = 1

    class DefaultSelector:
        def register(self, *_: Any) -> None:
            pass

        def select(self, timeout: float | None = None) -> list[Any]:
            return []

        def close(self) -> None:
            pass


NO_TRAILING_READ = Patch(
    werkzeug.serving,
    "selectors",
    lambda _: _NothingMoreToRead,
    "774df60c75af",
    relies_on=WSGIRequestHandler.run_wsgi,
    why="werkzeug reads on after each answer (10 ms): on a kept connection that ate the next request",
)

PATCHES = (NO_TRAILING_READ,)
