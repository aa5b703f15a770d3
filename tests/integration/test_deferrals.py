"""Zalo's "not now" on moto, through the real functions: a -133 (night window), -144 or -147 (daily
quotas) report defers the message instead of failing it; the reconciler queues its resend when it is
due, and the sender sends it again under a RequestId of its own, its TempData opened from the item."""

from __future__ import annotations

import json
import time
from datetime import datetime
from functools import partial
from typing import Any

import boto3
import pytest

from local.runtime.template import Resolver
from tests.conftest import LoadedFunction, load_event, load_function
from tests.support.esms_stub import EsmsStub, accepted
from tests.support.zalo_reports import callback_url, delivered, report_on, send, zalo_refusal
from zns_relay.models.state import MessageRecord, MessageStatus
from zns_relay.models.zalo_rules import SPREAD_SECONDS, VIETNAM, ZaloRefusal, next_attempt_at
from zns_relay.store.messages import MessageStore

OTP = "482910"


def body(request_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "Phone": "0901888118",
        "TempID": "2056446",
        "TempData": {"otp": OTP},
        "RequestId": request_id,
        **changes,
    }


@pytest.fixture
def store(aws: boto3.Session, deployment: Resolver) -> MessageStore:
    return MessageStore(deployment.ref("MessagesTable"), aws.client("dynamodb"))


@pytest.fixture
def reconciler(deployment: Resolver, esms: EsmsStub, monkeypatch: pytest.MonkeyPatch) -> LoadedFunction:
    root = esms.base_url.removesuffix("/MainService.svc/json")
    overrides = {"ESMS_BASE_URL": esms.base_url, "ESMS_STATUS_URL": root}
    return load_function("ReconcilerFunction", deployment, monkeypatch, overrides)


def record_of(store: MessageStore, request_id: str) -> MessageRecord:
    record = store.get(request_id)
    assert record is not None
    return record


def raw_item(aws: boto3.Session, deployment: Resolver, request_id: str) -> dict[str, Any]:
    table = deployment.ref("MessagesTable")
    item: dict[str, Any] = aws.client("dynamodb").get_item(
        TableName=table, Key={"request_id": {"S": request_id}}
    )["Item"]
    return item


def comes_due(aws: boto3.Session, deployment: Resolver, request_id: str) -> None:
    """Time passes to its next attempt: the waiting-index lists it as due now."""
    aws.client("dynamodb").update_item(
        TableName=deployment.ref("MessagesTable"),
        Key={"request_id": {"S": request_id}},
        UpdateExpression="SET check_at = :due",
        ExpressionAttributeValues={":due": {"N": str(int(time.time()) - 1)}},
    )


def run_queued_jobs(aws: boto3.Session, deployment: Resolver, sender: LoadedFunction) -> list[dict[str, Any]]:
    """The sender takes what waits on FallbackQueue, as its event source would: the job bodies."""
    url = deployment.ref("FallbackQueue")
    messages = aws.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    template = load_event("sender-batch.json")["Records"][0]
    records = [
        {**template, "messageId": message["MessageId"], "body": message["Body"],
         "eventSourceARN": deployment.get_att("FallbackQueue", "Arn")}
        for message in messages
    ]  # fmt: skip
    if records:
        assert sender.invoke({"Records": records}) == {"batchItemFailures": []}
    for message in messages:
        aws.client("sqs").delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(message["Body"]) for message in messages]


