"""The rate limiter the reconciler asks eSMS through, on a fake clock."""

from __future__ import annotations

import itertools

import pytest

from zns_relay.reconciler.rate_limit import RateLimiter


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def calls_in_busiest_second(times: list[float]) -> int:
    return max(sum(1 for other in times if start <= other < start + 1) for start in times)


@pytest.mark.parametrize(("per_second", "start"), [(20, 1_796_000_000.0), (100, 12.3), (3.5, 0.0)])
def test_no_second_holds_more_calls_than_allowed(per_second: float, start: float) -> None:
    # Given a limiter on a clock at a large epoch value, where float rounding is at its worst
    clock = FakeClock(start)
    limiter = RateLimiter(per_second, clock=clock, sleep=clock.sleep)
    times = []

    # When a caller makes calls as fast as the limiter lets it
    for _ in range(500):
        limiter.acquire()
        times.append(clock.now)

    # Then no one-second window holds more than the limit, and the calls are spread, not bunched
    assert calls_in_busiest_second(times) <= int(per_second)
    assert min(b - a for a, b in itertools.pairwise(times)) >= (1 / per_second) * 0.999


def test_a_caller_that_is_slower_than_the_limit_never_waits() -> None:
    clock = FakeClock(0.0)
    waits: list[float] = []
    limiter = RateLimiter(20, clock=clock, sleep=waits.append)
    for _ in range(10):
        limiter.acquire()
        clock.now += 0.1
    assert waits == []


def test_a_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)
