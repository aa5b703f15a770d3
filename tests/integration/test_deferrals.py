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
from tests.support.esms_stub import EsmsStub, Reply, accepted
from tests.support.outcomes import TableStream
from tests.support.zalo_reports import callback_url, delivered, report_on, send, zalo_refusal
from zns_relay.models.callback import parse_delivery_report
from zns_relay.models.state import MessageRecord, MessageStatus
from zns_relay.models.zalo_rules import SPREAD_SECONDS, VIETNAM, ZaloRefusal, next_attempt_at, opens_at
from zns_relay.reports.delivery import DeliveryReports, FollowUp, ReportResult
from zns_relay.store.items import from_item
from zns_relay.store.messages import MessageStore
from zns_relay.store.pauses import Pauses
from zns_relay.store.suppressions import Suppressions

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


def pause_items(aws: boto3.Session, deployment: Resolver) -> dict[str, dict[str, Any]]:
    items = aws.client("dynamodb").scan(TableName=deployment.ref("ThrottleTable"))["Items"]
    return {
        item["limiter"]["S"]: from_item(item) for item in items if item["limiter"]["S"].startswith("pause#")
    }


def night_passes(aws: boto3.Session, deployment: Resolver, request_id: str) -> None:
    """Time passes to its next attempt: the waiting-index lists it as due now, and Zalo's pauses end."""
    dynamodb = aws.client("dynamodb")
    dynamodb.update_item(
        TableName=deployment.ref("MessagesTable"),
        Key={"request_id": {"S": request_id}},
        UpdateExpression="SET check_at = :due",
        ExpressionAttributeValues={":due": {"N": str(int(time.time()) - 1)}},
    )
    for key in pause_items(aws, deployment):
        dynamodb.delete_item(TableName=deployment.ref("ThrottleTable"), Key={"limiter": {"S": key}})


def queued_jobs(aws: boto3.Session, deployment: Resolver) -> list[dict[str, Any]]:
    """What waits on FallbackQueue, left there."""
    url = deployment.ref("FallbackQueue")
    messages = aws.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    return [json.loads(message["Body"]) for message in messages.get("Messages", [])]


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
    before = int(time.time())
    answer = report_on(callback, first_url, zalo_refusal("zns-1", -133, "night"))
    after = int(time.time())

    # Then it is DEFERRED, not FAILED: to be sent again when the night window is over (06:00 Vietnam
    # time, or at once by day: tests/unit/decisions/test_zalo_rules.py has the hours)
    assert answer["statusCode"] == 200
    deferred = record_of(store, "night-1")
    assert (deferred.status, deferred.deferrals, deferred.sms_id) == (MessageStatus.DEFERRED, 1, None)
    assert deferred.next_attempt_at is not None
    opens = {opens_at(ZaloRefusal.NIGHT_WINDOW, moment) for moment in range(before, after + 1)}
    assert any(0 <= deferred.next_attempt_at - moment < SPREAD_SECONDS for moment in opens)
    assert deferred.history[-1].data is not None and deferred.history[-1].data["error_code"] == "-133"
    assert deferred.check_at == deferred.next_attempt_at
    # and the refused attempt's CallbackUrl can change nothing more
    assert report_on(callback, first_url, delivered("zns-1"))["statusCode"] == 403

    # When its time comes, the reconciler queues its resend, and the sender sends it
    night_passes(aws, deployment, "night-1")
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


