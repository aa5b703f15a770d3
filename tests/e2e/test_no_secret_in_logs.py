"""No secret in any log line or X-Ray document, under any log setting: every function, every path,
through the local stack.

Each setting gets a stack of its own (a log setting is read at a cold start): debug level, Powertools'
development mode, Powertools asked to log every event, and Lambda's application log level at DEBUG
(the root logger's) with active tracing, its documents sent to a UDP listener standing in for the X-Ray
daemon. The paths: a send accepted, refused for now (5xx), refused for its keys (101, then sent with
the corrected secret), a rejected body; a good callback and one with a forged signature; the
reconciler asking eSMS about a lost callback (eSMS's answer carries the CallbackUrl, signature and
all); the status API read by RequestId and by phone (its answers hold the phone and the history, which
no trace may).
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from local.aws.resources import LOCAL_CALLBACK_KEY
from local.esms_sim import LOCAL_API_KEY, LOCAL_SECRET_KEY, SimulatorConfig
from local.stack import LocalStack, StackInfo
from tests.support.outcomes import signed_get
from tests.support.waiting import wait_for
from zns_relay.reports.callback_url import sign

pytestmark = pytest.mark.e2e
TRACED = "lambda-debug-traced"
SETTINGS = {
    "debug": {"POWERTOOLS_LOG_LEVEL": "DEBUG"},
    "dev-mode": {"POWERTOOLS_DEV": "true", "POWERTOOLS_DEBUG": "true"},
    "log-event": {"POWERTOOLS_LOGGER_LOG_EVENT": "true"},
    # As Lambda runs a function with Tracing: Active and ApplicationLogLevel DEBUG
    TRACED: {
        "AWS_LAMBDA_LOG_LEVEL": "DEBUG",
        "POWERTOOLS_TRACE_DISABLED": "false",
        "LAMBDA_TASK_ROOT": "/var/task",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    },
}
WRONG_API_KEY = "wrong-api-key-that-eSMS-refuses"
PHONE = "0901888484"
# As the status API's answers hold them, JSON-escaped or not
MESSAGE_DATA = [PHONE, "84901888484", '"history']


@dataclass(frozen=True)
class Outputs:
    traced: bool  # tracing was on
    log: str  # every function's log output
    documents: list[str]  # every X-Ray document
    secrets: list[str]  # what neither may contain


class XrayDaemon:
    """A UDP listener standing in for the X-Ray daemon, keeping every document it receives."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._socket.getsockname()[1]}"
        self.documents: list[str] = []
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while True:
            try:
                self.documents.append(self._socket.recv(65_536).decode())
            except OSError:
                return  # closed

    def close(self) -> None:
        self._socket.close()
        self._thread.join(10)


