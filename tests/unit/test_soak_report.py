"""The soak's report: the send rate the senders achieved, against the TPS limit the soak set."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from local.scenarios.soak_report import SoakResult, report


def test_the_soak_reports_the_send_rate_it_achieved_against_its_tps_limit() -> None:
    # Given twenty sends in the first second and one more at 9.5 s, under a TPS limit of 20
    start = datetime(2026, 12, 1, tzinfo=UTC)
    times = [start + timedelta(seconds=index * 0.05) for index in range(20)] + [
        start + timedelta(seconds=9.5)
    ]
    result = SoakResult(
        published=0, request_ids=set(), fallbacks={}, statuses={}, accepted_by_esms={}, outcomes={},
        refused_for_now=set(), delivered_attempts={}, sends=21, send_times=times, tps_limit=20.0,
        throttled=0, dlq_depth=0, crashes=0, invocations=0, seconds=10.0,
    )  # fmt: skip
    printed = io.StringIO()

    report(result, printed)

    # Then the average over the time it sent, and its busiest second, stand beside the limit
    assert (
        "send rate to eSMS (ZNS and SMS)             "
        "2.2 a second on average over 10 s, 20 in the busiest second (TPS limit 20)\n"
    ) in printed.getvalue()


def test_a_message_zalo_refused_for_now_must_end_delivered_once() -> None:
    # Given a soak where Zalo refused three messages for the night: one delivered by two attempts, one
    # that ended FAILED on that refusal, and one whose later attempt Zalo took and reported failed
    result = SoakResult(
        published=3, request_ids={"a", "b", "c"}, fallbacks={},
        statuses={"a": "DELIVERED", "b": "FAILED", "c": "FAILED"},
        accepted_by_esms={"a": 1, "a.z2": 1, "a.z3": 1, "b": 1},
        outcomes={"a": "delivered", "b": "refused_133", "c": "failed_114"},
        refused_for_now={"a", "b", "c"}, delivered_attempts={"a": 2}, sends=4, send_times=[], tps_limit=20.0,
        throttled=0, dlq_depth=0, crashes=0, invocations=1, seconds=1.0, nights=1,
    )  # fmt: skip
    printed = io.StringIO()

    report(result, printed)

    # Then both are must-be-zero figures, and the soak fails
    assert result.failed_for_now == {"b"} and result.delivered_twice == {"a"}
    assert not result.ok
    text = printed.getvalue()
    assert "messages refused for now (night, quota)     3, now DELIVERED 1  FAILED 2\n" in text
    assert "... FAILED, though Zalo would take them     1  (must be 0)\n" in text
    assert "messages delivered by two attempts          1  (must be 0)\n" in text
    assert text.endswith("soak FAILED\n")
