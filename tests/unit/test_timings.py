"""The timings the relay relies on hold: deployed (the template's defaults and every corner of its
parameters' ranges) and on the local stack, which refuses to start with a set that breaks them."""

from __future__ import annotations

import itertools
import re
import signal
from dataclasses import replace
from pathlib import Path

import pytest

from local import cli
from local.runtime.template import Template
from local.stack import LOCAL_FUNCTION_OVERRIDES, LOCAL_RESOURCE_OVERRIDES, LocalStack
from local.timings import RELATIONS, BrokenTimings, broken, from_template, rate_seconds

TEMPLATE = Template()
PARAMETERS = TEMPLATE.document["Parameters"]
# Every parameter a timing depends on, with a bounded range: the relations are monotonic in each, so
# holding at every corner of the ranges is holding everywhere in them.
NUMERIC = (
    "RetryWindowHours",
    "MaxReceiveCount",
    "UnknownAfterHours",
    "ReconcileAfterMinutes",
    "RetentionDays",
)
SCHEDULES = ("rate(1 minute)", PARAMETERS["ReconcileSchedule"]["Default"], "rate(30 minutes)")


def corners() -> list[dict[str, str]]:
    choices = [
        [(name, str(PARAMETERS[name][bound])) for bound in ("MinValue", "Default", "MaxValue")]
        for name in NUMERIC
    ]
    schedules = [("ReconcileSchedule", schedule) for schedule in SCHEDULES]
    return [dict(combination) for combination in itertools.product(*choices, schedules)]


def test_the_deployed_defaults_keep_every_relation() -> None:
    assert broken(from_template(TEMPLATE), local=False) == []


def test_every_corner_of_the_parameters_ranges_keeps_every_relation() -> None:
    failures = {
        str(parameters): found
        for parameters in corners()
        if (found := broken(from_template(TEMPLATE, parameters), local=False))
    }
    assert failures == {}


def test_the_schedules_checked_are_the_extremes_the_template_allows() -> None:
    pattern = re.compile(PARAMETERS["ReconcileSchedule"]["AllowedPattern"])
    assert all(pattern.fullmatch(schedule) for schedule in SCHEDULES)
    refused = ["rate(1 hour)", "rate(31 minutes)", "rate(1 minutes)", "rate(0 minutes)", "cron(0 * * * ? *)"]
    assert [pattern.fullmatch(rate) for rate in refused] == [None] * len(refused)
    assert [rate_seconds(schedule) for schedule in SCHEDULES] == [60, 300, 1800]


def test_the_local_stacks_scaled_timings_keep_every_relation_but_aws_own() -> None:
    timings = LocalStack().timings
    assert broken(timings, local=True) == []
    # The one it leaves out is about AWS's poller (its retries of a throttled batch)
    assert [relation.statement for relation in RELATIONS if relation.aws_only] == [
        "the queues' visibility timeout is at least six times SenderFunction's timeout"
    ]
    assert LOCAL_RESOURCE_OVERRIDES["SenderFunction"]["Timeout"] == timings.sender_timeout == 20


def test_the_old_local_set_is_refused_naming_the_relations_it_breaks() -> None:
    # Given the scaled set the local stack had: a 72 s retry window and a 6 s abandon delay, but the
    # template's 360 s visibility timeout
    timings = replace(
        from_template(TEMPLATE, {}, {**LOCAL_FUNCTION_OVERRIDES, "RETRY_WINDOW_HOURS": "0.02"}, 3.0),
        sender_abandon=6,
        reconciler_abandon=6,
    )

    found = broken(timings, local=True)

    assert [failure.split(" (")[0] for failure in found] == [
        "the abandon delay exceeds the queues' visibility timeout",
        "a killed attempt comes back, and is retried, inside its retry window",
        "the retry window lasts at least ten visibility timeouts",
    ]
    assert "abandon 6 s, visibility {'SendQueue': 360, 'FallbackQueue': 360} s" in found[0]


def test_a_local_stack_with_a_broken_set_refuses_to_start_and_says_which_relation() -> None:
    stack = LocalStack(function_overrides={"ABANDON_AFTER_MINUTES": "0.1"})

    with pytest.raises(BrokenTimings, match="the abandon delay exceeds the queues' visibility timeout"):
        stack.start()
    assert stack.info is None and not stack.crashes.root.exists()  # nothing started, nothing left


def test_python_m_local_up_refuses_a_broken_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given `up`'s own defaults broken (a retry window shorter than a killed attempt's way back)
    monkeypatch.setitem(LOCAL_FUNCTION_OVERRIDES, "RETRY_WINDOW_HOURS", "0.005")
    monkeypatch.setattr(cli, "STATE_DIR", tmp_path)
    monkeypatch.setattr(signal, "signal", lambda *_: None)  # leave pytest's handlers alone

    status = cli.main(["up"])

    # Then it does not start, and says which relation fails and why
    assert status == 2
    error = capsys.readouterr().err
    assert "a killed attempt comes back, and is retried, inside its retry window" in error
    assert "window 18 s" in error and error.rstrip().endswith("not started")
