"""A sender killed at each point of a send, through the embedded stack: the message still ends in its
true final state, accepted by eSMS exactly once.

The stack runs with a short SenderFunction timeout and SendQueue visibility (the template's values,
scaled down), so that a crashed invocation's record comes back, and its claim's lease ends, in seconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from local.crashes import CrashPoint
from local.esms_simulator import SimulatorConfig
from local.stack import LocalStack
from tests.support.waiting import wait_for
from zns_relay.models.state import FINAL_STATUSES

pytestmark = pytest.mark.e2e
SHORT = {"SenderFunction": {"Timeout": 20}, "SendQueue": {"VisibilityTimeout": 10}}
# Every point a plain message's send or events pass (an SMS fallback's queueing: test_fallback.py)
POINTS = [point for point in CrashPoint if point is not CrashPoint.AFTER_FALLBACK_QUEUED]
# Reports come from the reconciler only: a callback could move a message before its sender's result
# write, which then never commits, and whether AFTER_WRITE fires would be a matter of timing.
NO_CALLBACKS = SimulatorConfig(callback_loss_rate=1.0)


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, dict[str, str]]]:
    """One message per crash point, each crashed once at its point, all left to recover together."""
    log = tmp_path_factory.mktemp("crashes") / "functions.log"
    with LocalStack(simulator_config=NO_CALLBACKS, resource_overrides=SHORT, function_output=log) as stack:
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

        final = wait_for(all_crashed_and_final, timeout=180)
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
