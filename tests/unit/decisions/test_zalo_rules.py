"""Zalo's refusals classed once: what waits, what is the person's choice, what is the message's fault;
and Vietnam's clock for the night window and the daily quotas."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from zns_relay.models.zalo_rules import (
    BY_THE_PERSON,
    FOR_NOW,
    MAX_SPREAD_SECONDS,
    VIETNAM,
    ZaloRefusal,
    classify,
    next_midnight,
    next_morning,
    spread_seconds,
)


@pytest.mark.parametrize(
    ("code", "refusal"),
    [
        (-133, ZaloRefusal.NIGHT_WINDOW),
        (-144, ZaloRefusal.OA_QUOTA),
        (-147, ZaloRefusal.TEMPLATE_QUOTA),
        (-141, ZaloRefusal.REFUSED_OA),
        (-139, ZaloRefusal.REFUSED_TYPE),
        (-131, ZaloRefusal.TEMPLATE_UNAVAILABLE),
        (-146, ZaloRefusal.TEMPLATE_UNAVAILABLE),
        (-124, ZaloRefusal.TRANSIENT),
        (-100, ZaloRefusal.TRANSIENT),
        # The message's own fault: FAILED as before
        (-108, None),
        (-114, None),
        (-118, None),
        (0, None),
        (None, None),
    ],
)
def test_each_zalo_code_is_classed(code: int | None, refusal: ZaloRefusal | None) -> None:
    assert classify(code) is refusal


def test_a_refusal_is_either_for_now_or_the_persons_choice() -> None:
    assert set(ZaloRefusal) == FOR_NOW | BY_THE_PERSON
    assert not FOR_NOW & BY_THE_PERSON


@pytest.mark.parametrize(
    ("vietnam_now", "morning"),
    [
        ("2026-12-06 22:00", "2026-12-07 06:00"),  # the window opens: the next morning
        ("2026-12-06 23:59", "2026-12-07 06:00"),
        ("2026-12-07 00:30", "2026-12-07 06:00"),  # after midnight: this morning
        ("2026-12-07 05:59", "2026-12-07 06:00"),
        ("2026-12-07 06:00", "2026-12-08 06:00"),  # exactly 06:00: the next one
        ("2026-12-31 23:00", "2027-01-01 06:00"),  # across a year
    ],
)
def test_the_next_morning_is_06_00_vietnam_time(vietnam_now: str, morning: str) -> None:
    now = datetime.strptime(vietnam_now, "%Y-%m-%d %H:%M").replace(tzinfo=VIETNAM).astimezone(UTC)
    assert next_morning(now) == datetime.strptime(morning, "%Y-%m-%d %H:%M").replace(tzinfo=VIETNAM)


def test_the_quotas_start_again_at_midnight_vietnam_time_which_is_17_00_utc() -> None:
    assert next_midnight(datetime(2026, 12, 6, 16, 59, tzinfo=UTC)) == datetime(
        2026, 12, 6, 17, 0, tzinfo=UTC
    )
    assert next_midnight(datetime(2026, 12, 6, 17, 0, tzinfo=UTC)) == datetime(2026, 12, 7, 17, 0, tzinfo=UTC)


def test_the_spread_is_stable_per_message_and_bounded() -> None:
    spreads = {spread_seconds(f"order-{n}") for n in range(200)}
    assert spread_seconds("order-1") == spread_seconds("order-1")
    assert all(0 <= spread < MAX_SPREAD_SECONDS for spread in spreads)
    assert len(spreads) > 100  # spread, not bunched
