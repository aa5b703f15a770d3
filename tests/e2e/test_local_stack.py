"""End to end through the embedded stack: moto server, eSMS simulator, SQS poller, HTTP API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.demo import DEMO_FAULTS, build_mix, run_demo
from local.stack import LocalStack, StackInfo
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    saved = dict(os.environ)
    with LocalStack(simulator_config=DEMO_FAULTS) as running:
        yield running
    os.environ.clear()
    os.environ.update(saved)


def test_a_realistic_mix_with_faults_ends_as_each_input_calls_for(stack: LocalStack) -> None:
    # Given a few hundred messages: deliverable, invalid, to failing numbers, sandbox, repeated;
    # and an eSMS with latency, 5xx, throttling, timeouts, dropped connections, odd callbacks
    messages = build_mix(200)

    # When they flow through the stack
    result = run_demo(stack, 200, timeout_seconds=90)

    # Then every message ends in the state its input calls for
    assert result.mismatches == {}
    # And eSMS accepted each RequestId exactly once, duplicates and retries included
    sendable = {
        m.request_id
        for m in messages
        if m.expected in {"DELIVERED", "FAILED"} and m.body.get("TempID") != "99999"
    }
    assert {request_id: result.accepted_by_esms.get(request_id) for request_id in sendable} == dict.fromkeys(
        sendable, 1
    )
    # And the delivery callbacks were applied (nothing left waiting in ACCEPTED or SENT but sandbox)
    delivered = [m for m in messages if m.expected == "DELIVERED"]
    assert {result.actual[m.request_id] for m in delivered} == {"DELIVERED"}
    assert result.dlq_depth == 0


def test_up_prints_its_endpoints_and_a_published_message_ends_delivered(tmp_path: Path) -> None:
    environment = {**os.environ, "PYTHONPATH": f"{ROOT / 'layers' / 'common'}{os.pathsep}{ROOT}"}
    environment.pop("AWS_ENDPOINT_URL", None)
    env_vars = tmp_path / "env-vars.json"
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "local", "up", "--env-vars", str(env_vars)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        endpoints = json.loads(process.stdout.readline())
        assert set(endpoints) == {
            "aws_endpoint",
            "queue_url",
            "dlq_url",
            "table_name",
            "callback_base_url",
            "esms_url",
            "event_bus_name",
            "status_api_url",
        }
        info = StackInfo.load()

        # A plain SQS client publishes to queue_url
        body = {
            "Phone": "+84 90 188 8484",
            "TempID": "2056446",
            "TempData": {"otp": "4829"},
            "RequestId": "up-1",
        }
        info.client("sqs").send_message(QueueUrl=endpoints["queue_url"], MessageBody=json.dumps(body))

        assert wait_for(lambda: info.statuses().get("up-1") == "DELIVERED", 30)
        shown = subprocess.run(
            [sys.executable, "-m", "local", "status", "up-1"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert shown.startswith("up-1: DELIVERED")
        assert "delivered (SendStatus 5, SendSuccess 1)" in shown
        # And `events` prints its final event from the bus
        followed = subprocess.run(
            [sys.executable, "-m", "local", "events", "--final", "--count", "1", "--idle", "20"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "up-1" in followed
        assert "-> DELIVERED  (final)" in followed
        # And the env-vars file lets `sam local invoke` reach this stack
        functions = json.loads(env_vars.read_text())
        assert functions["SenderFunction"]["AWS_ENDPOINT_URL"] == endpoints["aws_endpoint"]
        assert functions["SenderFunction"]["TABLE_NAME"] == endpoints["table_name"]
    finally:
        process.send_signal(signal.SIGINT)
        remaining = process.communicate(timeout=20)[0]
    assert process.returncode == 0
    assert json.loads(remaining.strip().splitlines()[-1]) == {"stopped": True}
