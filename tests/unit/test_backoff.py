"""Retry delays: exponential ceiling, jittered, bounded."""

from __future__ import annotations

import random

import pytest

from zns_relay.sender.backoff import most_receives, retry_delay_seconds


@pytest.mark.parametrize(
    ("receives", "ceiling"), [(1, 10), (2, 20), (3, 40), (4, 80), (7, 640), (8, 900), (50, 900)]
)
def test_delay_stays_in_the_upper_half_of_the_doubling_ceiling(receives: int, ceiling: int) -> None:
    rng = random.Random(7)
    delays = [retry_delay_seconds(receives, 10, 900, rng) for _ in range(200)]
    assert min(delays) >= max(10, ceiling // 2)
    assert max(delays) <= ceiling
    assert len(set(delays)) > 1 or ceiling == 10  # jittered, not fixed


def test_zero_base_means_no_delay() -> None:
    assert retry_delay_seconds(3, 0, 900, random.Random(1)) == 0


def test_max_below_base_caps_the_delay() -> None:
    assert retry_delay_seconds(1, 30, 5, random.Random(1)) == 5


def test_receives_over_a_retry_window_stay_within_the_bound_the_queue_is_sized_against() -> None:
    # Given the deployed backoff (10 s doubling to 900 s) and a 23-hour retry window, the longest allowed
    window, receives, waited = 23 * 3600, 0, 0
    rng = random.Random(3)

    # When a message fails on every receive until the window ends
    while waited < window:
        receives += 1
        waited += retry_delay_seconds(receives, 10, 900, rng)

    # Then it takes no more receives than most_receives says (local/timings.py checks it against the
    # queue's maxReceiveCount), counting the one that closes the window
    bound = most_receives(window, 10, 900)
    assert bound is not None and receives + 1 <= bound == 191


def test_no_delay_means_no_bound_on_receives() -> None:
    assert most_receives(3600, 0, 900) is None
