"""Retry delays: exponential ceiling, jittered, bounded."""

from __future__ import annotations

import random

import pytest

from zns_relay.backoff import retry_delay_seconds


@pytest.mark.parametrize(
    ("receives", "ceiling"), [(1, 10), (2, 20), (3, 40), (4, 80), (7, 640), (8, 900), (50, 900)]
)
def test_delay_stays_between_base_and_the_doubling_ceiling(receives: int, ceiling: int) -> None:
    rng = random.Random(7)
    delays = [retry_delay_seconds(receives, 10, 900, rng) for _ in range(200)]
    assert min(delays) >= 10
    assert max(delays) <= ceiling
    assert len(set(delays)) > 1 or ceiling == 10  # jittered, not fixed


def test_zero_base_means_no_delay() -> None:
    assert retry_delay_seconds(3, 0, 900, random.Random(1)) == 0


def test_max_below_base_caps_the_delay() -> None:
    assert retry_delay_seconds(1, 30, 5, random.Random(1)) == 5
