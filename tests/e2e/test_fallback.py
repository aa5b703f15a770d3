"""The SMS fallback through the embedded stack: a ZNS message to a number with no Zalo account or an
inactive user ends with exactly one SMS, across duplicate publishes, crashes and repeated callbacks;
the SMS is tracked to DELIVERED and linked both ways; a message whose validity has passed gets none.

The stack runs with its own scaled SenderFunction timeout and SendQueue/FallbackQueue visibility
(local/stack.py), so that a crashed invocation's record comes back within a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.esms_sim import SimulatorConfig
from local.scenarios.crashes import CrashPoint
from local.stack import LocalStack, history_lines
from tests.support.waiting import wait_for
from zns_relay.models.fallback import sms_request_id
from zns_relay.models.state import FINAL_STATUSES

pytestmark = pytest.mark.e2e
SIMULATOR = SimulatorConfig(
    seed=13,
    suffix_outcomes={"118": "failed_118", "114": "failed_114", "777": "no_report"},
    duplicate_callbacks=0.5,  # the final callback, of the ZNS message and of the SMS, often comes twice
    sent_first=0.5,
)
FALLBACK = {"Content": "Ma OTP cua {customer_name} la {otp}", "Brandname": "Baotrixemay"}
# The SMS sends killed at each point, and one FallbackFunction killed once it queued its SMS (the
# stream then delivers the final write again and the SMS is queued twice)
CRASHES = {
    "fb-no-zalo-1": CrashPoint.MID_SEND,
    "fb-no-zalo-2": CrashPoint.AFTER_WRITE,
    "fb-inactive-1": CrashPoint.AFTER_ANSWER,
    "fb-inactive-2": CrashPoint.AFTER_FALLBACK_QUEUED,
}


def body(request_id: str, phone: str, **extra: Any) -> dict[str, Any]:
    return {
        "Phone": phone,
        "TempID": "2056446",
        "TempData": {"customer_name": "Nguyen Van An", "otp": request_id[-1]},
        "RequestId": request_id,
        **extra,
    }


def bodies() -> dict[str, dict[str, Any]]:
    """Three kinds that send an SMS, three that must not."""
    # Sent well within its validity, which has passed when its UNKNOWN comes (36 s after acceptance)
    soon = (datetime.now(UTC) + timedelta(seconds=30)).isoformat(timespec="seconds")
    messages = {}
    for index in range(1, 4):
        messages[f"fb-no-zalo-{index}"] = body(f"fb-no-zalo-{index}", f"090123{index}118", Fallback=FALLBACK)
        messages[f"fb-inactive-{index}"] = body(
            f"fb-inactive-{index}", f"090223{index}114", Fallback=FALLBACK
        )
    messages["fb-delivered"] = body("fb-delivered", "0903334441", Fallback=FALLBACK)
    messages["fb-none-asked"] = body("fb-none-asked", "0904445118")
    # eSMS never reports on it
    messages["fb-too-late"] = body(
        "fb-too-late", "0905556777", ValidUntil=soon, Fallback={**FALLBACK, "On": ["unknown"]}
    )
    return messages


@pytest.fixture(scope="module")
def ended(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, dict[str, str]]]:
    """Every message published twice, the crashes armed, all left to end (and their SMS to end)."""
    log = tmp_path_factory.mktemp("fallback") / "functions.log"
    with LocalStack(simulator_config=SIMULATOR, function_output=log) as stack:
        info = stack.info
        assert info is not None
        for request_id, point in CRASHES.items():
            stack.crashes.arm(point, request_id=sms_request_id(request_id))
        messages = bodies()
        info.publish(list(messages.values()) * 2)
        expected = [
            *messages,
            *(sms_request_id(r) for r in messages if r.startswith(("fb-no-zalo", "fb-inactive"))),
        ]

        def all_final_and_noted() -> dict[str, str] | None:
            """Every message and SMS final, and FallbackFunction's note on each that asked for an SMS
            (it follows the final write through the stream)."""
            statuses = info.statuses()
            mine = {request_id: str(statuses.get(request_id)) for request_id in expected}
            if not set(mine.values()) <= FINAL_STATUSES:
                return None
            asked = [r for r in messages if r.startswith(("fb-no-zalo", "fb-inactive", "fb-too-late"))]
            noted = all(
                any("SMS fallback" in line for line in history_lines(info.message(r) or {})) for r in asked
            )
            return mine if noted else None

        final = wait_for(all_final_and_noted, timeout=240)
        assert final is not None, info.statuses()
        stack.simulator.wait_for_callbacks_idle(5)
        assert {record.point for record in stack.crashes.fired()} == set(CRASHES.values())
        yield stack, final


def sms_sends(stack: LocalStack) -> dict[str, list[dict[str, Any]]]:
    """The SMS sends eSMS accepted, by RequestId."""
    accepted: dict[str, list[dict[str, Any]]] = {}
    for request in stack.simulator.requests("sms_send"):
        if request["accepted"]:
            accepted.setdefault(request["request_id"], []).append(request["body"])
    return accepted


@pytest.mark.parametrize(
    "request_id", [f"fb-{kind}-{i}" for kind in ("no-zalo", "inactive") for i in (1, 2, 3)]
)
def test_a_message_zalo_cannot_deliver_ends_with_exactly_one_sms_delivered_and_linked(
    ended: tuple[LocalStack, dict[str, str]], request_id: str
) -> None:
    stack, final = ended
    info = stack.info
    assert info is not None
    sms_id = sms_request_id(request_id)

    # The ZNS message failed, and eSMS accepted exactly one SMS for it (published twice, its SMS send
    # or its queueing crashed, its callbacks repeated), to its phone, its text filled from TempData
    assert final[request_id] == "FAILED"
    sends = sms_sends(stack).get(sms_id, [])
    assert len(sends) == 1
    assert sends[0]["Phone"] == bodies()[request_id]["Phone"]
    assert sends[0]["Content"] == f"Ma OTP cua Nguyen Van An la {request_id[-1]}"
    assert sends[0]["Brandname"] == "Baotrixemay"
    assert stack.simulator.accepted_count_by_request_id()[request_id] == 1

    # The SMS is a message of its own that reached DELIVERED, and the two items name each other
    assert final[sms_id] == "DELIVERED"
    original, sms = info.message(request_id), info.message(sms_id)
    assert original is not None and sms is not None
    assert original["fallback_request_id"] == sms_id
    assert sms["fallback_for"] == request_id
    assert sms["channel"] == "sms"


@pytest.mark.parametrize(
    ("request_id", "status"), [("fb-delivered", "DELIVERED"), ("fb-none-asked", "FAILED")]
)
def test_no_sms_for_a_delivered_message_or_one_that_asked_for_none(
    ended: tuple[LocalStack, dict[str, str]], request_id: str, status: str
) -> None:
    stack, final = ended
    assert final[request_id] == status
    assert sms_request_id(request_id) not in sms_sends(stack)
    assert stack.info is not None and stack.info.message(sms_request_id(request_id)) is None


def test_no_sms_once_the_validity_has_passed_and_the_history_says_why(
    ended: tuple[LocalStack, dict[str, str]],
) -> None:
    stack, final = ended
    assert stack.info is not None

    # The message ended UNKNOWN, a trigger it asked for, but after its ValidUntil: no SMS
    assert final["fb-too-late"] == "UNKNOWN"
    assert sms_request_id("fb-too-late") not in sms_sends(stack)
    message = stack.info.message("fb-too-late")
    assert message is not None and "fallback_request_id" not in message
    assert any("validity" in line and "not sent" in line for line in history_lines(message))


def test_nothing_is_left_in_a_dead_letter_queue(ended: tuple[LocalStack, dict[str, str]]) -> None:
    stack, _ = ended
    assert stack.info is not None
    sqs = stack.info.client("sqs")
    for queue in ("SendDLQ", "FallbackDLQ", "FallbackTriggerDLQ"):
        url = stack.resolver.ref(queue)
        depth = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0", queue
