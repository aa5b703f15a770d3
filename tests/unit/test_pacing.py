"""The shared send rate on moto: lowered on 160, raised back, and paced at each sender's share."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import boto3
import pytest

from local.template import Resolver
from zns_relay.pacing import SendPacer
from zns_relay.store.throttle import SharedRate


@dataclass
class FakeTime:
    now: float = 1_796_000_000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def shared(aws: boto3.Session, deployment: Resolver) -> SharedRate:
    return SharedRate(deployment.ref("ThrottleTable"), aws.client("dynamodb"), ceiling=20)


def pacer(shared: SharedRate, time: FakeTime, senders: int = 2) -> SendPacer:
    return SendPacer(shared, ceiling=20, senders=senders, clock=time, monotonic=time, sleep=time.sleep)


def test_a_160_lowers_the_rate_every_sender_shares_once_however_many_meet_it(
    shared: SharedRate, time: FakeTime
) -> None:
    # Given two senders at the ceiling
    first, second = pacer(shared, time), pacer(shared, time)
    first.turn(max_wait=1)
    second.turn(max_wait=1)

    # When both meet a 160 at the same moment
    first.throttled()
    second.throttled()

    # Then the shared rate dropped once, to 70 %, and both pace by it
    assert shared.read().rate == pytest.approx(14.0)
    assert first.rate == second.rate == pytest.approx(14.0)


def test_the_rate_comes_back_a_step_at_a_time_while_esms_stops_throttling(
    shared: SharedRate, time: FakeTime
) -> None:
    sender = pacer(shared, time)
    sender.throttled()
    sender.throttled()  # within the cooldown: no second decrease
    assert sender.rate == pytest.approx(14.0)

    sender.answered()  # too soon after the decrease
    assert sender.rate == pytest.approx(14.0)
    rates = []
    for _ in range(10):
        time.now += 5
        sender.answered()
        rates.append(sender.rate)

    assert rates[:3] == pytest.approx([15.0, 16.0, 17.0])
    assert max(rates) == 20.0  # never above the ceiling


def test_another_sender_sees_the_lowered_rate_once_its_view_is_stale(
    shared: SharedRate, time: FakeTime
) -> None:
    throttled, other = pacer(shared, time), pacer(shared, time)
    other.turn(max_wait=1)
    throttled.throttled()

    assert other.rate == 20.0  # still its fresh view
    time.now += 2.5
    other.turn(max_wait=1)
    assert other.rate == pytest.approx(14.0)


def test_each_sender_paces_at_its_share_bursting_a_second_of_it_and_gives_up_a_slot_too_far(
    shared: SharedRate, time: FakeTime
) -> None:
    # Given a rate of 20 a second shared by 4 senders: 5 a second each
    sender = pacer(shared, time, senders=4)
    start = time.now

    burst = [sender.turn(max_wait=0) for _ in range(5)]
    after_burst = time.now
    taken = [sender.turn(max_wait=10) for _ in range(50)]

    assert all(burst) and after_burst == start  # a second's worth goes out together
    assert all(taken)
    assert time.now - start == pytest.approx(10.0)  # then 5 a second: 55 sends in 10 s
    assert sender.turn(max_wait=0.05) is False  # the next slot is 0.2 s away


def test_a_throttled_record_waits_for_the_backlog_at_the_current_rate(
    shared: SharedRate, time: FakeTime
) -> None:
    sender = pacer(shared, time)
    rng = random.Random(1)
    at_ceiling = [sender.retry_delay(backlog=50, rng=rng) for _ in range(200)]
    for _ in range(5):
        time.now += 1.1
        sender.throttled()  # 20 -> 14 -> 9.8 -> 6.9 -> 4.8 -> 3.4
    slowed = [sender.retry_delay(backlog=50, rng=rng) for _ in range(200)]

    assert min(at_ceiling) >= 1 and max(at_ceiling) <= 4  # 50 records at 20 a second
    assert max(slowed) > 10  # 50 records at 3.4 a second take longer
    assert len(set(slowed)) > 5  # spread, not all at once