def test_a_night_window_refusal_defers_the_message_and_its_resend_delivers_it(
    sender: LoadedFunction,
    callback: LoadedFunction,
    reconciler: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    # Given a message sent and accepted, its TempData sealed in its item
    esms.responder = lambda _body: accepted("zns-1")
    send(sender, deployment, body("night-1"))
    sealed = raw_item(aws, deployment, "night-1")["sealed_temp_data"]["B"]
    assert OTP.encode() not in sealed
    first_url = callback_url(esms, "night-1")

    # When Zalo refuses it for the night window (-133)
    answer = report_on(callback, first_url, zalo_refusal("zns-1", -133, "night"))

    # Then it is DEFERRED, not FAILED: to be sent again just after 06:00 Vietnam time
    assert answer["statusCode"] == 200
    deferred = record_of(store, "night-1")
    assert (deferred.status, deferred.deferrals, deferred.sms_id) == (MessageStatus.DEFERRED, 1, None)
    assert deferred.next_attempt_at is not None
    opens = datetime.fromtimestamp(deferred.next_attempt_at, VIETNAM)
    assert (opens.hour, opens.minute * 60 + opens.second < SPREAD_SECONDS) == (6, True)
    assert 0 < deferred.next_attempt_at - time.time() <= 24 * 3600
    assert deferred.history[-1].data is not None and deferred.history[-1].data["error_code"] == "-133"
    assert deferred.check_at == deferred.next_attempt_at
    # and the refused attempt's CallbackUrl can change nothing more
    assert report_on(callback, first_url, delivered("zns-1"))["statusCode"] == 403

    # When its time comes, the reconciler queues its resend, and the sender sends it
    comes_due(aws, deployment, "night-1")
    reconciler.invoke(load_event("reconciler-scheduled.json"))
    esms.responder = lambda _body: accepted("zns-2")
    assert run_queued_jobs(aws, deployment, sender) == [{"resend": "night-1"}]

    # Then eSMS gets the same message under the attempt's own RequestId, with a new CallbackUrl
    first, resent = esms.bodies
    assert resent["RequestId"] == "night-1.z2"
    assert resent["TempData"] == first["TempData"] and OTP in json.dumps(resent["TempData"])
    assert resent["CallbackUrl"] != first_url
    assert esms.sends_for("night-1") == 1
    assert record_of(store, "night-1").status is MessageStatus.ACCEPTED

    # And its report on the new URL ends it DELIVERED, its sealed TempData gone with the sending
    assert report_on(callback, resent["CallbackUrl"], delivered("zns-2"))["statusCode"] == 200
    assert record_of(store, "night-1").status is MessageStatus.DELIVERED
    assert "sealed_temp_data" not in raw_item(aws, deployment, "night-1")
    assert run_queued_jobs(aws, deployment, sender) == []


@pytest.mark.parametrize("zalo_code", [-144, -147])
def test_a_quota_refusal_defers_the_message_to_vietnam_midnight(
    zalo_code: int,
    sender: LoadedFunction,
    callback: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    deployment: Resolver,
) -> None:
    esms.responder = lambda _body: accepted("zns-1")
    send(sender, deployment, body("quota-1"))

    report_on(callback, callback_url(esms, "quota-1"), zalo_refusal("zns-1", zalo_code, "quota"))

    deferred = record_of(store, "quota-1")
    assert deferred.status is MessageStatus.DEFERRED and deferred.next_attempt_at is not None
    opens = datetime.fromtimestamp(deferred.next_attempt_at, VIETNAM)
    assert opens.hour == 0 and opens.minute * 60 + opens.second < SPREAD_SECONDS
    assert 0 < deferred.next_attempt_at - time.time() <= 24 * 3600 + SPREAD_SECONDS


def test_a_message_whose_validity_ends_before_zalo_would_take_it_expires_unsent(
    sender: LoadedFunction,
    callback: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    deployment: Resolver,
) -> None:
    # Given an OTP valid for two more minutes (its moment after 06:00 is over two minutes past it, so
    # the test holds at any hour)
    request_id = "otp-late-1"
    assert next_attempt_at(ZaloRefusal.NIGHT_WINDOW, 0, request_id) % SPREAD_SECONDS > 180
    valid_until = datetime.fromtimestamp(time.time() + 120, VIETNAM).isoformat(timespec="seconds")
    esms.responder = lambda _body: accepted("zns-1")
    send(sender, deployment, body(request_id, ValidUntil=valid_until))

    # When Zalo refuses it for the night window
    report_on(callback, callback_url(esms, request_id), zalo_refusal("zns-1", -133, "night"))

    # Then it ends EXPIRED, unsent, saying when Zalo would have taken it
    expired = record_of(store, request_id)
    assert expired.status is MessageStatus.EXPIRED
    assert expired.error is not None and "after its validity (ValidUntil)" in expired.error


def test_a_message_zalo_keeps_deferring_ends_failed_after_three_deferrals(
    sender: LoadedFunction,
    callback: LoadedFunction,
    reconciler: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    esms.responder = lambda _body: accepted("zns-1")
    send(sender, deployment, body("stubborn"))
    for attempt, esms_request_id in enumerate(["stubborn", "stubborn.z2", "stubborn.z3"], start=1):
        sms_id = f"zns-{attempt}"
        report_on(callback, callback_url(esms, esms_request_id), zalo_refusal(sms_id, -144, "quota"))
        assert (record_of(store, "stubborn").status, record_of(store, "stubborn").deferrals) == (
            MessageStatus.DEFERRED,
            attempt,
        )
        comes_due(aws, deployment, "stubborn")
        reconciler.invoke(load_event("reconciler-scheduled.json"))
        esms.responder = partial(lambda sms_id, _body: accepted(sms_id), f"zns-{attempt + 1}")
        run_queued_jobs(aws, deployment, sender)

    report_on(callback, callback_url(esms, "stubborn.z4"), zalo_refusal("zns-4", -144, "quota"))

    failed = record_of(store, "stubborn")
    assert (failed.status, failed.deferrals) == (MessageStatus.FAILED, 3)
    assert esms.sends_for("stubborn.z4") == 1


def test_a_message_from_before_deferrals_without_its_tempdata_ends_failed_as_before(
    sender: LoadedFunction,
    callback: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    esms.responder = lambda _body: accepted("zns-1")
    send(sender, deployment, body("older"))
    aws.client("dynamodb").update_item(
        TableName=deployment.ref("MessagesTable"),
        Key={"request_id": {"S": "older"}},
        UpdateExpression="REMOVE sealed_temp_data",
    )

    report_on(callback, callback_url(esms, "older"), zalo_refusal("zns-1", -133, "night"))

    assert record_of(store, "older").status is MessageStatus.FAILED


def test_a_resend_job_for_a_message_no_longer_deferred_sends_nothing(
    sender: LoadedFunction, esms: EsmsStub, store: MessageStore, aws: boto3.Session, deployment: Resolver
) -> None:
    esms.responder = lambda _body: accepted("zns-1")
    send(sender, deployment, body("done-1"))
    aws.client("sqs").send_message(
        QueueUrl=deployment.ref("FallbackQueue"), MessageBody='{"resend": "done-1"}'
    )

    assert run_queued_jobs(aws, deployment, sender) == [{"resend": "done-1"}]

    assert len(esms.bodies) == 1
    assert record_of(store, "done-1").status is MessageStatus.ACCEPTED
