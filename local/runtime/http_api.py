"""API Gateway's HTTP API, played locally: requests become payload-2.0 events for the routed function.

A route with the AWS_IAM authorizer refuses a request that is not SigV4-signed (403, as API Gateway
does); locally the signature itself is not verified, only its presence and form, and no IAM policy is
evaluated (tests/infra/test_status_policies.py evaluates docs/outcomes.md's). Like HTTP API, it routes the
percent-decoded path and hands it to the function decoded in `rawPath` and the path parameters (REST APIs
and function URLs keep it encoded: live captures in github.com/middleapi/standard-server/pull/93).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.runtime.lambda_runtime import (
    ExecutionEnvironments,
    FunctionTimedOut,
    InvocationError,
    RuntimeExited,
)
from local.runtime.template import PSEUDO_PARAMETERS

log = logging.getLogger("local.runtime.http_api")
MAX_BODY_BYTES = 1_000_000
IAM_AUTHORIZER = "AWS_IAM"
_SIGV4 = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<access_key>[^/,\s]+)/[^,\s]+,"
    r"\s*SignedHeaders=[^,\s]+,\s*Signature=[0-9a-f]{64}"
)


@dataclass(frozen=True)
class Route:
    """One HttpApi event of template.yaml: `GET /callbacks/esms/{token}` -> a function."""

    method: str
    path: str
    function: ExecutionEnvironments
    authorizer: str | None = None  # AWS_IAM, or None for a public route

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        found = re.fullmatch(pattern, path)
        return found.groupdict() if found else None


class HttpApiServer:
    """Serves the template's HttpApi routes, each request an invocation of the routed function."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: list[Route] = []
        api = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                api._serve(self)

            def do_POST(self) -> None:
                api._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # an access log line would carry the raw path, and so the callback token

        self._server = ThreadingHTTPServer((host, port), RequestHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-api", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_port

    def start(self) -> HttpApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        url = urlsplit(request.path)
        path = unquote(url.path)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(min(length, MAX_BODY_BYTES)) if length else b""
        for route in self.routes:
            parameters = route.match(request.command, path)
            if parameters is not None:
                event = _event(
                    request, route, path=path, query=url.query, path_parameters=parameters, body=body
                )
                if route.authorizer == IAM_AUTHORIZER:
                    identity = _iam_identity(request.headers.get("Authorization", ""))
                    if identity is None:
                        _respond(
                            request, 403, {"content-type": "application/json"}, b'{"message":"Forbidden"}'
                        )
                        return
                    event["requestContext"]["authorizer"] = {"iam": identity}
                try:
                    result = route.function.invoke(event)
                except Exception as error:
                    # A function's failure is told by its log; a traceback only for a failure of ours.
                    log.warning(
                        "invocation failed: %s", error, exc_info=not isinstance(error, InvocationError)
                    )
                    _respond(request, *_failure_parts(error))
                    return
                _respond(request, *_response_parts(result))
                return
        _respond(request, 404, {"content-type": "application/json"}, b'{"message":"Not Found"}')


def _event(
    request: BaseHTTPRequestHandler,
    route: Route,
    *,
    path: str,
    query: str,
    path_parameters: dict[str, str],
    body: bytes,
) -> dict[str, Any]:
    """The HTTP API payload format 2.0 event API Gateway would send."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    query_parameters: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
        query_parameters[name] = f"{query_parameters[name]},{value}" if name in query_parameters else value
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": PSEUDO_PARAMETERS["AWS::AccountId"],
            "apiId": "local",
            "domainName": headers.get("host", "localhost"),
            "domainPrefix": "local",
            "http": {
                "method": request.command,
                "path": path,
                "protocol": request.request_version,
                "sourceIp": request.client_address[0],
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if query_parameters:
        event["queryStringParameters"] = query_parameters
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def _iam_identity(authorization: str) -> dict[str, Any] | None:
    """What API Gateway tells the function about a SigV4 caller; None for a request not signed."""
    signed = _SIGV4.match(authorization)
    if signed is None:
        return None
    account = PSEUDO_PARAMETERS["AWS::AccountId"]
    return {
        "accessKey": signed.group("access_key"),
        "accountId": account,
        "callerId": signed.group("access_key"),
        "cognitoIdentity": None,
        "principalOrgId": None,
        "userArn": f"arn:aws:iam::{account}:user/local",
        "userId": signed.group("access_key"),
    }


def _failure_parts(error: Exception) -> tuple[int, dict[str, str], bytes]:
    """API Gateway's answer when the invocation fails: no detail, a status by kind of failure.

    A timeout is HTTP API's integration timeout answer, 503; a runtime that died is a failed
    integration, 502; any other failure (the handler raised) is HTTP API's 500.
    """
    if isinstance(error, FunctionTimedOut):
        return 503, {"content-type": "application/json"}, b'{"message":"Service Unavailable"}'
    status = 502 if isinstance(error, RuntimeExited) else 500
    return status, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}'


def _response_parts(result: Any) -> tuple[int, dict[str, str], bytes]:
    """Read a payload-2.0 response the way API Gateway does (a bare value becomes a JSON 200)."""
    if isinstance(result, dict) and "statusCode" in result:
        raw = result.get("body") or ""
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
        headers = {str(name): str(value) for name, value in (result.get("headers") or {}).items()}
        return int(result["statusCode"]), headers, body
    return 200, {"content-type": "application/json"}, json.dumps(result).encode()


def _respond(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    try:
        request.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        log.info("the caller hung up before the answer (as eSMS does when its callback times out)")
