"""The pacing on moto: the rate shared by the environments sending now, lowered on 160 and raised back."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from local.runtime.template import Resolver, Template
from zns_relay.sender.pacing import SendPacer
from zns_relay.store.throttle import SharedRate

DEFAULT_RATE = float(Template().parameter_defaults()["EsmsRateLimit"])  # 30
DEFAULT_SENDERS = int(Template().parameter_defaults()["MaxConcurrency"])  # 5
BATCH = int(Template().function("SenderFunction").environment["SEND_CONCURRENCY"])  # 10
STEP = 1 / 16  # the simulations' tick: exact in binary, so that window edges compare exactly


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
def dynamodb(aws: boto3.Session) -> Any:
    return aws.client("dynamodb")


def lease_writes(dynamodb: Any) -> Counter[str]:
    """UpdateItem calls on the client, counted as they are made."""
    made: Counter[str] = Counter()
    dynamodb.meta.events.register("before-call.dynamodb.UpdateItem", lambda **_: made.update(["UpdateItem"]))
    return made


def pacer(deployment: Resolver, dynamodb: Any, time: FakeTime, ceiling: float = 20) -> SendPacer:
    shared = SharedRate(deployment.ref("ThrottleTable"), dynamodb, ceiling=ceiling)
    return SendPacer(shared, ceiling=ceiling, burst=BATCH, clock=time, sleep=time.sleep)


def shared_rate(deployment: Resolver, dynamodb: Any) -> float:
    return SharedRate(deployment.ref("ThrottleTable"), dynamodb, ceiling=1000).read().rate.rate


def simulate(
    senders: list[SendPacer], time: FakeTime, seconds: float, wants: Callable[[int], int] | None = None
) -> list[tuple[float, int]]:
    """At each tick each sender takes the slots it has now, up to what it `wants` (sender number ->
    sends; default: a backlog, every slot), never waiting, so that the one clock stays theirs. The
    sends, as (time, sender)."""
    sends = []
    for _ in range(round(seconds / STEP)):
        for number, sender in enumerate(senders):
            wanted = wants(number) if wants is not None else 1_000
            while wanted > 0 and sender.turn(max_wait=0):
                sends.append((time.now, number))
                wanted -= 1
        time.now += STEP
    return sends


def most_in_one_second(times: list[float]) -> int:
    """The most sends in any window (t - 1 s, t]."""
    ordered = sorted(times)
    first, most = 0, 0
    for last, at in enumerate(ordered):
        while ordered[first] <= at - 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def test_an_environment_alone_sends_a_batch_of_ten_at_once_at_the_defaults(
    deployment: Resolver, dynamodb: Any, time: FakeTime
) -> None:
    # Given one environment at the template's EsmsRateLimit, nobody else sending
    sender = pacer(deployment, dynamodb, time, ceiling=DEFAULT_RATE)

    # When a batch of ten asks for its slots, each record in a thread of its own, none willing to wait
    with ThreadPoolExecutor(BATCH) as pool:
        slots = list(pool.map(lambda _: sender.turn(max_wait=0), range(BATCH)))

    # Then all ten have one at once
    assert all(slots)
    assert not any(time.sleeps)


def test_an_environment_alone_sends_the_whole_rate_in_any_second_and_no_more(
    deployment: Resolver, dynamodb: Any, time: FakeTime
) -> None:
    sender = pacer(deployment, dynamodb, time, ceiling=DEFAULT_RATE)

    sends = simulate([sender], time, seconds=10)

    # Then it sent a batch at once, then asked for more as it used all it held, up to the whole rate
    times = [at for at, _ in sends]
    assert times[:BATCH] == [times[0]] * BATCH
    assert most_in_one_second(times) == DEFAULT_RATE
    assert sender.share == DEFAULT_RATE
    assert len([at for at in times if at >= time.now - 5]) == DEFAULT_RATE * 5  # the rate held


def test_five_environments_sending_at_once_never_exceed_the_rate_in_any_second_and_share_it(
    deployment: Resolver, dynamodb: Any, time: FakeTime
) -> None:
    # Given the template's MaxConcurrency environments, all with a backlog from the same moment
    writes = lease_writes(dynamodb)
    senders = [pacer(deployment, dynamodb, time, ceiling=DEFAULT_RATE) for _ in range(DEFAULT_SENDERS)]

    # When they send for 20 seconds
    sends = simulate(senders, time, seconds=20)

    # Then together they never sent more than the rate in any one-second window
    assert most_in_one_second([at for at, _ in sends]) <= DEFAULT_RATE
    # and, once the shares settled, they used all of it, each its fifth
    settled = [number for at, number in sends if at >= time.now - 10]
    assert len(settled) == pytest.approx(DEFAULT_RATE * 10, abs=DEFAULT_RATE)
    assert sorted(Counter(settled).values()) == pytest.approx([len(settled) / 5] * 5, abs=7)
    assert [sender.share for sender in senders] == [6] * 5
    # with a lease write about once a second per environment, not one a send
    assert writes["UpdateItem"] <= DEFAULT_SENDERS * 20 * 1.5 < len(sends) / 3


def test_environments_starting_and_stopping_at_random_never_exceed_the_rate_in_any_second(
    deployment: Resolver, dynamodb: Any, time: FakeTime
) -> None:
    # Given the template's MaxConcurrency environments whose batches come and go at random
    rng = random.Random(18)
    senders = [pacer(deployment, dynamodb, time, ceiling=DEFAULT_RATE) for _ in range(DEFAULT_SENDERS)]
    busy = [False] * DEFAULT_SENDERS

    def wants(number: int) -> int:
        if rng.random() < 0.02:  # about every three seconds, a sender starts or stops
            busy[number] = not busy[number]
        return rng.randint(0, 10) if busy[number] else 0

    # When they send for a minute
    sends = simulate(senders, time, seconds=60, wants=wants)

    # Then they never sent more than the rate in any one-second window, and every one of them sent
    assert most_in_one_second([at for at, _ in sends]) <= DEFAULT_RATE
    assert set(Counter(number for _, number in sends)) == set(range(DEFAULT_SENDERS))


def test_an_environment_that_joins_gets_its_share_as_the_other_gives_it_up(
    deployment: Resolver, dynamodb: Any, time: FakeTime
) -> None:
    # Given one environment sending at the whole rate
    first, second = (pacer(deployment, dynamodb, time, ceiling=DEFAULT_RATE) for _ in range(2))
    simulate([first], time, seconds=4)
    assert first.share == 30

    # When a second one starts sending
    sends = simulate([first, second], time, seconds=8)

    # Then within a few seconds each holds half, and together they never sent more than the rate
    assert (first.share, second.share) == (15, 15)
    assert most_in_one_second([at for at, _ in sends]) <= DEFAULT_RATE
    second_sends = [at for at, number in sends if number == 1]
    assert second_sends and second_sends[0] - sends[0][0] <= 3.5  # its first send waited at most this


def test_an_environment_that_sent_one_batch_leaves_the_rest_of_the_rate_to_another_at_once(
    deployment: Resolver, dynamodb: Any, time: FakeTime
) -> None:
    # Given one environment that just sent a batch (the rate at the defaults is three batches a second)
    first, second = (pacer(deployment, dynamodb, time, ceiling=DEFAULT_RATE) for _ in range(2))
    assert all(first.turn(max_wait=0) for _ in range(BATCH))

    # When another environment gets a batch
    slots = [second.turn(max_wait=0) for _ in range(BATCH)]

    # Then it sends it at once too
    assert all(slots)
    assert not any(time.sleeps)


def test_an_environment_that_stopped_sending_gives_its_share_back_within_seconds(
    deployment: Resolver, dynamodb: Any, time: FakeTime
) -> None:
    first, second = (pacer(deployment, dynamodb, time, ceiling=DEFAULT_RATE) for _ in range(2))
    simulate([first, second], time, seconds=5)
    assert (first.share, second.share) == (15, 15)

    # When the first stops sending (its invocations are over), the second soon holds the whole rate
    simulate([second], time, seconds=3)

    assert second.share == 30


def test_a_batch_waits_for_a_slot_up_to_its_deadline_and_gives_up_one_too_far(
    deployment: Resolver, dynamodb: Any, time: FakeTime
) -> None:
    sender = pacer(deployment, dynamodb, time, ceiling=5)
    start = time.now

    burst = [sender.turn(max_wait=0) for _ in range(5)]
    waited = [sender.turn(max_wait=10) for _ in range(5)]

    assert all(burst) and all(waited)
    assert time.now - start == pytest.approx(1.0)  # the next five when the first second's window passed
    assert sender.turn(max_wait=0.5) is False  # the next slot is a second away


def test_a_160_lowers_the_rate_every_sender_shares_once_however_many_meet_it(
    deployment: Resolver, dynamodb: Any, time: FakeTime
) -> None:
    # Given two senders at the ceiling
    first, second = pacer(deployment, dynamodb, time), pacer(deployment, dynamodb, time)
    first.turn(max_wait=1)
    second.turn(max_wait=1)

    # When both meet a 160 at the same moment
    first.throttled()
    second.throttled()

    # Then the shared rate dropped once, to 70 %, and both pace by it
    assert shared_rate(deployment, dynamodb) == pytest.approx(14.0)
    assert first.rate == second.rate == pytest.approx(14.0)


def test_the_shares_follow_a_lowered_rate_at_the_next_turn(
    deployment: Resolver, dynamodb: Any, time: FakeTime
) -> None:
    sender = pacer(deployment, dynamodb, time)
    sender.turn(max_wait=0)
    assert sender.share == BATCH

    sender.throttled()
    sender.turn(max_wait=0)

    assert sender.share == 10  # 14 a second in all, then fewer units to divide


def test_the_rate_comes_back_a_step_at_a_time_while_esms_stops_throttling(
    deployment: Resolver, dynamodb: Any, time: FakeTime
) -> None:
    sender = pacer(deployment, dynamodb, time)
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


def test_another_sender_sees_the_lowered_rate_at_its_next_renewal(
    deployment: Resolver, dynamodb: Any, time: FakeTime
) -> None:
    throttled, other = pacer(deployment, dynamodb, time), pacer(deployment, dynamodb, time)
    other.turn(max_wait=1)
    throttled.throttled()

    assert other.rate == 20.0  # still its fresh view
    time.now += 1.5
    other.turn(max_wait=1)
    assert other.rate == pytest.approx(14.0)


def test_a_throttled_record_waits_for_the_backlog_at_the_current_rate(
    deployment: Resolver, dynamodb: Any, time: FakeTime
) -> None:
    sender = pacer(deployment, dynamodb, time)
    rng = random.Random(1)
    at_ceiling = [sender.retry_delay(backlog=50, rng=rng) for _ in range(200)]
    for _ in range(5):
        time.now += 1.1
        sender.throttled()  # 20 -> 14 -> 9.8 -> 6.9 -> 4.8 -> 3.4
    slowed = [sender.retry_delay(backlog=50, rng=rng) for _ in range(200)]

    assert min(at_ceiling) >= 1 and max(at_ceiling) <= 4  # 50 records at 20 a second
    assert max(slowed) > 10  # 50 records at 3.4 a second take longer
    assert len(set(slowed)) > 5  # spread, not all at once
