"""The soak, reduced to a few hundred messages and a short outage: every must-be-zero figure is zero."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from local.scenarios.soak import SoakPlan, run_soak, soak_stack
from local.scenarios.soak_report import report

pytestmark = pytest.mark.e2e
REDUCED = SoakPlan(
    messages=200,
    tps_limit=6,  # below what the stack offers, so that eSMS throttles and the senders slow down
    outage_seconds=20,
    outage_after_messages=100,
    crash_probability=0.004,  # enough to kill a few invocations in a few hundred messages
    timeout_seconds=400,
    unknown_after_seconds=80,  # past the outage, and short enough for the test command
)


def test_a_reduced_soak_loses_nothing_sends_nothing_twice_fails_nothing_falsely_and_falls_back_once(
    tmp_path: Path,
) -> None:
    with soak_stack(REDUCED, function_output=tmp_path / "functions.log") as stack:
        result = run_soak(stack, REDUCED)
    printed = io.StringIO()
    report(result, printed)

    assert result.sent_twice == {}, printed.getvalue()
    assert result.lost == set(), printed.getvalue()
    assert result.falsely_failed == set(), printed.getvalue()
    assert result.falsely_unknown == set(), printed.getvalue()
    assert result.dlq_depth == 0, printed.getvalue()
    # Every message that asked for an SMS fallback and failed got exactly one SMS, and no other did
    assert result.sms_missing == set(), printed.getvalue()
    assert result.sms_unasked == set(), printed.getvalue()
    # And the faults really happened, and fallbacks were among the messages
    assert result.throttled > 0 and result.crashes > 0, printed.getvalue()
    assert result.sms_expected, printed.getvalue()
