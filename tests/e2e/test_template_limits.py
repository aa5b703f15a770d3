"""Through the embedded stack: the sender asks the simulated eSMS for the template (GetZnsTemplateInfo)
and rejects TempData that breaks it before any send; what fits is sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.esms_sim import DEFAULT_TEMPLATES
from local.stack import LocalStack
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e
TEMP_ID = "2056446"  # the simulator's default template: otp at most 10 characters


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    log = tmp_path_factory.mktemp("template-limits") / "functions.log"
    with LocalStack(function_output=log) as running:
        yield running


def test_temp_data_over_the_simulator_templates_max_length_is_rejected_and_never_sent(
    stack: LocalStack,
) -> None:
    # Given two messages for the simulator's template: one otp within its MaxLength, one over it
    assert stack.info is not None
    info = stack.info
    [otp] = [param for param in DEFAULT_TEMPLATES[TEMP_ID].params if param.name == "otp"]
    too_long = "1" * (otp.max_length + 1)
    bodies = [
        {"Phone": "0901888484", "TempID": TEMP_ID, "TempData": {"otp": "123456"}, "RequestId": "fits-1"},
        {"Phone": "0901888484", "TempID": TEMP_ID, "TempData": {"otp": too_long}, "RequestId": "too-long-1"},
    ]

    # When they flow through the stack
    info.publish(bodies)

    def settled() -> dict[str, str] | None:
        found = info.statuses()
        done = found.get("too-long-1") and found.get("fits-1") not in (None, "SENDING", "RETRYING")
        return found if done else None

    statuses = wait_for(settled, 60) or {}

    # Then the one over the limit is REJECTED with the reason, and no send of it reached eSMS
    assert statuses["too-long-1"] == "REJECTED"
    rejected = info.message("too-long-1") or {}
    assert rejected["error"] == (
        f"TempData does not fit template {TEMP_ID} as eSMS has it: "
        f"otp: {len(too_long)} characters, at most {otp.max_length}"
    )
    sends = stack.simulator.requests("zns_send")
    assert [send["request_id"] for send in sends if send["request_id"] == "too-long-1"] == []
    # And the one that fits was sent, the template asked of eSMS before it
    assert [send["request_id"] for send in sends] == ["fits-1"]
    assert statuses["fits-1"] in ("ACCEPTED", "SENT", "DELIVERED")
    assert len(stack.simulator.requests("get_zns_template_info")) >= 1
