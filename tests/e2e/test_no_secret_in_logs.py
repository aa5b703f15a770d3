"""No secret in any log line, under any log setting: every function, every path, through the local stack.

Each setting gets a stack of its own (a log setting is read at a cold start): debug level, Powertools'
development mode, and Powertools asked to log every event. The paths: a send accepted, refused for
now (5xx), refused for its keys (101, then sent with the corrected secret), a rejected body; a good
callback and one with a forged signature; the reconciler asking eSMS about a lost callback (eSMS's
answer carries the CallbackUrl, signature and all).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from local.aws import LOCAL_CALLBACK_KEY
from local.esms_simulator import LOCAL_API_KEY, LOCAL_SECRET_KEY, SimulatorConfig
from local.stack import LocalStack, StackInfo
from tests.support.waiting import wait_for
from zns_relay.callback_signing import sign

pytestmark = pytest.mark.e2e
SETTINGS = {
    "debug": {"POWERTOOLS_LOG_LEVEL": "DEBUG"},
    "dev-mode": {"POWERTOOLS_DEV": "true", "POWERTOOLS_DEBUG": "true"},
    "log-event": {"POWERTOOLS_LOGGER_LOG_EVENT": "true"},
}
WRONG_API_KEY = "wrong-api-key-that-eSMS-refuses"


@pytest.fixture(scope="module", params=sorted(SETTINGS))
def logged(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, list[str]]]:
    """The stack's whole log output after every path ran, and the secrets it must not contain."""
    log = tmp_path_factory.mktemp(request.param) / "functions.log"
    config = SimulatorConfig(callback_loss_rate=0.0)
    # Secrets cached for a second only, so that a key put in the secret is used at once
    overrides = {**SETTINGS[request.param], "SECRET_MAX_AGE_SECONDS": "1"}
    with LocalStack(simulator_config=config, function_overrides=overrides, function_output=log) as stack:
        assert stack.info is not None
        run_every_path(stack, stack.info)
        signatures = [
            sign(LOCAL_CALLBACK_KEY.encode(), request_id, message["callback_nonce"])
            for request_id in stack.info.statuses()
            if "callback_nonce" in (message := stack.info.message(request_id) or {})
        ]
        yield (
            log.read_text(),
            [LOCAL_API_KEY, LOCAL_SECRET_KEY, LOCAL_CALLBACK_KEY, WRONG_API_KEY, *signatures],
        )


def publish(info: StackInfo, request_id: str, **changes: object) -> None:
    body = {"Phone": "0901888484", "TempID": "2056446", "TempData": {"otp": "1"}, "RequestId": request_id}
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


def test_the_paths_really_logged(logged: tuple[str, list[str]]) -> None:
    output, _ = logged
    for line in ("message accepted", "callback handled", "reconciler run", "eSMS account problem"):
        assert line in output, f"no {line!r} line: the path did not run"


def test_no_secret_or_signature_in_any_line(logged: tuple[str, list[str]]) -> None:
    output, secrets = logged
    leaked = sorted({secret for secret in secrets if secret in output})
    assert leaked == []
