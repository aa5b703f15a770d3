"""`sam local invoke` against the embedded stack, as SAM passes the environment (no Docker needed here):
each handler runs with exactly what SAM would give it, from the template and `up --env-vars`' file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.aws.resources import function_environment
from local.stack import FAKE_CREDENTIALS, LocalStack
from tests.support.sam import invoke_with, sam_environment
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e
EVENTS = Path(__file__).resolve().parents[2] / "events"
# An address of this machine that is not loopback to the functions' settings (only 127.0.0.1, localhost
# and ::1 are), as 172.17.0.1 is for a container: plain http to it is allowed only by PLAIN_HTTP_HOSTS.
ADVERTISED = "127.0.0.2"
# Each function's sample event (events/ has one for each but the fallback, which gets an empty batch).
SAMPLES = {
    "SenderFunction": "sender-batch.json",
    "CallbackFunction": "callback-delivered.json",
    "ReconcilerFunction": "reconciler-scheduled.json",
    "PublisherFunction": "publisher-status-changes.json",
    "StatusFunction": "status-get-message.json",
    "GuardrailsFunction": "guardrails-schedule.json",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """`python -m local up --host 0.0.0.0 --advertise-host <address> --env-vars env.json`'s stack."""
    log = tmp_path_factory.mktemp("sam") / "functions.log"
    with LocalStack(host="0.0.0.0", advertise_host=ADVERTISED, function_output=log) as running:  # noqa: S104
        yield running


def _event(logical_id: str) -> dict[str, Any]:
    sample = SAMPLES.get(logical_id)
    return json.loads((EVENTS / sample).read_text()) if sample else {"Records": []}


@pytest.mark.parametrize("logical_id", [*SAMPLES, "FallbackFunction"])
def test_each_handler_runs_with_the_environment_sam_passes_it(
    stack: LocalStack, logical_id: str, tmp_path: Path
) -> None:
    # Given the env-vars file `up` writes, and the environment SAM builds from it and the template
    # (SAM's credentials and region from the shell `up`'s export line set)
    env_vars = json.loads(json.dumps(stack.env_vars_file()))
    spec = stack.template.function(logical_id)
    environment = sam_environment(
        spec,
        function_environment(spec, stack.resolver),
        env_vars,
        region=FAKE_CREDENTIALS["AWS_REGION"],
        credentials=(FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"], FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]),
    )

    # When the handler runs once with exactly that environment, on its sample event
    result_path = tmp_path / "result.json"
    run = invoke_with(spec, environment, _event(logical_id), result_path)

    # Then it starts and answers without an error
    assert run.returncode == 0, run.stderr[-3000:] + run.stdout[-3000:]
    result = json.loads(result_path.read_text())
    if logical_id == "SenderFunction":
        # And the message reached eSMS (the simulator, over plain http to the advertised address)
        assert result == {"batchItemFailures": []}
        info = stack.info
        assert info is not None
        reached = {"ACCEPTED", "SENT", "DELIVERED"}
        assert wait_for(lambda: info.statuses().get("order-DH240501-confirm") in reached, 30), info.statuses()
    if logical_id in {"CallbackFunction", "StatusFunction"}:
        assert result["statusCode"] < 500, result
    # And the file `up` wrote gives it nothing SAM would drop
    assert set(env_vars[logical_id]) <= set(spec.environment)
