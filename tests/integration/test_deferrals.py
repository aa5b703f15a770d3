"""Zalo's "not now" on moto, through the real functions: a -133 (night window), -144 or -147 (daily
quotas), -124 or -100 (a transient fault) report defers the message instead of failing it, and the
first three pause its OA or template; the reconciler queues its resend when it is due, and the sender
sends it again under a RequestId of its own, its TempData opened from the item. A template Zalo will
not take (-131, -146) fails its message, and is counted for TemplateUnavailableAlarm."""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
import pytest

from local.runtime.lambda_runtime import function_output_to
from local.runtime.template import Resolver
from tests.conftest import LoadedFunction, load_event, load_function
from tests.support.emf import emf_lines
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


@dataclass
class Relay:
    """The deployed functions on moto, eSMS's stub, and what a test does with them."""

    sender: LoadedFunction
    callback: LoadedFunction
    reconciler: LoadedFunction
    esms: EsmsStub
    aws: boto3.Session
    deployment: Resolver

    def send(self, *bodies: dict[str, Any], sms_id: str = "zns-1") -> None:
        """The producers' messages through the sender, eSMS accepting each as `sms_id`."""
        self.esms.responder = lambda _body: accepted(sms_id)
        send(self.sender, self.deployment, *bodies)

    def refuse(self, esms_request_id: str, sms_id: str, zalo_code: int, message: str = "refused") -> int:
        """eSMS calls back on that send's CallbackUrl: Zalo refused it. The callback's status code."""
        query = zalo_refusal(sms_id, zalo_code, message)
        answer = report_on(self.callback, callback_url(self.esms, esms_request_id), query)
        return int(answer["statusCode"])

    def record(self, request_id: str) -> MessageRecord:
        record = MessageStore(self.ref("MessagesTable"), self.aws.client("dynamodb")).get(request_id)
        assert record is not None
        return record

    def item(self, request_id: str) -> dict[str, Any]:
        """The item as DynamoDB holds it (typed)."""
        found = self.aws.client("dynamodb").get_item(
            TableName=self.ref("MessagesTable"), Key={"request_id": {"S": request_id}}
        )
        return dict(found["Item"])

    def pauses(self) -> dict[str, dict[str, Any]]:
        items = self.aws.client("dynamodb").scan(TableName=self.ref("ThrottleTable"))["Items"]
        return {
            item["limiter"]["S"]: from_item(item)
            for item in items
            if item["limiter"]["S"].startswith("pause#")
        }

    def night_passes(self, request_id: str) -> None:
        """Time passes to its next attempt: the waiting-index lists it as due now, and Zalo's pauses end."""
        dynamodb = self.aws.client("dynamodb")
        dynamodb.update_item(
            TableName=self.ref("MessagesTable"),
            Key={"request_id": {"S": request_id}},
            UpdateExpression="SET check_at = :due, next_attempt_at = :due",
            ExpressionAttributeValues={":due": {"N": str(int(time.time()) - 1)}},
        )
        for key in self.pauses():
            dynamodb.delete_item(TableName=self.ref("ThrottleTable"), Key={"limiter": {"S": key}})

    def reconcile(self) -> None:
        self.reconciler.invoke(load_event("reconciler-scheduled.json"))

    def queued_jobs(self) -> list[dict[str, Any]]:
        """What waits on FallbackQueue, received as the sender's event source would."""
        url = self.ref("FallbackQueue")
        received = self.aws.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        template = load_event("sender-batch.json")["Records"][0]
        arn = self.deployment.get_att("FallbackQueue", "Arn")
        return [
            {**template, "messageId": job["MessageId"], "body": job["Body"], "eventSourceARN": arn}
            for job in received.get("Messages", [])
        ]

    def run_jobs(self, sms_id: str = "zns-2") -> list[dict[str, Any]]:
        """The sender takes what waits on FallbackQueue, eSMS accepting as `sms_id`: the job bodies."""
        self.esms.responder = lambda _body: accepted(sms_id)
        records = self.queued_jobs()
        if records:
            assert self.sender.invoke({"Records": records}) == {"batchItemFailures": []}
        return [json.loads(record["body"]) for record in records]

    def late_quota_answer(self, request_id: str, sms_id: str) -> ReportResult:
        """The reconciler applies eSMS's GetCallback answer that Zalo refused `sms_id` for the quota."""
        answer = parse_delivery_report(
            {"SMSID": sms_id, "SendStatus": "5", "SendFailed": "1", "TypeId": "25",
             "ErrorInfo": '{"error":-144,"message":"quota"}'}
        )  # fmt: skip
        dynamodb = self.aws.client("dynamodb")
        throttle = self.ref("ThrottleTable")
        store = MessageStore(self.ref("MessagesTable"), dynamodb)
        reports = DeliveryReports(
            store, FollowUp(1800), Suppressions(throttle, dynamodb), Pauses(throttle, dynamodb)
        )
        return reports.apply(request_id, answer, source="GetCallback")

    def ref(self, logical_id: str) -> str:
        return self.deployment.ref(logical_id)


