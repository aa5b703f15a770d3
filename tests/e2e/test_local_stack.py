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

from local.cli import UP_FUNCTION_LOG
from local.scenarios.demo import DEMO_FAULTS, build_mix, run_demo
from local.scenarios.soak import producer_request_id
from local.stack import LocalStack, StackInfo
from tests.support.waiting import wait_for
from zns_relay_cli.local_state import STATE_ENV, is_running

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    def environment() -> dict[str, str]:
        return {name: value for name, value in os.environ.items() if name != "PYTEST_CURRENT_TEST"}

    before = environment()
    # The functions' lines to a file: on stderr they reached pytest's progress between two tests
    log = tmp_path_factory.mktemp("local-stack") / "functions.log"
    with LocalStack(simulator_config=DEMO_FAULTS, function_output=log) as running:
        assert running.info is not None
        assert os.environ["AWS_ENDPOINT_URL"] == running.info.aws_endpoint
        yield running
    # The stack pointed this process's AWS clients at itself only while it ran (a test after it, in the
    # same pytest worker, uses moto's mock, which a leftover AWS_ENDPOINT_URL would bypass)
    assert environment() == before


def test_a_realistic_mix_with_faults_ends_as_each_input_calls_for(stack: LocalStack) -> None:
    # Given a few hundred messages: deliverable, invalid, to failing numbers, sandbox, repeated;
    # and an eSMS with latency, 5xx, throttling, timeouts, dropped connections, odd callbacks
    messages = build_mix(200)

    # When they flow through the stack
    result = run_demo(stack, 200, timeout_seconds=90)

    # Then every message ends in the state its input calls for
    assert result.mismatches == {}
    # And eSMS accepted each RequestId it got exactly once, duplicates and retries included, SMS
    # fallbacks too: a message Zalo deferred has an attempt of its own after each deferral (<id>.z2)
    sendable = {
        m.request_id
        for m in messages
        if m.expected in {"DELIVERED", "FAILED"} and m.body.get("TempID") != "99999"
    }
    attempts = {
        request_id: sorted(
            count
            for sent, count in result.accepted_by_esms.items()
            if producer_request_id(sent) == request_id
        )
        for request_id in sendable
    }
    assert {
        request_id: counts for request_id, counts in attempts.items() if not counts or set(counts) != {1}
    } == {}
    # And the delivery callbacks were applied (nothing left waiting in ACCEPTED or SENT but sandbox)
    delivered = [m for m in messages if m.expected == "DELIVERED"]
    assert {result.actual[m.request_id] for m in delivered} == {"DELIVERED"}
    assert result.dlq_depth == 0


def start_up(state: Path, stderr: Path, *extra: str) -> subprocess.Popen[str]:
    """`python -m local up` with its own state folder, stderr to a file."""
    environment = dict(os.environ)
    environment.pop("AWS_ENDPOINT_URL", None)
    environment[STATE_ENV] = str(state)
    with stderr.open("w") as errors:
        return subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "local", "up", *extra],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )


def exports(stderr: Path) -> dict[str, str]:
    """The variables `up` tells a plain AWS client to export, as it printed them on stderr."""
    line = wait_for(
        lambda: next((x for x in stderr.read_text().splitlines() if x.strip().startswith("export ")), None),
        30,
    )
    assert line is not None, stderr.read_text()
    return dict(pair.split("=", 1) for pair in line.split()[1:])


def children(pid: int) -> set[int]:
    """The processes `pid` started, and theirs."""
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        for child in (task / "children").read_text().split():
            found |= {int(child), *children(int(child))}
    return found


