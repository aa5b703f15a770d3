"""A scripted eSMS on loopback for tests: real HTTP, answers chosen per request by the test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = ""
    delay_seconds: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()
    drop: bool = False  # close the connection without answering, after reading the request
    hang: bool = False  # never answer: the client's read timeout decides, however busy the machine is
    trickle_seconds: float = 0.0  # the body a byte at a time, this long apart (until the client leaves)


def accepted(sms_id: str) -> Reply:
    return Reply(body=json.dumps({"CodeResult": "100", "CountRegenerate": 0, "SMSID": sms_id}))


def refused(code: str, message: str = "refused") -> Reply:
    return Reply(body=json.dumps({"CodeResult": code, "CountRegenerate": 0, "ErrorMessage": message}))


def template_info(temp_id: str, *params: dict[str, Any], status: str = "ENABLE") -> Reply:
    """GetZnsTemplateInfo's answer for a template with these ListParams entries (eSMS's sample's shape)."""
    data = {"ListParams": list(params), "Status": status, "TemplateId": int(temp_id), "TemplateName": "t"}
    return Reply(body=json.dumps({"Data": data, "Error": 0, "Message": "Success"}))


def unknown_template() -> Reply:
    """What the simulator answers GetZnsTemplateInfo for a TempID it does not know (eSMS documents none)."""
    return Reply(body=json.dumps({"Data": None, "Error": 789, "Message": "TemplateId is not config"}))


Responder = Callable[[dict[str, Any]], Reply]
TEMPLATE_INFO_PATH = "/GetZnsTemplateInfo"


def _write(handler: BaseHTTPRequestHandler, reply: Reply, closing: threading.Event) -> None:
    """Send the reply: at once, or a byte at a time until the stub closes."""
    payload = reply.body.encode()
    try:
        handler.send_response(reply.status)
        for name, value in reply.headers:
            handler.send_header(name, value)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if not reply.trickle_seconds:
            handler.wfile.write(payload)
            return
        for index in range(len(payload)):
            handler.wfile.write(payload[index : index + 1])
            handler.wfile.flush()
            if closing.wait(reply.trickle_seconds):
                return
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (a timeout test)


class EsmsStub:
    """Records every POSTed body (and a GET's query parameters, as a body: GetSendStatus); `responder`
    decides each answer (default: accept with a fresh SMSID). GetZnsTemplateInfo, which the sender asks
    before it sends, is apart: its queries in `template_queries`, its answers by `template_responder`
    (default: an unknown template, so the sender sends unchecked, as without the check)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.template_queries: list[dict[str, Any]] = []
        self.responder: Responder = lambda body: accepted(f"sms-{body.get('RequestId', 'x')}")
        self.template_responder: Responder = lambda query: unknown_template()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                self._answer(json.loads(self.rfile.read(length) or b"{}"))

            def do_GET(self) -> None:
                self._answer(dict(parse_qsl(urlsplit(self.path).query)))

            def _answer(self, body: dict[str, Any]) -> None:
                asks_template = urlsplit(self.path).path.endswith(TEMPLATE_INFO_PATH)
                with stub._lock:
                    if asks_template:
                        stub.template_queries.append(body)
                    else:
                        stub.bodies.append(body)
                        stub.paths.append(self.path)
                reply = (stub.template_responder if asks_template else stub.responder)(body)
                if reply.hang:
                    stub._closing.wait()
                    return
                time.sleep(reply.delay_seconds)
                if reply.drop:
                    self.close_connection = True
                    return
                _write(self, reply, stub._closing)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/MainService.svc/json"

    def sends_for(self, request_id: str) -> int:
        with self._lock:
            return sum(1 for body in self.bodies if body.get("RequestId") == request_id)

    def __enter__(self) -> EsmsStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
