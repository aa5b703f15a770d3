"""The execution environments behave as Lambda's: reuse, crashes, timeouts, logs; and what the SQS event
source and the HTTP API make of a failed invocation. A probe function (tests/support/probe_function)
does what each event says; long runs wait on a socket or forever, never on a clock."""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest

from local.runtime.event_source import SqsEventSource
from local.runtime.http_api import HttpApiServer, Route
from local.runtime.lambda_runtime import (
    ENVIRONMENT_FIELD,
    ExecutionEnvironments,
    FunctionError,
    FunctionTimedOut,
    InitError,
    InvocationTimes,
    RuntimeExited,
    tagged,
)
from local.runtime.template import FunctionSpec
from tests.support.waiting import wait_for

PROBE_DIR = Path(__file__).resolve().parents[1] / "support" / "probe_function"


def probe_spec(timeout_seconds: int = 30) -> FunctionSpec:
    return FunctionSpec(
        logical_id="ProbeFunction",
        code_dir=PROBE_DIR,
        module="probe",
        handler="handler",
        layer_dirs=(),
        timeout_seconds=timeout_seconds,
        memory_mb=128,
        environment={},
        events={},
    )


@pytest.fixture
def output(tmp_path: Path) -> Path:
    return tmp_path / "functions.log"


@pytest.fixture
def probe(output: Path) -> Iterator[ExecutionEnvironments]:
    functions = ExecutionEnvironments(probe_spec(), {}, max_environments=2, output=output)
    yield functions
    functions.close()


@pytest.fixture
def quick_probe(output: Path) -> Iterator[ExecutionEnvironments]:
    """The probe with Lambda's smallest Timeout, 1 s."""
    functions = ExecutionEnvironments(probe_spec(timeout_seconds=1), {}, max_environments=2, output=output)
    yield functions
    functions.close()


def log_lines(output: Path) -> list[str]:
    return output.read_text().splitlines()


def test_an_environment_starts_once_and_serves_the_next_invocations_warm(
    probe: ExecutionEnvironments,
) -> None:
    # When the function is invoked twice, one invocation after the other
    first = probe.invoke({"action": "echo"})
    second = probe.invoke({"action": "echo"})

    # Then one environment served both, each invocation with its own request id
    assert first["pid"] == second["pid"]
    assert first["request_id"] != second["request_id"]


def test_each_completed_invocation_reports_where_its_time_went(output: Path) -> None:
    # Given environments that report each invocation's timings
    reports: list[InvocationTimes] = []
    functions = ExecutionEnvironments(
        probe_spec(), {}, max_environments=2, output=output, on_invoked=reports.append
    )
    try:
        # When one invocation succeeds and one fails in the handler
        functions.invoke({"action": "echo"})
        with pytest.raises(FunctionError):
            functions.invoke({"action": "raise"})
    finally:
        functions.close()

    # Then the one that returned a result is reported, its handler's run inside the whole invocation
    assert len(reports) == 1
    [times] = reports
    assert 0 <= times.waited <= times.total
    assert 0 <= times.handler <= times.total
    assert times.handler_cpu >= 0


def test_a_killed_environment_fails_only_its_invocation_and_a_new_one_takes_the_next(
    probe: ExecutionEnvironments, output: Path
) -> None:
    with ThreadPoolExecutor(1) as caller, socket.create_server(("127.0.0.1", 0)) as gate:
        # Given one environment busy with a long invocation (it waits until we close its connection)
        busy = caller.submit(probe.invoke, {"action": "wait", "port": gate.getsockname()[1]})
        waiting, _ = gate.accept()
        try:
            # When another invocation's environment is killed
            with pytest.raises(RuntimeExited, match=r"Runtime exited with error: signal: killed") as failure:
                probe.invoke({"action": "kill"})

            # Then that invocation failed, as Lambda reports it
            assert failure.value.error_type == "Runtime.ExitError"
            # And the next invocation runs on a new environment, the busy one still busy
            killed = next(int(line.split()[2]) for line in log_lines(output) if "about to be killed" in line)
            after = probe.invoke({"action": "echo"})
            assert after["pid"] != killed
        finally:
            waiting.close()
        # And the busy invocation completes untouched, in its own environment
        assert busy.result(timeout=30)["pid"] not in {killed, after["pid"]}


def test_an_invocation_running_at_the_timeout_is_stopped_and_its_environment_replaced(
    quick_probe: ExecutionEnvironments, output: Path
) -> None:
    # Given a warm environment
    warm_pid = quick_probe.invoke({"action": "echo"})["pid"]

    # When an invocation is still running at the function's Timeout
    with pytest.raises(FunctionTimedOut, match=r"Task timed out after 1\.00 seconds") as failure:
        quick_probe.invoke({"action": "hang"})

    # Then it failed as Lambda's timeouts do, and its environment's process is gone
    assert failure.value.error_type == "Sandbox.Timedout"
    with pytest.raises(ProcessLookupError):
        os.kill(warm_pid, 0)
    # And the timeout is in the function's log, from that environment
    assert any(
        line.startswith("[ProbeFunction#1] ") and "Task timed out" in line for line in log_lines(output)
    )
    # And the next invocation gets a new environment
    assert quick_probe.invoke({"action": "echo"})["pid"] != warm_pid


