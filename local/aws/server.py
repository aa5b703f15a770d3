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
import subprocess
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from local.aws.patches import SERVER_PATCHES
from local.aws.patches.patching import apply
from local.aws.patches.serving import KeepAliveRequestHandler
from local.runtime.template import ROOT

STARTUP_TIMEOUT_SECONDS = 30
# moto keeps each table item as a tree of objects, long-lived; with Python's default thresholds the
# garbage collector re-walks them all so often that it took up to a third of a Scan of 5,000 items.
GC_THRESHOLDS = (100_000, 50, 100)


class MotoServer:
    """A moto server process with SERVER_PATCHES installed: DynamoDB as DynamoDB behaves, and fast."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._process: subprocess.Popen[str] | None = None
        self.port = 0

    def start(self) -> MotoServer:
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter, this module
            [sys.executable, "-m", "local.aws.server", self._host],
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
