"""A sender killed at each point of a send, through the embedded stack: the message still ends in its
true final state, accepted by eSMS exactly once.

The stack runs with `python -m local up`'s own timings (local/stack.py: a 20 s SenderFunction timeout,
a 30 s SendQueue visibility, a five-minute retry window), so that a crashed invocation's record comes
back, and its claim's lease ends, well inside its message's retry window.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from local.esms_sim import SimulatorConfig
from local.scenarios.crashes import CrashPoint
from local.stack import LocalStack, StackInfo
from tests.support.waiting import wait_for
from zns_relay.models.state import FINAL_STATUSES

pytestmark = pytest.mark.e2e
# Every point a plain message's send or events pass (an SMS fallback's queueing: test_fallback.py)
POINTS = [point for point in CrashPoint if point is not CrashPoint.AFTER_FALLBACK_QUEUED]
# Reports come from the reconciler only: a callback could move a message before its sender's result
# write, which then never commits, and whether AFTER_WRITE fires would be a matter of timing.
NO_CALLBACKS = SimulatorConfig(callback_loss_rate=1.0)


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, dict[str, str]]]:
    """One message per crash point, each crashed once at its point, all left to recover together."""
    log = tmp_path_factory.mktemp("crashes") / "functions.log"
    with LocalStack(simulator_config=NO_CALLBACKS, function_output=log) as stack:
        assert stack.info is not None
        info = stack.info
        request_ids = {point.value: f"crash-{point.value}" for point in POINTS}
        for point in POINTS:
            stack.crashes.arm(point, request_id=request_ids[point.value])
        sqs = info.client("sqs")
        # A phone each: a message accepted unheard (its retry hears 124, no SMSID) is found in eSMS's
        # list of sent messages by its phone and time, which must fit it alone
        for index, request_id in enumerate(request_ids.values()):
            body = {
                "Phone": f"09018884{index:02d}",
                "TempID": "2056446",
                "TempData": {"otp": "1"},
                "RequestId": request_id,
            }
            sqs.send_message(QueueUrl=info.queue_url, MessageBody=json.dumps(body))

        def all_crashed_and_final() -> dict[str, str] | None:
            statuses = info.statuses()
            mine = {point: statuses.get(request_id) for point, request_id in request_ids.items()}
            # A message's status events are published after its status is written: its AFTER_PUT_EVENTS
            # crash may still be to come when it is final
            crashed = {record.point for record in stack.crashes.fired()} == set(POINTS)
            return (
                {point: str(status) for point, status in mine.items()}
                if crashed and set(mine.values()) <= FINAL_STATUSES
                else None
            )

        final = wait_for(all_crashed_and_final, timeout=300)
        assert final is not None, (info.statuses(), stack.crashes.fired())
        yield stack, final


@pytest.mark.parametrize("point", POINTS, ids=[point.value for point in POINTS])
def test_a_send_killed_at_any_point_ends_delivered_accepted_by_esms_once(
    crashed: tuple[LocalStack, dict[str, str]], point: CrashPoint
) -> None:
    stack, final = crashed
    request_id = f"crash-{point.value}"

    # The message reaches DELIVERED (the reconciler brings the report), and eSMS
    # accepted its RequestId exactly once, whatever the crash left behind
    assert final[point.value] == "DELIVERED"
    assert stack.simulator.accepted_count_by_request_id().get(request_id) == 1
    info = stack.info
    assert info is not None
    dlq = info.client("sqs").get_queue_attributes(
        QueueUrl=info.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert dlq["Attributes"]["ApproximateNumberOfMessages"] == "0"


def body(request_id: str, index: int) -> dict[str, object]:
    return {
        "Phone": f"09023{index:05d}",
        "TempID": "2056446",
        "TempData": {"otp": "1"},
        "RequestId": request_id,
    }


def statuses_of(info: StackInfo, request_ids: list[str]) -> dict[str, str | None]:
    statuses = info.statuses()
    return {request_id: statuses.get(request_id) for request_id in request_ids}


def test_on_local_up_defaults_senders_killed_before_the_post_or_in_a_retry_send_every_message_once(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    log = tmp_path_factory.mktemp("up-crashes") / "functions.log"
    # Given the stack `python -m local up` starts, with its own timings
    with LocalStack(function_output=log) as stack:
        info = stack.info
        assert info is not None
        # And four messages that eSMS answers 5xx at first, so that they are retried
        retried = [f"killed-in-retry-{index}" for index in range(4)]
        stack.simulator.configure(error_rate_5xx=1.0)
        info.publish([body(request_id, index) for index, request_id in enumerate(retried)])
        waiting = wait_for(
            lambda: set(statuses_of(info, retried).values()) == {"RETRYING"}, timeout=120, interval=0.1
        )
        assert waiting, statuses_of(info, retried)

        # When a retry's sender dies, before its POST (half of them) or once the POST is written (the
        # others); and four more messages come, whose first sender dies before the POST
        for index, request_id in enumerate(retried):
            stack.crashes.arm(CrashPoint.BEFORE_SEND if index % 2 else CrashPoint.MID_SEND, request_id)
        first = [f"killed-first-{index}" for index in range(4)]
        for request_id in first:
            stack.crashes.arm(CrashPoint.BEFORE_SEND, request_id=request_id)
        info.publish([body(request_id, 10 + index) for index, request_id in enumerate(first)])

        # And eSMS answers again once every one of those crashes has happened
        def crashed() -> set[str]:
            return {record.request_id for record in stack.crashes.fired()}

        assert wait_for(lambda: crashed() >= set(first + retried), timeout=300), crashed()
        stack.simulator.configure(error_rate_5xx=0.0)

        # Then every message ends DELIVERED: sent, and accepted by eSMS exactly once; none ended unsent
        def all_final() -> dict[str, str | None] | None:
            found = statuses_of(info, first + retried)
            return found if set(found.values()) <= FINAL_STATUSES else None

        final = wait_for(all_final, timeout=400)
        assert final is not None and set(final.values()) == {"DELIVERED"}, statuses_of(info, first + retried)
        accepted = stack.simulator.accepted_count_by_request_id()
        assert {request_id: accepted.get(request_id) for request_id in first + retried} == dict.fromkeys(
            first + retried, 1
        )
