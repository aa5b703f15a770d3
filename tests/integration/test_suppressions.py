"""The person's refusals on moto, through the real functions: a -141 or -139 report fails the message
and is remembered in ThrottleTable; the next message it covers fails unsent (no eSMS call), or sends its
SMS fallback when that asks for `refused`."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from local.runtime.template import Resolver
from tests.conftest import LoadedFunction, load_function
from tests.support.esms_stub import EsmsStub, accepted
from tests.support.outcomes import TableStream
from tests.support.zalo_reports import callback_url, report_on, send, zalo_refusal
from zns_relay.models.contract import normalise_phone
from zns_relay.models.state import MessageRecord, MessageStatus
from zns_relay.models.suppression import Suppression
from zns_relay.store.items import from_item
from zns_relay.store.messages import MessageStore
from zns_relay.store.suppressions import Suppressions

PHONE = "0901888118"
TEMP_ID = "2056446"
DAY = 86400


def body(request_id: str, temp_id: str = TEMP_ID, **changes: Any) -> dict[str, Any]:
    return {
        "Phone": PHONE,
        "TempID": temp_id,
        "TempData": {"otp": "482910"},
        "RequestId": request_id,
        **changes,
    }


@pytest.fixture
def store(aws: boto3.Session, deployment: Resolver) -> MessageStore:
    return MessageStore(deployment.ref("MessagesTable"), aws.client("dynamodb"))


@pytest.fixture
def suppressions(aws: boto3.Session, deployment: Resolver) -> Suppressions:
    return Suppressions(deployment.ref("ThrottleTable"), aws.client("dynamodb"))


def refused_by_zalo(
    callback: LoadedFunction, esms: EsmsStub, request_id: str, sms_id: str, zalo_code: int
) -> None:
    """eSMS calls back on the message's CallbackUrl: Zalo refused it with `zalo_code`."""
    answer = report_on(
        callback, callback_url(esms, request_id), zalo_refusal(sms_id, zalo_code, "User refused")
    )
    assert answer["statusCode"] == 200


def record_of(store: MessageStore, request_id: str) -> MessageRecord:
    record = store.get(request_id)
    assert record is not None
    return record


def throttle_items(aws: boto3.Session, deployment: Resolver) -> dict[str, dict[str, Any]]:
    items = aws.client("dynamodb").scan(TableName=deployment.ref("ThrottleTable"))["Items"]
    return {
        item["limiter"]["S"]: from_item(item)
        for item in items
        if item["limiter"]["S"].startswith("suppress#")
    }


def test_a_refusal_of_the_oa_fails_the_message_and_holds_back_the_next_one_unsent(
    sender: LoadedFunction,
    callback: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    # Given a message sent and accepted
    esms.responder = lambda _body: accepted("zns-1")
    send(sender, deployment, body("first"))
    first = record_of(store, "first")

    # When Zalo reports the person refused ZNS from this OA (-141)
    refused_by_zalo(callback, esms, "first", "zns-1", -141)

    # Then the message ends FAILED, as before, and the refusal is remembered for SuppressionDays
    assert record_of(store, "first").status is MessageStatus.FAILED
    key = f"suppress#{first.oa_id}#{first.phone}"
    stored = throttle_items(aws, deployment)
    assert set(stored) == {key}
    assert (stored[key]["code"], stored[key]["request_id"], stored[key]["phone"]) == (
        -141,
        "first",
        first.phone,
    )
    assert abs(stored[key]["expires_at"] - (time.time() + 180 * DAY)) < 600
    ttl = aws.client("dynamodb").describe_time_to_live(TableName=deployment.ref("ThrottleTable"))
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"

    # And the next message to that phone from that OA, of any template, fails without an eSMS call
    send(sender, deployment, body("second", temp_id="999"))
    second = record_of(store, "second")
    assert esms.sends_for("second") == 0
    assert (second.status, second.esms_code) == (MessageStatus.FAILED, None)
    assert second.error is not None and second.error.startswith(
        "not sent: the person refused ZNS from this OA (Zalo -141) on "
    )
    assert second.history[-1].data == {"error_code": "-141", "suppressed_by": "first"}


def test_a_refusal_of_a_type_holds_back_that_template_only(
    sender: LoadedFunction,
    callback: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    # Given a message refused by the person for its type (-139)
    esms.responder = lambda _body: accepted("zns-1")
    send(sender, deployment, body("first"))
    refused_by_zalo(callback, esms, "first", "zns-1", -139)
    first = record_of(store, "first")
    assert set(throttle_items(aws, deployment)) == {f"suppress#{first.oa_id}#{first.phone}#{TEMP_ID}"}

    # When two more come for that phone: one of the same template, one of another
    esms.responder = lambda _body: accepted("zns-2")
    send(sender, deployment, body("same-template"), body("other-template", temp_id="999"))

    # Then only the other template's is sent
    assert esms.sends_for("same-template") == 0
    assert record_of(store, "same-template").status is MessageStatus.FAILED
    assert esms.sends_for("other-template") == 1
    assert record_of(store, "other-template").status is MessageStatus.ACCEPTED


@pytest.mark.parametrize(("on", "sms_sent"), [(["refused"], True), (["no_zalo", "inactive"], False)])
def test_a_held_back_message_sends_its_sms_fallback_only_when_it_asks_for_refused(
    sender: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    suppressions: Suppressions,
    aws: boto3.Session,
    deployment: Resolver,
    monkeypatch: pytest.MonkeyPatch,
    on: list[str],
    sms_sent: bool,
) -> None:
    # Given a person who refused ZNS from the deployment's OA
    stream = TableStream(aws, deployment)
    fallback = load_function("FallbackFunction", deployment, monkeypatch, {})
    oa_id = deployment.parameters["DefaultOaId"]
    suppressions.record(
        Suppression(oa_id, normalise_phone(PHONE), None, -141, "2026-12-06T08:00:00.000Z", "earlier")
    )

    # When a message with an SMS fallback for the outcomes `on` comes for them
    fallback_request = {"Content": "Ma OTP {otp}", "Brandname": "Baotrixemay", "On": on}
    send(sender, deployment, body("otp-7", Fallback=fallback_request))

    # Then it fails unsent, and its SMS is queued only when it asks for `refused`
    assert esms.sends_for("otp-7") == 0
    assert record_of(store, "otp-7").status is MessageStatus.FAILED
    assert fallback.invoke(stream.new_event()) == {"batchItemFailures": []}
    jobs = aws.client("sqs").receive_message(QueueUrl=deployment.ref("FallbackQueue")).get("Messages", [])
    assert [json.loads(job["Body"])["request_id"] for job in jobs] == (["otp-7:sms"] if sms_sent else [])