def test_up_prints_its_endpoints_and_a_plain_aws_client_uses_them(tmp_path: Path) -> None:
    # Given `up` running
    env_vars = tmp_path / "env-vars.json"
    stderr = tmp_path / "up.log"
    process = start_up(tmp_path / "state", stderr, "--env-vars", str(env_vars))
    try:
        assert process.stdout is not None
        endpoints = json.loads(process.stdout.readline())
        assert set(endpoints) == {
            "region",
            "aws_endpoint",
            "queue_url",
            "dlq_url",
            "table_name",
            "callback_base_url",
            "esms_url",
            "event_bus_name",
            "status_api_url",
        }
        variables = exports(stderr)
        assert (variables["AWS_REGION"], variables["AWS_ENDPOINT_URL"]) == (
            endpoints["region"],
            endpoints["aws_endpoint"],
        )
        # And its AWS CLI line names the endpoint itself: an AWS CLI before 1.29 ignores AWS_ENDPOINT_URL
        [aws_line] = [line for line in stderr.read_text().splitlines() if line.strip().startswith("aws ")]
        assert aws_line.split()[:3] == ["aws", "--endpoint-url", endpoints["aws_endpoint"]]

        # When a plain boto3 client, configured only by what `up` said to export, publishes a message
        body = {
            "Phone": "+84 90 188 8484",
            "TempID": "2056446",
            "TempData": {"otp": "4829"},
            "RequestId": "up-1",
        }
        plain = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-c",
                "import boto3, sys;"
                " boto3.client('sqs').send_message(QueueUrl=sys.argv[1], MessageBody=sys.argv[2])",
                endpoints["queue_url"],
                json.dumps(body),
            ],
            env={**plain, **variables},
            check=True,
        )

        # Then it ends DELIVERED, and the command finds this stack by its state folder
        info = StackInfo.load(tmp_path / "state")
        assert wait_for(lambda: info.statuses().get("up-1") == "DELIVERED", 30)
        shown = subprocess.run(
            [sys.executable, "-m", "local", "status", "up-1"],
            cwd=ROOT,
            env={**os.environ, STATE_ENV: str(tmp_path / "state"), "COLUMNS": "200"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "DELIVERED (final)" in shown
        assert "delivered (SendStatus 5, SendSuccess 1)" in shown
        # And a second `up` on the same state is refused, naming the running one
        second = start_up(tmp_path / "state", tmp_path / "second.log")
        assert second.wait(timeout=60) == 1
        assert f"already running (pid {process.pid}" in (tmp_path / "second.log").read_text()
        # And the env-vars file lets `sam local invoke` reach this stack
        functions = json.loads(env_vars.read_text())
        assert functions["SenderFunction"]["AWS_ENDPOINT_URL"] == endpoints["aws_endpoint"]
        assert functions["SenderFunction"]["TABLE_NAME"] == endpoints["table_name"]
    finally:
        process.send_signal(signal.SIGINT)
        remaining = process.communicate(timeout=30)[0]
    # And stdout held the JSON line alone (`| jq` works); the rest went to stderr
    assert process.returncode == 0
    assert remaining == ""
    assert stderr.read_text().strip().endswith("stopped")
    # And the functions' log lines and metrics went to the file it named, not into the terminal (the
    # idle reconciler alone wrote two lines there every 3 s)
    log = tmp_path / "state" / UP_FUNCTION_LOG
    assert f"tail -f {log}" in stderr.read_text()
    assert not [line for line in stderr.read_text().splitlines() if line.startswith("{")]
    assert "ReconcilerFunction" in log.read_text() and "SenderFunction" in log.read_text()


@pytest.mark.parametrize(
    "arguments",
    [
        ["--advertise-host", "no-such-host.invalid"],  # unresolvable
        ["--advertise-host", "192.0.2.1"],  # unreachable (TEST-NET-1: no machine has it)
        ["--host", "192.0.2.1"],  # not this machine's: nothing can listen on it
    ],
)
def test_up_refuses_an_address_it_cannot_use_in_one_line(tmp_path: Path, arguments: list[str]) -> None:
    # When `up` is given an address the stack cannot listen on or reach itself at
    process = start_up(tmp_path / "state", tmp_path / "up.log", *arguments)

    # Then it refuses with exit code 2 and one line naming the address, before starting anything
    assert process.wait(timeout=60) == 2
    assert process.stdout is not None
    assert process.stdout.read() == ""
    [line] = (tmp_path / "up.log").read_text().splitlines()
    assert line.startswith(f"error: {'cannot listen on ' if arguments[0] == '--host' else ''}{arguments[0]} ")
    assert arguments[1] in line


def test_up_killed_outright_leaves_no_process_behind(tmp_path: Path) -> None:
    # Given `up` running, with the processes it started
    process = start_up(tmp_path / "state", tmp_path / "up.log")
    assert process.stdout is not None
    json.loads(process.stdout.readline())
    started = children(process.pid)
    assert started

    # When it is killed with no chance to stop them
    process.kill()
    process.wait(timeout=10)

    # Then they end too, and the command no longer takes the stack for running
    def alive() -> set[int]:
        return {pid for pid in started if Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)}

    assert wait_for(lambda: not alive(), 30), alive()
    assert not is_running(tmp_path / "state")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "gone"
