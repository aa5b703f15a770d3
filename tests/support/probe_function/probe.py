"""A throwaway Lambda function for the runtime's tests: each event names what the invocation does.

The action comes from the event's "action", an HTTP API event's path parameter, or an SQS record's body.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import socket
import sys
import threading
from typing import Any

if os.environ.get("PROBE_FAIL_AT_INIT"):
    raise RuntimeError("probe told to fail at init")


def handler(event: dict[str, Any], context: Any) -> Any:
    request = _request(event)
    action = request["action"]
    if action == "echo":
        print(json.dumps({"level": "INFO", "message": "echo", "request_id": context.aws_request_id}))
        return {"pid": os.getpid(), "request_id": context.aws_request_id}
    if action == "wait":  # until the test releases it: it sends a byte on the socket it listens on
        with socket.create_connection(("127.0.0.1", int(request["port"]))) as connection:
            connection.recv(1)
        return {"pid": os.getpid()}
    if action == "hang":  # only the function's timeout ends this invocation
        threading.Event().wait()
    if action == "last_words":
        print(json.dumps({"level": "INFO", "message": "last words on stdout"}))
        print("plain last words on stdout")
        print("last words on stderr", file=sys.stderr)
        os._exit(3)
    if action == "kill":
        print(f"pid {os.getpid()} about to be killed")
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "segfault":
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file in the repository
        ctypes.string_at(0)
    if action == "raise":
        raise ValueError("probe told to fail")
    raise ValueError(f"unknown action {action}")


def _request(event: dict[str, Any]) -> dict[str, Any]:
    if "Records" in event:
        request: dict[str, Any] = json.loads(event["Records"][0]["body"])
        return request
    if "pathParameters" in event:
        return {"action": event["pathParameters"]["action"]}
    return event
