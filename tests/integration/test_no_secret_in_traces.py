"""No eSMS key and no CallbackUrl signature in any X-Ray document or any log line, when eSMS refuses
connections, never answers, or answers 5xx, for every eSMS call (send, status, account), with tracing
on and Lambda's application log level at DEBUG.

Each run is a process of its own, set up as a Lambda environment with active tracing (the suite turns
tracing off, and the Tracer is a module-level singleton): what the X-Ray SDK emits is captured by a UDP
listener standing in for the X-Ray daemon, what it logs from its stdout and stderr.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from tests.support.traced_esms_calls import API_KEY, OTP, PHONE, SECRET_KEY, SIGNATURE

ROOT = Path(__file__).resolve().parents[2]
TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
SECRETS = [API_KEY, SECRET_KEY, quote_plus(SECRET_KEY), SIGNATURE]


class XrayDaemon:
    """A UDP listener at AWS_XRAY_DAEMON_ADDRESS: every document the X-Ray SDK sends."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.address = f"127.0.0.1:{self._socket.getsockname()[1]}"

    def documents(self) -> list[str]:
        """What arrived so far (the sender has exited: nothing more is on its way)."""
        self._socket.setblocking(False)
        received = []
        while True:
            try:
                received.append(self._socket.recv(65_536).decode())
            except BlockingIOError:
                return received

    def close(self) -> None:
        self._socket.close()


def run_traced_calls(base_url: str, daemon: XrayDaemon, tmp_path: Path) -> str:
    """Every eSMS call from a traced handler; the process's whole output."""
    environment = {
        **os.environ,
        "POWERTOOLS_TRACE_DISABLED": "false",
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "true",
        "POWERTOOLS_TRACER_CAPTURE_ERROR": "true",
        "LAMBDA_TASK_ROOT": str(tmp_path),
        "_X_AMZN_TRACE_ID": TRACE_ID,
        "AWS_XRAY_DAEMON_ADDRESS": daemon.address,
        "AWS_LAMBDA_LOG_LEVEL": "DEBUG",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
    }
    finished = subprocess.run(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-m", "tests.support.traced_esms_calls", base_url],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, output
    return output


@pytest.fixture
def daemon() -> Iterator[XrayDaemon]:
    listener = XrayDaemon()
    yield listener
    listener.close()


@pytest.fixture
def refusing() -> Iterator[str]:
    """A port nothing listens on (held, so that nothing else takes it): every connection refused."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{held.getsockname()[1]}/MainService.svc/json"


@pytest.fixture
def silent() -> Iterator[str]:
    """A server that takes connections and never answers: every call times out."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(64)  # never accepted: the kernel completes the handshakes, nobody answers
        yield f"http://127.0.0.1:{listening.getsockname()[1]}/MainService.svc/json"


@pytest.fixture
def failing() -> Iterator[str]:
    """A server answering 500 with an error page that echoes the request, query and body included."""

    class Handler(BaseHTTPRequestHandler):
        def _fail(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            page = f"<html>Internal error serving {self.path}: {body.decode()}</html>".encode()
            self.send_response(500)
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        do_GET = do_POST = _fail  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/MainService.svc/json"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("esms", ["refusing", "silent", "failing"])
def test_no_key_or_signature_in_any_trace_document_or_log_line(
    esms: str, daemon: XrayDaemon, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    base_url: str = request.getfixturevalue(esms)

    output = run_traced_calls(base_url, daemon, tmp_path)
    documents = daemon.documents()

    # The calls were traced, and logged at DEBUG, and failed as this eSMS fails
    paths = ("SendZaloMessage_V5_post", "GetCallback", "GetSendStatus", "GetZnsTemplateInfo")
    for path in paths:
        assert any(path in document for document in documents), f"no subsegment for {path}"
    assert "root logger at DEBUG" in output
    assert "eSMS call failed" in output
    # And no document, no line, holds a key or the signature
    assert [secret for secret in SECRETS if any(secret in document for document in documents)] == []
    assert [secret for secret in SECRETS if secret in output] == []
    # Nor any message data: the failing handler's error reached X-Ray as its type only
    assert "the failing handler failed" in output
    assert any('"ValueError"' in document for document in documents)
    assert [value for value in (PHONE, OTP) if any(value in document for document in documents)] == []


def test_trace_documents_record_method_host_path_status_and_error_class_only(
    refusing: str, failing: str, daemon: XrayDaemon, tmp_path: Path
) -> None:
    run_traced_calls(refusing, daemon, tmp_path)
    run_traced_calls(failing, daemon, tmp_path)

    entities = [json.loads(document.split("\n", 1)[1]) for document in daemon.documents()]
    refused, answered = (
        entity
        for entity in entities
        if entity.get("http", {}).get("request", {}).get("url", "").endswith("/GetSendStatus")
    )
    assert refused["http"] == {"request": {"method": "GET", "url": refusing + "/GetSendStatus"}}
    assert refused["annotations"] == {"error": "ConnectionError"}
    assert refused["fault"] is True
    assert "cause" not in refused
    assert answered["http"] == {
        "request": {"method": "GET", "url": failing + "/GetSendStatus"},
        "response": {"status": 500},
    }
    assert "annotations" not in answered
