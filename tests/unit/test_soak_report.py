"""The soak's report: the send rate the senders achieved, against the TPS limit the soak set."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from local.scenarios.soak import SoakResult, report


def test_the_soak_reports_the_send_rate_it_achieved_against_its_tps_limit() -> None:
    # Given twenty sends in the first second and one more at 9.5 s, under a TPS limit of 20
    start = datetime(2026, 12, 1, tzinfo=UTC)
    times = [start + timedelta(seconds=index * 0.05) for index in range(20)] + [
        start + timedelta(seconds=9.5)
    ]
    result = SoakResult(
        published=0, request_ids=set(), fallbacks={}, statuses={}, accepted_by_esms={}, outcomes={},
        sends=21, send_times=times, tps_limit=20.0, throttled=0, dlq_depth=0, crashes=0, invocations=0,
        seconds=10.0,
    )  # fmt: skip
    printed = io.StringIO()

    report(result, printed)

    # Then the average over the time it sent, and its busiest second, stand beside the limit
    assert (
        "send rate to eSMS (ZNS and SMS)             "
        "2.2 a second on average over 10 s, 20 in the busiest second (TPS limit 20)\n"
    ) in printed.getvalue()