@pytest.fixture(scope="module", params=sorted(SETTINGS))
def logged(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    """The stack's whole log output and trace documents after every path ran, and the secrets they
    must not contain."""
    log = tmp_path_factory.mktemp(request.param) / "functions.log"
    config = SimulatorConfig(callback_loss_rate=0.0)
    daemon = XrayDaemon()
    # Secrets cached for a second only, so that a key put in the secret is used at once
    overrides = {
        **SETTINGS[request.param],
        "SECRET_MAX_AGE_SECONDS": "1",
        "AWS_XRAY_DAEMON_ADDRESS": daemon.address,
    }
    try:
        with LocalStack(simulator_config=config, function_overrides=overrides, function_output=log) as stack:
            assert stack.info is not None
            run_every_path(stack, stack.info)
            signatures = [
                sign(LOCAL_CALLBACK_KEY.encode(), request_id, message["callback_nonce"])
                for request_id in stack.info.statuses()
                if "callback_nonce" in (message := stack.info.message(request_id) or {})
            ]
    finally:
        daemon.close()
    return Outputs(
        request.param == TRACED,
        log.read_text(),
        daemon.documents,
        [LOCAL_API_KEY, LOCAL_SECRET_KEY, LOCAL_CALLBACK_KEY, WRONG_API_KEY, *signatures],
    )


def publish(info: StackInfo, request_id: str, **changes: object) -> None:
    body = {"Phone": PHONE, "TempID": "2056446", "TempData": {"otp": "1"}, "RequestId": request_id}
    info.publish([{**body, **changes}])


def run_every_path(stack: LocalStack, info: StackInfo) -> None:
    statuses = info.statuses
    publish(info, "leak-accepted")
    publish(info, "leak-rejected", Phone="not a phone")
    assert wait_for(lambda: statuses().get("leak-accepted") == "DELIVERED", 60)

    stack.simulator.configure(error_rate_5xx=1.0)
    publish(info, "leak-5xx")
    assert wait_for(lambda: statuses().get("leak-5xx") == "RETRYING", 60)
    stack.simulator.configure(error_rate_5xx=0.0)
    assert wait_for(lambda: statuses().get("leak-5xx") == "DELIVERED", 60)

    secrets = info.client("secretsmanager")
    secret_id = stack.resolver.ref("EsmsSecret")
    good = secrets.get_secret_value(SecretId=secret_id)["SecretString"]
    secrets.put_secret_value(
        SecretId=secret_id, SecretString=json.dumps({**json.loads(good), "ApiKey": WRONG_API_KEY})
    )
    # A sender may still hold the good key for up to a second: publish until one meets eSMS's 101
    refused = next(
        request_id for request_id in (f"leak-101-{n}" for n in range(10)) if meets_101(info, request_id)
    )
    secrets.put_secret_value(SecretId=secret_id, SecretString=good)
    assert wait_for(lambda: statuses().get(refused) in {"ACCEPTED", "SENT", "DELIVERED"}, 90)

    stack.simulator.configure(callback_loss_rate=1.0)
    publish(info, "leak-reconciled")
    assert wait_for(lambda: statuses().get("leak-reconciled") == "DELIVERED", 60)  # through GetCallback

    forged = f"/callbacks/esms/leak-accepted/{'A' * 22}?SMSID=x&SendStatus=5&SendSuccess=1"
    assert get(info.callback_base_url, forged) == 403

    code, message = signed_get(f"{info.status_api_url}/messages/leak-accepted")
    assert (code, message["history"][-1]["status"]) == (200, "DELIVERED")
    code, page = signed_get(f"{info.status_api_url}/phones/{PHONE}/messages")
    assert code == 200
    assert "leak-accepted" in json.dumps(page)


def meets_101(info: StackInfo, request_id: str) -> bool:
    publish(info, request_id)
    assert wait_for(
        lambda: info.statuses().get(request_id) in {"RETRYING", "ACCEPTED", "SENT", "DELIVERED"}, 60
    )
    message = info.message(request_id)
    return message is not None and message.get("esms_code") == "101"


def get(base_url: str, path: str) -> int:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_paths_really_logged(logged: Outputs) -> None:
    for line in ("message accepted", "callback handled", "reconciler run", "eSMS account problem"):
        assert line in logged.log, f"no {line!r} line: the path did not run"


def test_no_secret_or_signature_in_any_line(logged: Outputs) -> None:
    leaked = sorted({secret for secret in logged.secrets if secret in logged.log})
    assert leaked == []


def test_no_secret_signature_or_message_data_in_any_trace_document(logged: Outputs) -> None:
    if not logged.traced:
        assert logged.documents == []  # tracing off: nothing sent
        return
    traced = "\n".join(logged.documents)
    for function in ("## lambda_handler", "dynamodb", "SendZaloMessage_V5_post", "GetCallback"):
        assert function in traced, f"no {function!r} in any document: the trace is not whole"
    leaked = sorted({secret for secret in [*logged.secrets, *MESSAGE_DATA] if secret in traced})
    assert leaked == []
