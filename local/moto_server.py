"""moto in server mode on a loopback port: SQS, DynamoDB (and its streams), EventBridge and Secrets
Manager for the local stack.

It runs in a child process: moto is CPU-bound Python, and giving it its own interpreter (and so its
own core) keeps it from competing for the GIL with the functions, the poller and the simulator.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from typing import IO, Any, cast

import werkzeug.serving
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wsgi import LimitedStream

from local import moto_atomic, moto_events, moto_speedups, moto_streams
from local.moto_patching import Patch, apply
from local.template import ROOT

STARTUP_TIMEOUT_SECONDS = 30
# moto keeps each table item as a tree of objects, long-lived; with Python's default thresholds the
# garbage collector re-walks them all so often that it took up to a third of a Scan of 5,000 items.
GC_THRESHOLDS = (100_000, 50, 100)


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
)

# Every patch of the server process: DynamoDB's semantics (atomic writes, one stream record per write),
# then speed (SQS, DynamoDB, serving, EventBridge's JSONPath, kept connections). No attribute twice.
SERVER_PATCHES = (
    *moto_atomic.PATCHES,
    *moto_streams.PATCHES,
    *moto_speedups.PATCHES,
    *moto_events.PATCHES,
    NO_TRAILING_READ,
)


class MotoServer:
    """A moto server process with SERVER_PATCHES installed: DynamoDB as DynamoDB behaves, and fast."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._process: subprocess.Popen[str] | None = None
        self.port = 0

    def start(self) -> MotoServer:
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter, this module
            [sys.executable, "-m", "local.moto_server", self._host],
            cwd=ROOT,  # `local` is found from the repository's root, wherever the caller runs
            stdin=subprocess.PIPE,  # never written: its end closing tells the server we are gone
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        ready: list[str] = []
        reader = threading.Thread(target=lambda: ready.append(self._process.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(STARTUP_TIMEOUT_SECONDS)
        if not ready or not ready[0]:
            self.stop()
            raise RuntimeError("moto server did not start")
        self.port = int(json.loads(ready[0])["port"])
        return self

    @property
    def pid(self) -> int | None:
        """The server process's id (for a profiler), while it runs."""
        return self._process.pid if self._process is not None else None

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def _exit_with_parent() -> None:
    """End this process once the stack that started it is gone, however it ended (even killed, with no
    chance to stop us): its end of our stdin closes then."""
    sys.stdin.buffer.read()
    os._exit(0)


def serve(host: str) -> None:
    """The child process: serve until terminated or orphaned, after printing the port on one JSON line."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the stack, which then stops us
    threading.Thread(target=_exit_with_parent, name="parent-watch", daemon=True).start()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    gc.set_threshold(*GC_THRESHOLDS)
    apply(SERVER_PATCHES)
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(host, 0, app, threaded=True, request_handler=KeepAliveRequestHandler)
    print(json.dumps({"port": server.server_port}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1")