def test_a_message_whose_validity_ends_before_zalo_would_take_it_fails_at_once_and_its_sms_goes(
    sender: LoadedFunction,
    callback: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an OTP valid for two more minutes, with an SMS fallback (its moment after midnight is
    # over two minutes past it, so the test holds at any hour)
    request_id = "otp-late-1"
    assert next_attempt_at(0, request_id) % SPREAD_SECONDS > 180
    valid_until = datetime.fromtimestamp(time.time() + 120, VIETNAM).isoformat(timespec="seconds")
    esms.responder = lambda _body: accepted("zns-1")
    stream = TableStream(aws, deployment)
    fallback = {"Content": "Ma OTP {otp}", "Brandname": "Baotrixemay", "On": ["failed"]}
    send(sender, deployment, body(request_id, ValidUntil=valid_until, Fallback=fallback))

    # When Zalo refuses it for the OA's daily quota
    report_on(callback, callback_url(esms, request_id), zalo_refusal("zns-1", -144, "quota"))

    # Then it ends FAILED now, saying when Zalo would have taken it, and its SMS goes out in time
    failed = record_of(store, request_id)
    assert failed.status is MessageStatus.FAILED
    assert failed.error is not None and failed.error.endswith("after its validity (ValidUntil)")
    assert failed.error.startswith("Zalo -144: quota: Zalo takes it only from ")
    functions = load_function("FallbackFunction", deployment, monkeypatch, {})
    assert functions.invoke(stream.new_event()) == {"batchItemFailures": []}
    assert [job["request_id"] for job in queued_jobs(aws, deployment)] == [f"{request_id}:sms"]


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
        night_passes(aws, deployment, "stubborn")
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


def test_a_quota_refusal_pauses_the_oa_and_its_next_messages_wait_unsent_until_midnight(
    sender: LoadedFunction,
    callback: LoadedFunction,
    reconciler: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    # Given a message Zalo refused for the OA's daily quota (-144)
    esms.responder = lambda _body: accepted("zns-1")
    send(sender, deployment, body("first"))
    report_on(callback, callback_url(esms, "first"), zalo_refusal("zns-1", -144, "quota"))
    oa_id = record_of(store, "first").oa_id
    deferred_until = record_of(store, "first").next_attempt_at

    # Then the OA is paused until the next Vietnam midnight
    [(key, pause)] = pause_items(aws, deployment).items()
    midnight = datetime.fromtimestamp(pause["until"], VIETNAM)
    assert (key, pause["code"], pause["request_id"]) == (f"pause#{oa_id}", -144, "first")
    assert (midnight.hour, midnight.minute, midnight.second) == (0, 0, 0)
    assert deferred_until is not None and pause["until"] <= deferred_until < pause["until"] + SPREAD_SECONDS

    # When the next message of that OA comes, of any template
    send(sender, deployment, body("second", TempID="205644"))

    # Then it waits DEFERRED, unsent, its Zalo refusals uncounted
    held = record_of(store, "second")
    assert esms.sends_for("second") == 0
    assert (held.status, held.deferrals, held.sms_id) == (MessageStatus.DEFERRED, 0, None)
    assert held.error is not None and held.error.startswith(
        "held unsent: the OA is over its daily quota (Zalo -144) until "
    )
    assert held.next_attempt_at is not None and held.next_attempt_at >= pause["until"]

    # And once the pause is over and its time comes, its first attempt goes under its own RequestId
    aws.client("dynamodb").delete_item(TableName=deployment.ref("ThrottleTable"), Key={"limiter": {"S": key}})
    night_passes(aws, deployment, "second")
    reconciler.invoke(load_event("reconciler-scheduled.json"))
    esms.responder = lambda _body: accepted("zns-2")
    assert {"resend": "second"} in run_queued_jobs(aws, deployment, sender)
    assert esms.sends_for("second") == 1
    assert record_of(store, "second").status is MessageStatus.ACCEPTED


def test_a_template_limit_refusal_pauses_only_that_template(
    sender: LoadedFunction,
    callback: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    esms.responder = lambda _body: accepted("zns-1")
    send(sender, deployment, body("review-1"))
    report_on(callback, callback_url(esms, "review-1"), zalo_refusal("zns-1", -147, "template limit"))
    assert set(pause_items(aws, deployment)) == {f"pause#{record_of(store, 'review-1').oa_id}#2056446"}

    esms.responder = lambda _body: accepted("zns-2")
    send(sender, deployment, body("review-2"), body("order-1", TempID="205644"))

    assert (esms.sends_for("review-2"), record_of(store, "review-2").status) == (0, MessageStatus.DEFERRED)
    assert (esms.sends_for("order-1"), record_of(store, "order-1").status) == (1, MessageStatus.ACCEPTED)


def test_a_message_held_by_a_pause_past_its_validity_fails_unsent(
    sender: LoadedFunction,
    callback: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    deployment: Resolver,
) -> None:
    esms.responder = lambda _body: accepted("zns-1")
    send(sender, deployment, body("first"))
    report_on(callback, callback_url(esms, "first"), zalo_refusal("zns-1", -147, "template limit"))

    valid_until = datetime.fromtimestamp(time.time() + 120, VIETNAM).isoformat(timespec="seconds")
    send(sender, deployment, body("otp-late-1", ValidUntil=valid_until))

    failed = record_of(store, "otp-late-1")
    assert (failed.status, esms.sends_for("otp-late-1")) == (MessageStatus.FAILED, 0)
    assert failed.error is not None and failed.error.startswith(
        "not sent: the template is over its daily limit (Zalo -147) until "
    )


def deferred_for_the_quota(
    sender: LoadedFunction, callback: LoadedFunction, esms: EsmsStub, deployment: Resolver, request_id: str
) -> None:
    """A message sent, accepted as zns-1, and deferred by Zalo's -144."""
    esms.responder = lambda _body: accepted("zns-1")
    send(sender, deployment, body(request_id))
    report_on(callback, callback_url(esms, request_id), zalo_refusal("zns-1", -144, "quota"))


def test_a_resend_that_fails_for_now_is_sent_again_when_its_job_comes_back(
    sender: LoadedFunction,
    callback: LoadedFunction,
    reconciler: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    # Given a deferred message whose resend job is due
    deferred_for_the_quota(sender, callback, esms, deployment, "order-9")
    night_passes(aws, deployment, "order-9")
    reconciler.invoke(load_event("reconciler-scheduled.json"))
    url = deployment.ref("FallbackQueue")
    [job] = aws.client("sqs").receive_message(QueueUrl=url)["Messages"]
    record = {
        **load_event("sender-batch.json")["Records"][0],
        "messageId": job["MessageId"],
        "body": job["Body"],
        "eventSourceARN": deployment.get_att("FallbackQueue", "Arn"),
    }

    # When eSMS is down for its first try, the job comes back, and eSMS is up again
    esms.responder = lambda _body: Reply(status=503, body="Service Unavailable")
    assert sender.invoke({"Records": [record]}) == {
        "batchItemFailures": [{"itemIdentifier": job["MessageId"]}]
    }
    assert record_of(store, "order-9").status is MessageStatus.RETRYING
    esms.responder = lambda _body: accepted("zns-2")
    assert sender.invoke(
        {"Records": [{**record, "attributes": {**record["attributes"], "ApproximateReceiveCount": "2"}}]}
    ) == {"batchItemFailures": []}

    # Then it is sent again under the same attempt's RequestId, and accepted
    assert esms.sends_for("order-9.z2") == 2
    assert record_of(store, "order-9").status is MessageStatus.ACCEPTED


def test_a_late_answer_about_the_refused_attempt_changes_nothing(
    sender: LoadedFunction,
    callback: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    # Given a message deferred by its callback, while the reconciler holds eSMS's answer about it
    deferred_for_the_quota(sender, callback, esms, deployment, "order-8")
    late = parse_delivery_report(
        {"SMSID": "zns-1", "SendStatus": "5", "SendFailed": "1", "TypeId": "25",
         "ErrorInfo": '{"error":-144,"message":"quota"}'}
    )  # fmt: skip
    throttle = deployment.ref("ThrottleTable")
    reports = DeliveryReports(
        store,
        FollowUp(1800),
        Suppressions(throttle, aws.client("dynamodb")),
        Pauses(throttle, aws.client("dynamodb")),
    )

    # When the reconciler applies that answer
    result = reports.apply("order-8", late, source="GetCallback")

    # Then nothing changes: the message is still deferred once, with no SMSID
    assert result is ReportResult.MISMATCHED
    record = record_of(store, "order-8")
    assert (record.status, record.deferrals, record.sms_id) == (MessageStatus.DEFERRED, 1, None)


def test_a_resend_job_that_loses_its_claim_notes_nothing_on_the_message(
    sender: LoadedFunction,
    callback: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    # Given a deferred message, and its resend job twice (the reconciler looked again before it went)
    deferred_for_the_quota(sender, callback, esms, deployment, "order-7")
    night_passes(aws, deployment, "order-7")
    for _ in range(2):
        aws.client("sqs").send_message(
            QueueUrl=deployment.ref("FallbackQueue"), MessageBody='{"resend": "order-7"}'
        )

    # When both are taken in one batch (one of them handed back while the other holds the claim), and
    # what was handed back comes again
    esms.responder = lambda _body: accepted("zns-2")
    url = deployment.ref("FallbackQueue")
    jobs = aws.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    template = load_event("sender-batch.json")["Records"][0]
    arn = deployment.get_att("FallbackQueue", "Arn")
    records = [
        {**template, "messageId": job["MessageId"], "body": job["Body"], "eventSourceARN": arn}
        for job in jobs
    ]
    handed_back = {
        failure["itemIdentifier"] for failure in sender.invoke({"Records": records})["batchItemFailures"]
    }
    again = [record for record in records if record["messageId"] in handed_back]
    if again:
        assert sender.invoke({"Records": again}) == {"batchItemFailures": []}

    # Then it is sent once, and its history says nothing of a reused RequestId
    assert esms.sends_for("order-7.z2") == 1
    record = record_of(store, "order-7")
    assert record.status is MessageStatus.ACCEPTED
    assert not [entry for entry in record.history if "reused" in entry.detail]


@pytest.mark.parametrize("zalo_code", [-124, -100])
def test_a_transient_fault_on_zalos_side_is_tried_again_minutes_later_pausing_nothing(
    zalo_code: int,
    sender: LoadedFunction,
    callback: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    esms.responder = lambda _body: accepted("zns-1")
    send(sender, deployment, body("otp-3"))
    before = int(time.time())

    report_on(callback, callback_url(esms, "otp-3"), zalo_refusal("zns-1", zalo_code, "unknown error"))

    deferred = record_of(store, "otp-3")
    assert (deferred.status, deferred.deferrals) == (MessageStatus.DEFERRED, 1)
    assert deferred.next_attempt_at is not None
    assert before + 300 <= deferred.next_attempt_at <= int(time.time()) + 300 + SPREAD_SECONDS
    assert pause_items(aws, deployment) == {}
