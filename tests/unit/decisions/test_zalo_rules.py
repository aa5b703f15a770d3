"""Zalo's refusals classed once: what waits, what is the person's choice, what is the message's fault;
and when a message Zalo deferred goes again, under which RequestId."""

from __future__ import annotations

from datetime import datetime

import pytest

from zns_relay.models.pause import Pause, holding, pause_from
from zns_relay.models.zalo_rules import (
    BY_THE_PERSON,
    REFUSALS,
    SPREAD_SECONDS,
    VIETNAM,
    ZaloRefusal,
    attempt_request_id,
    classify,
    next_attempt_at,
    opens_at,
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


def test_only_the_persons_refusals_are_theirs() -> None:
    assert {refusal for code, refusal in REFUSALS.items() if refusal in BY_THE_PERSON} == {
        ZaloRefusal.REFUSED_OA,
        ZaloRefusal.REFUSED_TYPE,
    }
    assert {code for code, refusal in REFUSALS.items() if refusal in BY_THE_PERSON} == {-141, -139}


def vietnam(text: str) -> int:
    """Epoch seconds of a Vietnam wall-clock time, "YYYY-MM-DD HH:MM"."""
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=VIETNAM).timestamp())


@pytest.mark.parametrize(
    ("refusal", "refused_at", "taken_from"),
    [
        # the night window (22:00-06:00 Vietnam time) ends at 06:00: the same morning after midnight,
        # the next one before it
        (ZaloRefusal.NIGHT_WINDOW, "2026-12-07 23:10", "2026-12-08 06:00"),
        (ZaloRefusal.NIGHT_WINDOW, "2026-12-08 02:30", "2026-12-08 06:00"),
        (ZaloRefusal.NIGHT_WINDOW, "2026-12-07 22:00", "2026-12-08 06:00"),
        # learnt by day (a report applied late, or Zalo's clock not ours): an hour on
        (ZaloRefusal.NIGHT_WINDOW, "2026-12-08 06:05", "2026-12-08 07:05"),
        (ZaloRefusal.NIGHT_WINDOW, "2026-12-08 10:00", "2026-12-08 11:00"),
        # a daily quota comes back at the next Vietnam midnight, whatever the hour
        (ZaloRefusal.OA_QUOTA, "2026-12-07 09:15", "2026-12-08 00:00"),
        (ZaloRefusal.TEMPLATE_QUOTA, "2026-12-07 23:59", "2026-12-08 00:00"),
        (ZaloRefusal.OA_QUOTA, "2026-12-31 18:00", "2027-01-01 00:00"),
        # a transient fault on Zalo's side (-124, -100): a few minutes on
        (ZaloRefusal.TRANSIENT, "2026-12-07 23:10", "2026-12-07 23:15"),
    ],
)
def test_a_deferred_message_goes_again_when_zalo_will_take_it_spread_over_a_quarter_hour(
    refusal: ZaloRefusal, refused_at: str, taken_from: str
) -> None:
    opens = vietnam(taken_from)
    assert opens_at(refusal, vietnam(refused_at)) == opens
    times = {next_attempt_at(opens, f"campaign-{n}") for n in range(200)}
    assert all(opens <= at < opens + SPREAD_SECONDS for at in times)
    assert len(times) > 150  # each at its own moment: no burst at the hour


def test_each_attempt_after_a_deferral_has_its_own_request_id_within_esms_50_characters() -> None:
    assert attempt_request_id("order-1", 0) == "order-1"
    assert [attempt_request_id("order-1", n) for n in (1, 2, 3)] == ["order-1.z2", "order-1.z3", "order-1.z4"]
    longest = "x" * 50
    derived = {attempt_request_id(longest, n) for n in (1, 2, 3)}
    assert len(derived) == 3
    assert all(len(request_id) <= 50 for request_id in derived)
    assert attempt_request_id(longest, 1) != attempt_request_id("y" * 50, 1)


@pytest.mark.parametrize(
    ("code", "temp_id", "expected_temp_id", "until"),
    [
        (-144, "2056446", None, "2026-12-08 00:00"),  # the OA's quota: every template of the OA
        (-147, "2056446", "2056446", "2026-12-08 00:00"),  # the template's limit: that template
        (-133, "2056446", "2056446", "2026-12-08 06:00"),  # the night: that template, till morning
    ],
)
def test_zalos_not_now_pauses_the_oa_or_the_template_until_zalo_takes_them_again(
    code: int, temp_id: str, expected_temp_id: str | None, until: str
) -> None:
    pause = pause_from(code, oa_id="oa-1", temp_id=temp_id, now=vietnam("2026-12-07 23:10"), request_id="r1")
    assert pause == Pause("oa-1", expected_temp_id, code, vietnam(until), "r1")


@pytest.mark.parametrize("code", [-141, -139, -114, -131, -124, -100, None])
def test_no_other_code_pauses_anything(code: int | None) -> None:
    assert pause_from(code, oa_id="oa-1", temp_id="1", now=0, request_id="r1") is None


def test_the_pause_that_holds_a_message_back_is_its_oas_or_its_templates_that_ends_last() -> None:
    now = vietnam("2026-12-07 23:10")
    oa = Pause("oa-1", None, -144, vietnam("2026-12-08 00:00"), "r1")
    night = Pause("oa-1", "7", -133, vietnam("2026-12-08 06:00"), "r2")
    over = Pause("oa-1", "8", -147, now, "r3")
    assert holding([oa, night, over], "oa-1", "7", now) == night
    assert holding([oa, night, over], "oa-1", "8", now) == oa  # the template's ended: the OA's holds
    assert holding([oa, night], "oa-2", "7", now) is None
    assert holding([over], "oa-1", "8", now) is None
    assert night.reason() == (
        "held unsent: the template may not be sent at night (Zalo -133) until 2026-12-08 06:00 Vietnam time"
    )