def test_lines_written_just_before_the_process_exits_reach_the_output_with_its_name(
    probe: ExecutionEnvironments, output: Path
) -> None:
    # When the handler writes to stdout and stderr, then exits at once (os._exit: nothing flushed)
    with pytest.raises(RuntimeExited, match="exit status 3"):
        probe.invoke({"action": "last_words"})

    # Then every line is in the output, saying which environment wrote it
    lines = log_lines(output)
    assert "[ProbeFunction#1] plain last words on stdout" in lines
    assert "[ProbeFunction#1] last words on stderr" in lines
    # And a JSON line is still one parseable object, with the environment as a field
    [logged] = [json.loads(line) for line in lines if line.startswith("{")]
    assert logged == {
        ENVIRONMENT_FIELD: "ProbeFunction#1",
        "level": "INFO",
        "message": "last words on stdout",
    }
    # And Lambda's own line tells how the runtime ended
    assert any(line.endswith("Runtime exited with error: exit status 3") for line in lines)


def test_an_invocation_returns_once_its_log_lines_are_in_the_output(
    probe: ExecutionEnvironments, output: Path
) -> None:
    # When an invocation that logs returns
    result = probe.invoke({"action": "echo"})

    # Then its line is already in the output
    logged = [json.loads(line) for line in log_lines(output) if line.startswith("{")]
    assert [entry["request_id"] for entry in logged] == [result["request_id"]]


@pytest.mark.parametrize(
    ("action", "ending"), [("kill", "signal: killed"), ("segfault", "signal: segmentation fault")]
)
def test_an_environment_ended_by_a_signal_fails_its_invocation_with_the_signal_named(
    probe: ExecutionEnvironments, action: str, ending: str
) -> None:
    with pytest.raises(RuntimeExited, match=f"Runtime exited with error: {ending}$"):
        probe.invoke({"action": action})

    assert probe.invoke({"action": "echo"})["pid"]


def test_a_handler_error_fails_the_invocation_and_keeps_the_environment(probe: ExecutionEnvironments) -> None:
    pid = probe.invoke({"action": "echo"})["pid"]

    with pytest.raises(FunctionError, match="probe told to fail") as failure:
        probe.invoke({"action": "raise"})

    assert failure.value.error_type == "ValueError"
    assert probe.invoke({"action": "echo"})["pid"] == pid


def test_a_function_that_cannot_import_fails_at_warm_up(output: Path) -> None:
    functions = ExecutionEnvironments(probe_spec(), {"PROBE_FAIL_AT_INIT": "1"}, 1, output)
    try:
        with pytest.raises(InitError, match="probe told to fail at init"):
            functions.warm_up()
    finally:
        functions.close()
    assert "[ProbeFunction#1] [ERROR] RuntimeError: probe told to fail at init" in log_lines(output)


def test_a_timed_out_batch_is_not_deleted_and_returns_to_the_queue(
    aws: boto3.Session, quick_probe: ExecutionEnvironments
) -> None:
    # Given a queued message whose invocation will run into the Timeout
    sqs = aws.client("sqs")
    queue_url = sqs.create_queue(QueueName="probe-queue")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"action": "hang"}))
    source = SqsEventSource(
        sqs,
        queue_url=queue_url,
        queue_arn="arn:aws:sqs:ap-southeast-1:123456789012:probe-queue",
        function=quick_probe,
        batch_size=10,
        max_concurrency=1,
        region="ap-southeast-1",
    ).start()

    # When the event source has invoked the function with it
    try:
        wait_for(lambda: source.stats.errors, timeout=30)
    finally:
        source.stop()

    # Then the failed invocation deleted nothing: the message waits out its visibility timeout
    assert (source.stats.errors, source.stats.failed, source.stats.deleted) == (1, 1, 0)
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"


@pytest.mark.parametrize(
    ("action", "status", "body"),
    [
        ("echo", 200, None),
        ("raise", 500, {"message": "Internal Server Error"}),
        ("kill", 502, {"message": "Internal Server Error"}),
        ("hang", 503, {"message": "Service Unavailable"}),
    ],
)
def test_the_http_api_answers_a_failed_invocation_as_api_gateway_does(
    quick_probe: ExecutionEnvironments, action: str, status: int, body: dict[str, str] | None
) -> None:
    api = HttpApiServer()
    api.routes.append(Route("GET", "/probe/{action}", quick_probe))
    api.start()
    try:
        answer_status, answer = _get(f"http://127.0.0.1:{api.port}/probe/{action}")
    finally:
        api.stop()

    assert answer_status == status
    if body is not None:
        assert answer == body


def _get(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_json_line_gains_the_environment_field_and_any_other_line_a_prefix() -> None:
    assert json.loads(tagged('{"level":"INFO","message":"hi"}', "SenderFunction#3")) == {
        ENVIRONMENT_FIELD: "SenderFunction#3",
        "level": "INFO",
        "message": "hi",
    }
    assert tagged("Traceback (most recent call last):", "SenderFunction#3") == (
        "[SenderFunction#3] Traceback (most recent call last):"
    )
    assert tagged("{not json}", "SenderFunction#3") == "[SenderFunction#3] {not json}"
    assert tagged("{}", "SenderFunction#3") == "[SenderFunction#3] {}"