@pytest.fixture
def relay(
    sender: LoadedFunction,
    callback: LoadedFunction,
    esms: EsmsStub,
    aws: boto3.Session,
    deployment: Resolver,
    monkeypatch: pytest.MonkeyPatch,
) -> Relay:
    root = esms.base_url.removesuffix("/MainService.svc/json")
    overrides = {"ESMS_BASE_URL": esms.base_url, "ESMS_STATUS_URL": root}
    reconciler = load_function("ReconcilerFunction", deployment, monkeypatch, overrides)
    return Relay(sender, callback, reconciler, esms, aws, deployment)


def test_a_night_window_refusal_defers_the_message_and_its_resend_delivers_it(relay: Relay) -> None:
    # Given a message sent and accepted, its TempData sealed in its item
    relay.send(body("night-1"))
    assert OTP.encode() not in relay.item("night-1")["sealed_temp_data"]["B"]
    first_url = callback_url(relay.esms, "night-1")

    # When Zalo refuses it for the night window (-133)
    before = int(time.time())
    status_code = relay.refuse("night-1", "zns-1", -133, "night")
    after = int(time.time())

    # Then it is DEFERRED, not FAILED: to be sent again when the night window is over (06:00 Vietnam
    # time, or an hour on by day: tests/unit/decisions/test_zalo_rules.py has the hours)
    assert status_code == 200
    deferred = relay.record("night-1")
    assert (deferred.status, deferred.deferrals, deferred.sms_id) == (MessageStatus.DEFERRED, 1, None)
    assert deferred.next_attempt_at is not None
    opens = {opens_at(ZaloRefusal.NIGHT_WINDOW, moment) for moment in range(before, after + 1)}
    assert any(0 <= deferred.next_attempt_at - moment < SPREAD_SECONDS for moment in opens)
    assert deferred.history[-1].data is not None and deferred.history[-1].data["error_code"] == "-133"
    assert deferred.check_at == deferred.next_attempt_at
    # and the refused attempt's CallbackUrl can change nothing more
    assert report_on(relay.callback, first_url, delivered("zns-1"))["statusCode"] == 403

    # When its time comes, the reconciler queues its resend, and the sender sends it
    relay.night_passes("night-1")
    relay.reconcile()
    assert relay.run_jobs() == [{"resend": "night-1"}]

    # Then eSMS gets the same message under the attempt's own RequestId, with a new CallbackUrl
    first, resent = relay.esms.bodies
    assert resent["RequestId"] == "night-1.z2"
    assert resent["TempData"] == first["TempData"] and OTP in json.dumps(resent["TempData"])
    assert resent["CallbackUrl"] != first_url
    assert relay.esms.sends_for("night-1") == 1
    assert relay.record("night-1").status is MessageStatus.ACCEPTED

    # And its report on the new URL ends it DELIVERED, its sealed TempData gone with the sending
    assert report_on(relay.callback, resent["CallbackUrl"], delivered("zns-2"))["statusCode"] == 200
    assert relay.record("night-1").status is MessageStatus.DELIVERED
    assert "sealed_temp_data" not in relay.item("night-1")
    assert relay.run_jobs() == []


