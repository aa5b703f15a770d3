"""The run's summary: the EsmsStatusUnreachable signal, and what it logs."""

from __future__ import annotations

import pytest

from zns_relay.reconciler.summary import ReconcileSummary


@pytest.mark.parametrize(
    ("answers", "query_failures", "unreachable"),
    [
        (0, 0, None),  # nothing was asked: no signal either way
        (0, 1, True),  # every question failed
        (0, 5, True),
        (1, 4, False),  # one answer proves eSMS's status endpoints reachable
        (3, 0, False),
    ],
)
def test_esms_unreachable(answers: int, query_failures: int, unreachable: bool | None) -> None:
    summary = ReconcileSummary(answers=answers, query_failures=query_failures)

    assert summary.esms_unreachable is unreachable


def test_the_logged_summary_is_plain_values() -> None:
    summary = ReconcileSummary(examined=2)
    summary.ended["UNKNOWN"] += 1

    logged = summary.as_dict()

    assert logged["examined"] == 2
    assert logged["ended"] == {"UNKNOWN": 1}
    assert type(logged["ended"]) is dict
