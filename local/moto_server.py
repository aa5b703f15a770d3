"""moto in server mode on a loopback port: SQS, DynamoDB (and its streams), EventBridge and Secrets
Manager for the local stack.

It runs in a child process: moto is CPU-bound Python, and giving it its own interpreter (and so its
own core) keeps it from competing for the GIL with the functions, the poller and the simulator.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from local.moto_atomic import atomic_dynamodb_wsgi
from local.moto_events import cache_jsonpath_parsing
from local.moto_streams import patch_for_server

STARTUP_TIMEOUT_SECONDS = 30


class MotoServer:
    """A moto server process whose DynamoDB applies each request atomically (see moto_atomic)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._process: subprocess.Popen[str] | None = None
        self.port = 0

    def start(self) -> MotoServer:
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter, this module
            [sys.executable, "-m", "local.moto_server", self._host],
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

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def serve(host: str) -> None:
    """The child process: serve until terminated, after printing the port on one JSON line."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the stack, which then stops us
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    patch_for_server()
    cache_jsonpath_parsing()
    app = atomic_dynamodb_wsgi(DomainDispatcherApplication(create_backend_app))
    server = make_server(host, 0, app, threaded=True, request_handler=MotoRequestHandler)
    print(json.dumps({"port": server.server_port}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1")