@pytest.mark.parametrize("zalo_code", [-144, -147])
def test_a_quota_refusal_defers_the_message_to_vietnam_midnight(zalo_code: int, relay: Relay) -> None:
    relay.send(body("quota-1"))

    relay.refuse("quota-1", "zns-1", zalo_code, "quota")

    deferred = relay.record("quota-1")
    assert deferred.status is MessageStatus.DEFERRED and deferred.next_attempt_at is not None
    opens = datetime.fromtimestamp(deferred.next_attempt_at, VIETNAM)
    assert opens.hour == 0 and opens.minute * 60 + opens.second < SPREAD_SECONDS
    assert 0 < deferred.next_attempt_at - time.time() <= 24 * 3600 + SPREAD_SECONDS


@pytest.mark.parametrize("zalo_code", [-124, -100])
def test_a_transient_fault_on_zalos_side_is_tried_again_minutes_later_pausing_nothing(
    zalo_code: int, relay: Relay
) -> None:
    relay.send(body("otp-3"))
    before = int(time.time())

    relay.refuse("otp-3", "zns-1", zalo_code, "unknown error")

    deferred = relay.record("otp-3")
    assert (deferred.status, deferred.deferrals) == (MessageStatus.DEFERRED, 1)
    assert deferred.next_attempt_at is not None
    assert before + 300 <= deferred.next_attempt_at <= int(time.time()) + 300 + SPREAD_SECONDS
    assert relay.pauses() == {}


def test_a_message_whose_validity_ends_before_zalo_would_take_it_fails_at_once_and_its_sms_goes(
    relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an OTP valid for two more minutes, with an SMS fallback (its moment after midnight is
    # over two minutes past it, so the test holds at any hour)
    request_id = "otp-late-1"
    assert next_attempt_at(0, request_id) % SPREAD_SECONDS > 180
    valid_until = datetime.fromtimestamp(time.time() + 120, VIETNAM).isoformat(timespec="seconds")
    stream = TableStream(relay.aws, relay.deployment)
    fallback = {"Content": "Ma OTP {otp}", "Brandname": "Baotrixemay", "On": ["failed"]}
    relay.send(body(request_id, ValidUntil=valid_until, Fallback=fallback))

    # When Zalo refuses it for the OA's daily quota
    relay.refuse(request_id, "zns-1", -144, "quota")

    # Then it ends FAILED now, saying when Zalo would have taken it, and its SMS goes out in time
    failed = relay.record(request_id)
    assert failed.status is MessageStatus.FAILED
    assert failed.error is not None and failed.error.endswith("after its validity (ValidUntil)")
    assert failed.error.startswith("Zalo -144: quota: Zalo takes it only from ")
    fallbacks = load_function("FallbackFunction", relay.deployment, monkeypatch, {})
    assert fallbacks.invoke(stream.new_event()) == {"batchItemFailures": []}
    assert [json.loads(job["body"])["request_id"] for job in relay.queued_jobs()] == [f"{request_id}:sms"]


def test_a_message_zalo_keeps_deferring_ends_failed_after_three_deferrals(relay: Relay) -> None:
    relay.send(body("stubborn"))
    for attempt, esms_request_id in enumerate(["stubborn", "stubborn.z2", "stubborn.z3"], start=1):
        relay.refuse(esms_request_id, f"zns-{attempt}", -144, "quota")
        deferred = relay.record("stubborn")
        assert (deferred.status, deferred.deferrals) == (MessageStatus.DEFERRED, attempt)
        relay.night_passes("stubborn")
        relay.reconcile()
        relay.run_jobs(sms_id=f"zns-{attempt + 1}")

    relay.refuse("stubborn.z4", "zns-4", -144, "quota")

    failed = relay.record("stubborn")
    assert (failed.status, failed.deferrals) == (MessageStatus.FAILED, 3)
    assert relay.esms.sends_for("stubborn.z4") == 1


def test_a_message_from_before_deferrals_without_its_tempdata_ends_failed_as_before(relay: Relay) -> None:
    relay.send(body("older"))
    relay.aws.client("dynamodb").update_item(
        TableName=relay.ref("MessagesTable"),
        Key={"request_id": {"S": "older"}},
        UpdateExpression="REMOVE sealed_temp_data",
    )

    relay.refuse("older", "zns-1", -133, "night")

    assert relay.record("older").status is MessageStatus.FAILED


def test_a_resend_job_for_a_message_no_longer_deferred_sends_nothing(relay: Relay) -> None:
    relay.send(body("done-1"))
    relay.aws.client("sqs").send_message(
        QueueUrl=relay.ref("FallbackQueue"), MessageBody='{"resend": "done-1"}'
    )

    assert relay.run_jobs() == [{"resend": "done-1"}]

    assert len(relay.esms.bodies) == 1
    assert relay.record("done-1").status is MessageStatus.ACCEPTED


def test_a_quota_refusal_pauses_the_oa_and_its_next_messages_wait_unsent_until_midnight(relay: Relay) -> None:
    # Given a message Zalo refused for the OA's daily quota (-144)
    relay.send(body("first"))
    relay.refuse("first", "zns-1", -144, "quota")
    first = relay.record("first")

    # Then the OA is paused until the next Vietnam midnight
    [(key, pause)] = relay.pauses().items()
    midnight = datetime.fromtimestamp(pause["until"], VIETNAM)
    assert (key, pause["code"], pause["request_id"]) == (f"pause#{first.oa_id}", -144, "first")
    assert (midnight.hour, midnight.minute, midnight.second) == (0, 0, 0)
    assert first.next_attempt_at is not None
    assert pause["until"] <= first.next_attempt_at < pause["until"] + SPREAD_SECONDS

    # When the next message of that OA comes, of any template
    relay.send(body("second", TempID="205644"))

    # Then it waits DEFERRED, unsent (a hold counts as a deferral: a pause cannot hold it for ever)
    held = relay.record("second")
    assert relay.esms.sends_for("second") == 0
    assert (held.status, held.deferrals, held.sms_id) == (MessageStatus.DEFERRED, 1, None)
    assert held.error is not None and held.error.startswith(
        "held unsent: the OA is over its daily quota (Zalo -144) until "
    )
    assert held.next_attempt_at is not None and held.next_attempt_at >= pause["until"]

    # And once the pause is over and its time comes, it is sent, under its attempt's RequestId
    relay.night_passes("second")
    relay.reconcile()
    assert {"resend": "second"} in relay.run_jobs()
    assert (relay.esms.sends_for("second"), relay.esms.sends_for("second.z2")) == (0, 1)
    assert relay.record("second").status is MessageStatus.ACCEPTED


def test_a_template_limit_refusal_pauses_only_that_template(relay: Relay) -> None:
    relay.send(body("review-1"))
    relay.refuse("review-1", "zns-1", -147, "template limit")
    assert set(relay.pauses()) == {f"pause#{relay.record('review-1').oa_id}#2056446"}

    relay.send(body("review-2"), body("order-1", TempID="205644"), sms_id="zns-2")

    assert (relay.esms.sends_for("review-2"), relay.record("review-2").status) == (0, MessageStatus.DEFERRED)
    assert (relay.esms.sends_for("order-1"), relay.record("order-1").status) == (1, MessageStatus.ACCEPTED)


def test_a_message_held_by_a_pause_past_its_validity_fails_unsent(relay: Relay) -> None:
    relay.send(body("first"))
    relay.refuse("first", "zns-1", -147, "template limit")

    valid_until = datetime.fromtimestamp(time.time() + 120, VIETNAM).isoformat(timespec="seconds")
    relay.send(body("otp-late-1", ValidUntil=valid_until))

    failed = relay.record("otp-late-1")
    assert (failed.status, relay.esms.sends_for("otp-late-1")) == (MessageStatus.FAILED, 0)
    assert failed.error is not None and failed.error.startswith(
        "not sent: the template is over its daily limit (Zalo -147) until "
    )


def test_a_resend_that_fails_for_now_is_sent_again_when_its_job_comes_back(relay: Relay) -> None:
    # Given a deferred message whose resend job is due
    relay.send(body("order-9"))
    relay.refuse("order-9", "zns-1", -144, "quota")
    relay.night_passes("order-9")
    relay.reconcile()
    [job] = relay.queued_jobs()

    # When eSMS is down for its first try, the job comes back, and eSMS is up again
    relay.esms.responder = lambda _body: Reply(status=503, body="Service Unavailable")
    assert relay.sender.invoke({"Records": [job]}) == {
        "batchItemFailures": [{"itemIdentifier": job["messageId"]}]
    }
    assert relay.record("order-9").status is MessageStatus.RETRYING
    relay.esms.responder = lambda _body: accepted("zns-2")
    again = {**job, "attributes": {**job["attributes"], "ApproximateReceiveCount": "2"}}
    assert relay.sender.invoke({"Records": [again]}) == {"batchItemFailures": []}

    # Then it is sent again under the same attempt's RequestId, and accepted
    assert relay.esms.sends_for("order-9.z2") == 2
    assert relay.record("order-9").status is MessageStatus.ACCEPTED


def test_a_late_answer_about_the_refused_attempt_changes_nothing(relay: Relay) -> None:
    # Given a message deferred by its callback, while the reconciler holds eSMS's answer about it
    relay.send(body("order-8"))
    relay.refuse("order-8", "zns-1", -144, "quota")

    # When the reconciler applies that answer
    result = relay.late_quota_answer("order-8", "zns-1")

    # Then nothing changes: the message is still deferred once, with no SMSID
    assert result is ReportResult.MISMATCHED
    record = relay.record("order-8")
    assert (record.status, record.deferrals, record.sms_id) == (MessageStatus.DEFERRED, 1, None)


def test_a_resend_job_twice_sends_once_and_notes_nothing_on_the_message(relay: Relay) -> None:
    # Given a deferred message, and its resend job twice (the reconciler looked again before it went)
    relay.send(body("order-7"))
    relay.refuse("order-7", "zns-1", -144, "quota")
    relay.night_passes("order-7")
    for _ in range(2):
        relay.aws.client("sqs").send_message(
            QueueUrl=relay.ref("FallbackQueue"), MessageBody='{"resend": "order-7"}'
        )

    # When both are taken in one batch (one handed back while the other holds the claim, or skipped
    # once the other sent it), and what was handed back comes again
    relay.esms.responder = lambda _body: accepted("zns-2")
    jobs = relay.queued_jobs()
    handed_back = {
        failure["itemIdentifier"] for failure in relay.sender.invoke({"Records": jobs})["batchItemFailures"]
    }
    assert relay.sender.invoke({"Records": [job for job in jobs if job["messageId"] in handed_back]}) == {
        "batchItemFailures": []
    }

    # Then it is sent once, and its history says nothing of a reused RequestId
    assert relay.esms.sends_for("order-7.z2") == 1
    record = relay.record("order-7")
    assert record.status is MessageStatus.ACCEPTED
    assert not [entry for entry in record.history if "reused" in entry.detail]


@pytest.mark.parametrize("zalo_code", [-131, -146])
def test_a_template_zalo_will_not_take_fails_its_message_and_counts_for_the_alarm(
    zalo_code: int, relay: Relay
) -> None:
    relay.send(body("review-9"))

    logged = io.StringIO()
    with function_output_to(logged):
        relay.refuse("review-9", "zns-1", zalo_code, "template not approved")

    assert relay.record("review-9").status is MessageStatus.FAILED
    assert "ZaloTemplateRefused" in {metric["name"] for metric in emf_lines(logged.getvalue())}
    [warning] = [json.loads(line) for line in logged.getvalue().splitlines() if '"level":"WARNING"' in line]
    assert (warning["message"], warning["temp_id"]) == (
        "Zalo refused the template: not approved, or disabled",
        "2056446",
    )
    assert relay.pauses() == {}


def test_a_quota_refusal_reported_after_its_day_ended_pauses_nothing_and_goes_again_soon(
    relay: Relay,
) -> None:
    # Given a message accepted yesterday (the reconciler learns of its refusal only now)
    relay.send(body("yesterday-1"))
    relay.aws.client("dynamodb").update_item(
        TableName=relay.ref("MessagesTable"),
        Key={"request_id": {"S": "yesterday-1"}},
        UpdateExpression="SET accepted_at = :yesterday",
        ExpressionAttributeValues={":yesterday": {"N": str(int(time.time()) - 86400)}},
    )
    before = int(time.time())

    # When Zalo's -144 of yesterday is applied
    relay.refuse("yesterday-1", "zns-1", -144, "quota")

    # Then its day is over: it goes again within the quarter hour, and today nothing is paused
    deferred = relay.record("yesterday-1")
    assert deferred.status is MessageStatus.DEFERRED and deferred.next_attempt_at is not None
    assert before <= deferred.next_attempt_at <= int(time.time()) + SPREAD_SECONDS
    assert "the refusal's period was over when it was reported" in deferred.history[-1].detail
    assert relay.pauses() == {}


def test_a_late_answer_about_the_refused_attempt_changes_nothing_while_the_resend_retries(
    relay: Relay,
) -> None:
    # Given a deferred message whose resend eSMS could not take yet (RETRYING)
    relay.send(body("order-6"))
    relay.refuse("order-6", "zns-1", -144, "quota")
    relay.night_passes("order-6")
    relay.reconcile()
    relay.esms.responder = lambda _body: Reply(status=503, body="Service Unavailable")
    relay.sender.invoke({"Records": relay.queued_jobs()})
    assert relay.record("order-6").status is MessageStatus.RETRYING

    # When the reconciler applies eSMS's answer about the refused attempt, late
    result = relay.late_quota_answer("order-6", "zns-1")

    # Then the resend goes on: nothing deferred again, no SMSID learnt from the refused attempt
    assert result is ReportResult.MISMATCHED
    record = relay.record("order-6")
    assert (record.status, record.deferrals, record.sms_id) == (MessageStatus.RETRYING, 1, None)


def test_a_pause_does_not_hold_a_message_an_earlier_attempt_may_have_reached_esms_with(relay: Relay) -> None:
    # Given a message whose send eSMS never answered (it may hold it), and then the OA paused
    relay.esms.responder = lambda _body: Reply(hang=True)
    send(relay.sender, relay.deployment, body("unsure-1"))
    assert relay.record("unsure-1").status is MessageStatus.RETRYING
    relay.send(body("first"))
    relay.refuse("first", "zns-1", -144, "quota")
    assert relay.pauses()

    # When the unsure message comes back from the queue
    relay.send(body("unsure-1"), sms_id="zns-9")

    # Then it is sent again (eSMS's 124, or its acceptance, tells), not held past eSMS's memory
    assert relay.esms.sends_for("unsure-1") == 2
    assert relay.record("unsure-1").status is MessageStatus.ACCEPTED
