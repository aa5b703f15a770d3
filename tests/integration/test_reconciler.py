"""The reconciler on moto, asking a scripted eSMS (real HTTP on loopback) with a fake clock."""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.exceptions import ClientError

from local.runtime.template import Resolver
from tests.conftest import LoadedFunction, load_event, load_function
from tests.support.esms_stub import EsmsStub, Reply
from zns_relay.config.credentials import SecretCache, parse_esms_secret
from zns_relay.esms.status import EsmsStatusClient
from zns_relay.models.callback import parse_delivery_report
from zns_relay.models.state import MessageStatus
from zns_relay.reconciler.discovery import SmsIdFinder
from zns_relay.reconciler.policy import ReconcilePolicy
from zns_relay.reconciler.rate_limit import RateLimiter
from zns_relay.reconciler.reconciler import Reconciler
from zns_relay.reports.delivery import DeliveryReports, FollowUp, ReportResult
from zns_relay.store.fallback_queue import FallbackQueue
from zns_relay.store.holds import HoldRecords
from zns_relay.store.indexes import awaiting_shard
from zns_relay.store.messages import MessageStore
from zns_relay.store.pauses import Pauses
from zns_relay.store.records import ClaimedMessage
from zns_relay.store.suppressions import Suppressions

START = 1_796_000_000  # epoch seconds the fake clock starts at
HOUR = 3600
POLICY = ReconcilePolicy(unknown_after_seconds=72 * HOUR, recheck_seconds=HOUR, abandon_after_seconds=1800)
OA_ID = "1397492183140006179"
PHONE = "0901888484"
VIETNAM = timezone(timedelta(hours=7))


@dataclass
class FakeTime:
    """A clock the store, the reconciler and its rate limiters share; sleeping advances it."""

    now: float = START
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def utc(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class ScriptedStatus:
    """eSMS's status endpoints as the test wants them: reports by SMSID, and when each call came."""

    get_callback: dict[str, dict[str, Any]] = field(default_factory=dict)  # SMSID -> Data_callback item
    query_status: dict[str, dict[str, Any]] = field(default_factory=dict)  # SMSID -> QueryZnsStatus Data
    send_status: dict[str, dict[str, Any]] = field(default_factory=dict)  # SMSID -> GetSendStatus answer
    sent: list[tuple[float, str, str]] = field(
        default_factory=list
    )  # GetSmsSentData_V2: (time, phone, SMSID)
    sent_sms: list[tuple[float, str, str]] = field(default_factory=list)  # the same, of SMS (SmsType 2)
    failing: bool = False
    calls: list[tuple[str, float, int]] = field(default_factory=list)  # (endpoint, time, SMSIDs asked)

    def answer(self, body: dict[str, Any], time: FakeTime) -> Reply:
        if self.failing:
            self.calls.append(("failed", time.now, 0))
            return Reply(status=503, body="")
        if "ListRefid" in body:
            self.calls.append(("GetCallback", time.now, len(body["ListRefid"])))
            items = [self.get_callback[sms_id] for sms_id in body["ListRefid"] if sms_id in self.get_callback]
            return Reply(body=json.dumps({"Code": 100, "Message": "Success", "Data_callback": items}))
        if "From" in body:
            self.calls.append(("GetSmsSentData_V2", time.now, 0))
            return Reply(body=json.dumps(self.sent_page(body)))
        if "RefId" in body:
            self.calls.append(("GetSendStatus", time.now, 1))
            answer = self.send_status.get(body["RefId"], {"CodeResponse": "105", "SMSID": body["RefId"]})
            return Reply(body=json.dumps(answer))
        self.calls.append(("QueryZnsStatus", time.now, 1))
        data = self.query_status.get(body["SmsId"])
        if data is None:
            return Reply(body=json.dumps({"CodeResult": "105", "ErrorMessage": "SMSID not found"}))
        return Reply(body=json.dumps({"CodeResult": "100", "Data": data}))

    def sent_page(self, body: dict[str, Any]) -> dict[str, Any]:
        """GetSmsSentData_V2's documented answer for the body's range (Vietnam time) and page."""
        start, end = (
            datetime.strptime(body[key], "%Y-%m-%d %H:%M:%S").replace(tzinfo=VIETNAM)
            for key in ("From", "To")
        )
        rows = [
            {
                "Campaign": "",
                "Content": "",
                "Phone": phone,
                "ReferenceId": sms_id,
                "SellPrice": 300.0,
                "SendResult": 2,
                "SendStatus": 7,
                "SentTime": f"/Date({int(at * 1000)}+0700)/",
                "SmsId": index,
                "SmsType": int(body["SmsType"]),
            }
            for index, (at, phone, sms_id) in enumerate(
                {"25": self.sent, "2": self.sent_sms}.get(body["SmsType"], [])
            )
            if start.timestamp() <= at <= end.timestamp()
        ]
        size, page = int(body["PageSize"]), int(body["Page"])
        return {
            "CodeResult": "100",
            "CountTotal": len(rows),
            "SentData": rows[(page - 1) * size : page * size],
        }


def delivered_item(sms_id: str) -> dict[str, Any]:
    """A GetCallback item exactly in the documented shape (numbers as numbers, RequestId null)."""
    return {
        "SMSID": sms_id, "SendFailed": 0, "SendSuccess": 1, "SendStatus": 5, "TotalPrice": 300.0,
        "TotalReceiver": 1, "TotalSent": 1, "RequestId": None, "TypeId": 25, "Telcoid": 1,
        "PhoneNumber": "0909090909", "CallbackUrl": "https://example.test/callbacks/esms/r/sig",
        "Partnerids": "7984e9b198c40e9957d6", "ErrorInfo": None, "OAId": OA_ID, "ZnsTempId": "2056446",
    }  # fmt: skip


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def store(aws: boto3.Session, deployment: Resolver, time: FakeTime) -> MessageStore:
    return MessageStore(deployment.ref("MessagesTable"), aws.client("dynamodb"), clock=time.utc)


def suppressions(aws: boto3.Session, deployment: Resolver) -> Suppressions:
    return Suppressions(deployment.ref("ThrottleTable"), aws.client("dynamodb"))


def pauses(aws: boto3.Session, deployment: Resolver) -> Pauses:
    return Pauses(deployment.ref("ThrottleTable"), aws.client("dynamodb"))


@pytest.fixture
def status_script(esms: EsmsStub, time: FakeTime) -> ScriptedStatus:
    script = ScriptedStatus()
    esms.responder = lambda body: script.answer(body, time)
    return script


@pytest.fixture
def reconciler(
    aws: boto3.Session, deployment: Resolver, esms: EsmsStub, store: MessageStore, time: FakeTime
) -> Reconciler:
    root = esms.base_url.removesuffix("/MainService.svc/json")
    secrets = SecretCache(
        deployment.ref("EsmsSecret"),
        SecretsProvider(boto3_client=aws.client("secretsmanager")),
        parse_esms_secret,
    )
    status = EsmsStatusClient(esms.base_url, root, read_timeout=5)
    return Reconciler(
        store,
        status,
        secrets,
        DeliveryReports(
            store, FollowUp(1800), suppressions(aws, deployment), pauses(aws, deployment), clock=time.utc
        ),
        POLICY,
        resends=FallbackQueue(aws.client("sqs"), deployment.ref("FallbackQueue")),
        get_callback_limiter=RateLimiter(20, clock=time.monotonic, sleep=time.sleep),
        query_status_limiter=RateLimiter(100, clock=time.monotonic, sleep=time.sleep),
        finder=SmsIdFinder(store, status, RateLimiter(5, clock=time.monotonic, sleep=time.sleep)),
        clock=time.utc,
    )


def accepted(
    store: MessageStore, request_id: str, sms_id: str | None, time: FakeTime, sandbox: bool = False
) -> None:
    """A message eSMS accepted now (with no SMSID when eSMS answered 124), waiting for its report."""
    now = int(time.now)
    store.claim(
        request_id,
        {"oa_id": OA_ID, "phone": PHONE},
        30,
        check_at=now + 1800,
        keep_fields={"retry_until": now + 12 * HOUR},
    )
    store.transition(
        request_id, MessageStatus.ACCEPTED, "accepted by eSMS", {"sms_id": sms_id, "sandbox": sandbox},
        keep_fields={"accepted_at": now}, check_at=None if sandbox else now + 1800,
    )  # fmt: skip


def run(reconciler: Reconciler, seconds_left: float = 300.0) -> Any:
    return reconciler.run(seconds_left=lambda: seconds_left)


def status_of(store: MessageStore, request_id: str) -> MessageStatus:
    record = store.get(request_id)
    assert record is not None
    return record.status


def test_a_lost_callback_is_recovered_from_getcallback_through_the_callback_code_path(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime
) -> None:
    # Given a message accepted half an hour ago whose callback never came, and eSMS holding the report
    accepted(store, "lost-1", "sms-lost-1", time)
    status_script.get_callback["sms-lost-1"] = delivered_item("sms-lost-1")
    time.now += 1800

    summary = run(reconciler)

    # Then it is DELIVERED, its history says where the report came from, and it left the index
    record = store.get("lost-1")
    assert record is not None and record.status is MessageStatus.DELIVERED
    assert record.history[-1].data is not None and record.history[-1].data["source"] == "GetCallback"
    assert record.check_at is None
    assert [call[0] for call in status_script.calls] == ["GetCallback"]
    assert summary.applied == 1


def test_what_getcallback_does_not_know_is_asked_of_queryznsstatus(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime
) -> None:
    # Given two messages: one eSMS knows only through QueryZnsStatus, where Zalo answered 1001
    accepted(store, "q-1", "sms-q-1", time)
    accepted(store, "q-2", "sms-q-2", time)
    status_script.query_status["sms-q-1"] = {
        "ErrorInfo": "1001", "FinalStatus": "1", "SMSID": "sms-q-1", "SendFailed": 1, "SendStatus": 5,
        "SendSuccess": 0, "TotalPrice": 0.0, "TotalReceiver": 1, "TotalSent": 1, "ZaloMsgId": "",
    }  # fmt: skip
    status_script.query_status["sms-q-2"] = {
        "ErrorInfo": None, "FinalStatus": "0", "SMSID": "sms-q-2", "SendFailed": 0, "SendStatus": 2,
        "SendSuccess": 0, "TotalPrice": 0.0, "TotalReceiver": 1, "TotalSent": 0, "ZaloMsgId": "",
    }  # fmt: skip
    time.now += 1800

    run(reconciler)

    # Then the final answer applies (with Zalo's code as the reason); the pending one only waits longer
    record = store.get("q-1")
    assert record is not None and record.status is MessageStatus.FAILED
    assert record.error is not None and "1001" in record.error
    pending = store.get("q-2")
    assert pending is not None and pending.status is MessageStatus.ACCEPTED
    assert pending.check_at == int(time.now) + HOUR
    assert len(pending.history) == 2  # asking wrote no history
    assert Counter(call[0] for call in status_script.calls) == {"GetCallback": 1, "QueryZnsStatus": 2}


@pytest.mark.parametrize("about", ["a-viber-message", "another-smsid"])
def test_an_answer_about_another_message_changes_nothing_and_is_asked_again(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime, about: str
) -> None:
    # Given a message waiting for its report, and eSMS answering with a report that is not its own:
    # GetCallback's with a Viber TypeId, or QueryZnsStatus's naming another SMSID
    accepted(store, "m-1", "sms-m-1", time)
    if about == "a-viber-message":
        status_script.get_callback["sms-m-1"] = {**delivered_item("sms-m-1"), "TypeId": 23}
    else:
        status_script.query_status["sms-m-1"] = {
            "ErrorInfo": "0", "FinalStatus": "1", "SMSID": "sms-other", "SendFailed": 0, "SendStatus": 5,
            "SendSuccess": 1, "TotalPrice": 300.0, "TotalReceiver": 1, "TotalSent": 1, "ZaloMsgId": "",
        }  # fmt: skip
    time.now += 1800

    summary = run(reconciler)

    # Then the message is as it was (the same code as a callback refused the report), asked again later
    record = store.get("m-1")
    assert record is not None
    assert (record.status, record.sms_id, len(record.history)) == (MessageStatus.ACCEPTED, "sms-m-1", 2)
    assert record.check_at == int(time.now) + HOUR
    assert summary.applied == 0


def test_no_final_report_within_72_hours_ends_unknown(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime
) -> None:
    accepted(store, "silent", "sms-silent", time)
    accepted(store, "via-124", None, time)  # accepted through a 124: no SMSID to ask about

    time.now += 1800
    run(reconciler)
    assert status_of(store, "silent") is MessageStatus.ACCEPTED
    assert status_of(store, "via-124") is MessageStatus.ACCEPTED
    time.now = START + 72 * HOUR
    run(reconciler)

    for request_id in ("silent", "via-124"):
        record = store.get(request_id)
        assert record is not None and record.status is MessageStatus.UNKNOWN
        assert record.error == "no final delivery report within 72 h of acceptance, though eSMS was asked"
    # The message without an SMSID was never asked about
    assert all(call[2] == 1 for call in status_script.calls if call[0] == "GetCallback")


def test_an_overdue_message_is_asked_once_more_and_a_final_report_then_still_applies(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime
) -> None:
    # Given a message whose report became overdue while eSMS could not be asked (the run that would
    # have asked it did not come), and eSMS holding its final report by now
    accepted(store, "late", "sms-late", time)
    status_script.get_callback["sms-late"] = delivered_item("sms-late")
    time.now = START + 72 * HOUR + 60

    run(reconciler)

    # Then it is DELIVERED, not UNKNOWN: eSMS is asked before a message is given up on
    assert status_of(store, "late") is MessageStatus.DELIVERED


def failed_item(sms_id: str) -> dict[str, Any]:
    """A GetCallback item of a delivery Zalo refused (-118: no Zalo account)."""
    return {
        **delivered_item(sms_id), "SendFailed": 1, "SendSuccess": 0, "TotalSent": 0, "Partnerids": "",
        "ErrorInfo": '{"error":-118,"message":"Zalo account does not exist"}',
    }  # fmt: skip


def test_a_refusal_the_reconciler_learns_suppresses_the_person_as_a_callback_would(
    reconciler: Reconciler,
    store: MessageStore,
    status_script: ScriptedStatus,
    time: FakeTime,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    # Given a message whose lost callback said the person refused ZNS from the OA (-141)
    accepted(store, "refused-1", "sms-refused-1", time)
    status_script.get_callback["sms-refused-1"] = {
        **failed_item("sms-refused-1"), "ErrorInfo": '{"error":-141,"message":"User refused"}',
    }  # fmt: skip
    time.now += 1800

    run(reconciler)

    # Then it is FAILED and the person is suppressed for this OA
    assert status_of(store, "refused-1") is MessageStatus.FAILED
    holds = HoldRecords(deployment.ref("ThrottleTable"), aws.client("dynamodb"))
    [found] = holds.for_message(OA_ID, PHONE, "any-template").suppressions
    assert (found.code, found.request_id, found.temp_id) == (-141, "refused-1", None)


def statuses(aws: boto3.Session, deployment: Resolver) -> dict[str, MessageStatus]:
    """Every message's status, in one Scan."""
    items = aws.client("dynamodb").scan(
        TableName=deployment.ref("MessagesTable"),
        ProjectionExpression="request_id, #s",
        ExpressionAttributeNames={"#s": "status"},
    )["Items"]
    return {item["request_id"]["S"]: MessageStatus(item["status"]["S"]) for item in items}


def test_an_outage_of_the_status_endpoints_across_many_deadlines_ends_none_unknown(
    reconciler: Reconciler,
    aws: boto3.Session,
    deployment: Resolver,
    store: MessageStore,
    status_script: ScriptedStatus,
    time: FakeTime,
) -> None:
    # Given 20 messages accepted ten minutes apart, whose callbacks were all lost: eSMS holds a delivered
    # report for most, a failed one for some, none for a few; two were accepted through a 124 (no SMSID)
    # and are in eSMS's list of sent messages
    expected: dict[str, MessageStatus] = {}
    for index in range(20):
        request_id, sms_id = f"m-{index}", f"sms-{index}"
        if index in (3, 17):
            accepted_through_124(store, request_id, time, phone=f"09018884{index:02d}")
            status_script.sent.append((time.now - 20, f"09018884{index:02d}", sms_id))
        else:
            accepted(store, request_id, sms_id, time)
        if index % 10 == 9:
            expected[request_id] = MessageStatus.UNKNOWN  # eSMS never had a final report
        elif index % 10 == 5:
            status_script.get_callback[sms_id] = failed_item(sms_id)
            expected[request_id] = MessageStatus.FAILED
        else:
            status_script.get_callback[sms_id] = delivered_item(sms_id)
            expected[request_id] = MessageStatus.DELIVERED
        time.now += 600
    first_deadline = START + 72 * HOUR

    # When eSMS's status endpoints are down from an hour before the first deadline until a day after
    # the last one (3 h 10 min later), with the reconciler running throughout
    status_script.failing = True
    time.now = first_deadline - HOUR
    unreachable = []
    while time.now < first_deadline + 28 * HOUR:
        unreachable.append(run(reconciler).esms_unreachable)
        # Then not one of them ends: each waits for eSMS's word
        assert set(statuses(aws, deployment).values()) == {MessageStatus.ACCEPTED}, time.now - START
        time.now += 3000
    # And every run that asked said eSMS could not be reached
    assert set(unreachable) - {None} == {True} and True in unreachable

    # When eSMS is back
    status_script.failing = False
    time.now += HOUR
    summary = run(reconciler)

    # Then each ends as eSMS reports: DELIVERED, FAILED, and UNKNOWN only where eSMS, asked now, has no
    # final report
    assert statuses(aws, deployment) == expected
    assert summary.esms_unreachable is False
    record = store.get("m-9")
    assert record is not None
    assert record.error == "no final delivery report within 72 h of acceptance, though eSMS was asked"


def test_past_the_hard_cap_a_message_ends_unknown_even_unasked(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime
) -> None:
    # Given an accepted message whose report never came, and eSMS's status endpoints down for good
    accepted(store, "r-1", "sms-1", time)
    retrying(store, "maybe", time, uncertain=True)
    status_script.failing = True

    # When the reconciler runs just before and then at seven days (eSMS's memory of a message's status)
    time.now = START + 7 * 24 * HOUR - 60
    run(reconciler)
    assert (status_of(store, "r-1"), status_of(store, "maybe")) == (
        MessageStatus.ACCEPTED,
        MessageStatus.RETRYING,
    )
    time.now = START + 7 * 24 * HOUR
    calls = len(status_script.calls)
    run(reconciler)

    # Then both end UNKNOWN without a question: eSMS keeps no status that old
    assert len(status_script.calls) == calls
    for request_id in ("r-1", "maybe"):
        record = store.get(request_id)
        assert record is not None and record.status is MessageStatus.UNKNOWN
        assert record.error == (
            "no final delivery report within 168 h (as long as eSMS keeps a message's status),"
            " and no answer from eSMS since the report was due"
        )


def test_asked_before_its_deadline_a_message_without_a_report_waits_and_is_asked_again_at_the_deadline(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime
) -> None:
    # Given a message eSMS holds no report for, looked at a little before its deadline
    accepted(store, "m-1", "sms-1", time)
    time.now = START + 72 * HOUR - 600

    run(reconciler)

    # Then it waits, and its next look is at the deadline itself (not a recheck interval later)
    record = store.get("m-1")
    assert record is not None and record.status is MessageStatus.ACCEPTED
    assert record.check_at == START + 72 * HOUR
    time.now = START + 72 * HOUR
    run(reconciler)
    assert status_of(store, "m-1") is MessageStatus.UNKNOWN


def accepted_sms(store: MessageStore, request_id: str, sms_id: str, time: FakeTime) -> None:
    """An SMS fallback eSMS accepted now, waiting for its report (GetSendStatus knows SMS)."""
    now = int(time.now)
    store.claim(
        request_id,
        {"phone": PHONE, "channel": "sms"},
        30,
        check_at=now + 1800,
        keep_fields={"retry_until": now + 12 * HOUR},
    )
    store.transition(
        request_id, MessageStatus.ACCEPTED, "accepted by eSMS", {"sms_id": sms_id},
        keep_fields={"accepted_at": now}, check_at=now + 1800,
    )  # fmt: skip


def send_status(sms_id: str, send_status: int, success: int = 0, failed: int = 0) -> dict[str, Any]:
    """GetSendStatus's documented answer."""
    return {
        "CodeResponse": "100", "SMSID": sms_id, "SendFailed": failed, "SendStatus": send_status,
        "SendSuccess": success, "TotalPrice": 850.0, "TotalReceiver": 1, "TotalSent": success,
    }  # fmt: skip


def test_sms_fallbacks_wait_out_an_outage_and_end_unknown_only_on_esms_word(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime
) -> None:
    # Given three SMS fallbacks whose callbacks were lost: eSMS reports one delivered, one still waiting
    # to be sent, and knows nothing of the third
    accepted_sms(store, "sms-a:sms", "sms-a", time)
    accepted_sms(store, "sms-b:sms", "sms-b", time)
    accepted_sms(store, "sms-c:sms", "sms-c", time)
    status_script.send_status["sms-a"] = send_status("sms-a", 5, success=1)
    status_script.send_status["sms-b"] = send_status("sms-b", 2)

    # When GetSendStatus is down from before their deadline to a day after it
    status_script.failing = True
    time.now = START + 71 * HOUR
    while time.now < START + 96 * HOUR:
        run(reconciler)
        assert {status_of(store, f"sms-{x}:sms") for x in "abc"} == {MessageStatus.ACCEPTED}
        time.now += HOUR

    # And then answers again
    status_script.failing = False
    run(reconciler)

    # Then the delivered one is DELIVERED; the others end UNKNOWN, eSMS having no final report
    assert [status_of(store, f"sms-{x}:sms") for x in "abc"] == [
        MessageStatus.DELIVERED, MessageStatus.UNKNOWN, MessageStatus.UNKNOWN,
    ]  # fmt: skip
    assert {call[0] for call in status_script.calls} == {"GetSendStatus", "failed"}


def test_an_overdue_message_without_smsid_is_not_given_up_while_esms_list_cannot_be_read(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime
) -> None:
    # Given a message accepted through a 124 (no SMSID), overdue, and eSMS's endpoints failing
    accepted(store, "via-124", None, time)
    status_script.failing = True
    time.now = START + 72 * HOUR + 60

    summary = run(reconciler)

    # Then it still waits (eSMS's list was never read, so nothing says the report will not come)
    assert status_of(store, "via-124") is MessageStatus.ACCEPTED
    assert summary.query_failures == 1


def test_a_sandbox_message_is_never_chased(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime
) -> None:
    accepted(store, "sandbox-1", "sms-sandbox", time, sandbox=True)
    time.now += 100 * HOUR

    summary = run(reconciler)

    assert summary.examined == 0 and status_script.calls == []
    assert status_of(store, "sandbox-1") is MessageStatus.ACCEPTED


def retrying(store: MessageStore, request_id: str, time: FakeTime, *, uncertain: bool) -> None:
    now = int(time.now)
    claim = store.claim(
        request_id,
        {"oa_id": OA_ID, "phone": PHONE},
        30,
        check_at=now + 1800,
        keep_fields={"retry_until": now + 600},
    )
    assert isinstance(claim, ClaimedMessage)
    keep = {"uncertain_since": now} if uncertain else {}
    store.transition(
        request_id,
        MessageStatus.RETRYING,
        "eSMS did not answer",
        keep_fields=keep,
        claim=claim,
        check_at=now + 2400,
    )


def test_past_its_window_a_certainly_refused_message_fails_and_a_possibly_accepted_one_waits(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime
) -> None:
    # Given two messages left RETRYING with no queue delivery to revisit them (they reached the DLQ)
    retrying(store, "refused", time, uncertain=False)
    retrying(store, "maybe", time, uncertain=True)

    # When the reconciler runs inside their window plus the grace, then after it
    time.now += 900
    run(reconciler)
    assert (status_of(store, "refused"), status_of(store, "maybe")) == (MessageStatus.RETRYING,) * 2
    time.now += 1800
    run(reconciler)

    # Then only the one eSMS certainly refused is FAILED; the other waits for its report
    assert status_of(store, "refused") is MessageStatus.FAILED
    assert status_of(store, "maybe") is MessageStatus.RETRYING
    time.now = START + 72 * HOUR
    run(reconciler)
    record = store.get("maybe")
    assert record is not None and record.status is MessageStatus.UNKNOWN
    assert record.error == "eSMS may have accepted it, but no delivery report came within 72 h"
    # It had no SMSID to ask about: eSMS's sent list was searched for it, nothing more
    assert {call[0] for call in status_script.calls} == {"GetSmsSentData_V2"}


def test_a_message_left_sending_by_a_dead_invocation_waits_for_its_report(
    reconciler: Reconciler, store: MessageStore, time: FakeTime
) -> None:
    # Given one message whose sender died mid-send long ago, and one being sent right now
    now = int(time.now)
    store.claim("dead", {"oa_id": OA_ID}, 30, check_at=now, keep_fields={"retry_until": now - 4000})
    time.now += 60
    store.claim(
        "alive", {"oa_id": OA_ID}, 3600, check_at=int(time.now), keep_fields={"retry_until": now - 4000}
    )

    run(reconciler)

    # Then the dead one may have reached eSMS: it waits (not FAILED); the live one is left alone
    dead = store.get("dead")
    assert dead is not None and dead.status is MessageStatus.RETRYING and dead.uncertain_since is not None
    assert status_of(store, "alive") is MessageStatus.SENDING


def test_a_failing_getcallback_changes_nothing_and_is_asked_again_later(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime
) -> None:
    accepted(store, "r-1", "sms-1", time)
    status_script.failing = True
    time.now += 1800

    summary = run(reconciler)

    record = store.get("r-1")
    assert record is not None and record.status is MessageStatus.ACCEPTED
    assert record.check_at == int(time.now) + HOUR
    assert summary.query_failures == 1


def test_a_failed_getcallback_with_the_time_up_leaves_its_batch_due_unwritten(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime
) -> None:
    # Given three waiting messages, eSMS failing, and the run's time up once it has asked
    for index in range(3):
        accepted(store, f"r-{index}", f"sms-{index}", time)
    status_script.failing = True
    time.now += 1800
    due_at = [store.get(f"r-{index}").check_at for index in range(3)]  # type: ignore[union-attr]

    summary = reconciler.run(seconds_left=lambda: 5.0 if status_script.calls else 300.0)

    # Then no recheck is written past the time: every message stays due for the next run, as it was
    assert summary.query_failures == 1 and summary.stopped_early
    assert [store.get(f"r-{index}").check_at for index in range(3)] == due_at  # type: ignore[union-attr]


def seed_accepted(aws: boto3.Session, deployment: Resolver, count: int, time: FakeTime) -> None:
    """`count` messages accepted now, written as the sender leaves them (in batches: seeding is not
    what the test is about)."""
    table = aws.resource("dynamodb").Table(deployment.ref("MessagesTable"))
    now = int(time.now)
    with table.batch_writer() as writer:
        for index in range(count):
            request_id = f"m-{index}"
            writer.put_item(
                Item={
                    "request_id": request_id, "status": "ACCEPTED", "sms_id": f"sms-{index}", "oa_id": OA_ID,
                    "attempts": 1, "accepted_at": now, "retry_until": now + 12 * HOUR,
                    "awaiting": awaiting_shard(request_id), "check_at": now + 1800,
                    "created_at": "2026-11-30T00:00:00.000Z", "updated_at": "2026-11-30T00:00:00.000Z",
                    "expires_at": now + 90 * 86400, "history": [],
                }
            )  # fmt: skip


def test_five_thousand_waiting_messages_stay_within_esms_documented_rates(
    reconciler: Reconciler,
    aws: boto3.Session,
    deployment: Resolver,
    status_script: ScriptedStatus,
    time: FakeTime,
) -> None:
    # Given 5,000 accepted messages whose callbacks were lost; eSMS knows all but 50
    seed_accepted(aws, deployment, 5000, time)
    for index in range(50, 5000):
        status_script.get_callback[f"sms-{index}"] = delivered_item(f"sms-{index}")
    time.now += 1800

    summary = run(reconciler)

    # Then every GetCallback asked at most 200 SMSIDs, no second held more than 20 GetCallback calls
    # or 100 QueryZnsStatus calls, and the 4,950 known reports were applied
    get_callback = [(at, asked) for endpoint, at, asked in status_script.calls if endpoint == "GetCallback"]
    queries = [at for endpoint, at, _ in status_script.calls if endpoint == "QueryZnsStatus"]
    assert max(asked for _, asked in get_callback) <= 200
    assert len(get_callback) == 25
    assert max_in_any_second([at for at, _ in get_callback]) <= 20
    assert max_in_any_second(queries) <= 100 and len(queries) == 100  # each unknown SMSID: type 25, then 24
    assert summary.applied == 4950


def max_in_any_second(times: list[float]) -> int:
    ordered = sorted(times)
    return max((sum(1 for other in ordered if start <= other < start + 1) for start in ordered), default=0)


def test_a_run_that_runs_short_of_time_leaves_the_rest_due(
    reconciler: Reconciler, store: MessageStore, time: FakeTime
) -> None:
    for index in range(5):
        accepted(store, f"m-{index}", None, time)
    time.now += 8 * 24 * HOUR  # past the cap: no question needed to end them
    left = iter([300.0, 300.0, 5.0])

    summary = reconciler.run(seconds_left=lambda: next(left, 5.0))

    assert summary.stopped_early and summary.examined == 2
    assert Counter(status_of(store, f"m-{index}") for index in range(5)) == {
        MessageStatus.UNKNOWN: 2,
        MessageStatus.ACCEPTED: 3,
    }


def reconciler_handler(
    deployment: Resolver, esms: EsmsStub, monkeypatch: pytest.MonkeyPatch
) -> LoadedFunction:
    return load_function(
        "ReconcilerFunction",
        deployment,
        monkeypatch,
        {
            "ESMS_BASE_URL": esms.base_url,
            "ESMS_STATUS_URL": esms.base_url.removesuffix("/MainService.svc/json"),
        },
    )


def emitted_metrics(output: str) -> dict[str, list[float]]:
    """The metrics of the EMF lines (Powertools' CloudWatch format) a handler printed."""
    found: dict[str, list[float]] = {}
    for line in output.splitlines():
        if '"_aws"' in line:
            document = json.loads(line)
            for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                found.setdefault(metric["Name"], []).extend(document[metric["Name"]])
    return found


@pytest.mark.parametrize("esms_up", [True, False], ids=["esms-answers", "esms-unreachable"])
def test_the_scheduled_handler_reconciles_and_says_whether_esms_could_be_reached(
    aws: boto3.Session,
    deployment: Resolver,
    esms: EsmsStub,
    status_script: ScriptedStatus,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    esms_up: bool,
) -> None:
    # Given a message accepted long ago, eSMS holding no report for it (or its status endpoints down),
    # and the handler Lambda runs on the schedule
    store = MessageStore(deployment.ref("MessagesTable"), aws.client("dynamodb"))
    accepted(store, "old", "sms-old", FakeTime(now=datetime.now(UTC).timestamp() - 73 * HOUR))
    status_script.failing = not esms_up
    function = reconciler_handler(deployment, esms, monkeypatch)
    capsys.readouterr()

    result = function.invoke(load_event("reconciler-scheduled.json"))

    # Then, asked and answering without a report, eSMS ends it UNKNOWN; unreachable, it waits, and the
    # metric EsmsStatusUnreachableAlarm watches says so
    assert result["examined"] == 1
    assert result["ended"] == ({"UNKNOWN": 1} if esms_up else {})
    assert status_of(store, "old") is (MessageStatus.UNKNOWN if esms_up else MessageStatus.ACCEPTED)
    assert emitted_metrics(capsys.readouterr().out)["EsmsStatusUnreachable"] == [0.0 if esms_up else 1.0]


def test_an_idle_run_logs_nothing_at_info_and_a_run_with_work_logs_its_summary(
    aws: boto3.Session,
    deployment: Resolver,
    esms: EsmsStub,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given the scheduled handler at its deployed log level, and no message waiting
    function = reconciler_handler(deployment, esms, monkeypatch)
    caplog.clear()

    # When it runs with nothing to examine (the local stack's reconciler, every 3 s)
    idle = function.invoke(load_event("reconciler-scheduled.json"))

    # Then it logs nothing (its summary is at DEBUG)
    assert idle["examined"] == 0
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.INFO] == []

    # And once a message waits, the run's summary is logged at INFO
    store = MessageStore(deployment.ref("MessagesTable"), aws.client("dynamodb"))
    accepted(store, "old", "sms-old", FakeTime(now=datetime.now(UTC).timestamp() - 73 * HOUR))
    function.invoke(load_event("reconciler-scheduled.json"))
    [summary] = [record for record in caplog.records if record.getMessage() == "reconciler run"]
    assert summary.levelno == logging.INFO


def accepted_through_124(
    store: MessageStore, request_id: str, time: FakeTime, phone: str | None = PHONE, channel: str = "zns"
) -> None:
    """A first attempt that timed out (eSMS accepted it), then a retry's 124: no SMSID learnt."""
    now = int(time.now)
    fields = {"oa_id": OA_ID, "phone": phone, "channel": channel}
    claim = store.claim(request_id, fields, 30, check_at=now, keep_fields={"retry_until": now + 600})
    assert isinstance(claim, ClaimedMessage)
    store.transition(
        request_id,
        MessageStatus.RETRYING,
        "timeout",
        keep_fields={"uncertain_since": now + 10},
        claim=claim,
        check_at=now + 2400,
    )
    time.now += 30
    claim = store.claim(request_id, fields, 30, check_at=now)
    assert isinstance(claim, ClaimedMessage)
    store.transition(
        request_id, MessageStatus.ACCEPTED, "eSMS already holds this RequestId", {"esms_code": "124"},
        keep_fields={"accepted_at": int(time.now)}, claim=claim, check_at=int(time.now) + 1800,
    )  # fmt: skip


def test_a_124_acceptance_whose_callback_was_lost_is_found_in_esms_list_and_delivered(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime
) -> None:
    # Given a message accepted through a retry's 124, whose callback was lost, and eSMS's sent list
    # holding it (sent when the first attempt went out) beside another phone's message
    accepted_through_124(store, "otp-1", time)
    status_script.sent = [(START + 2, PHONE, "sms-otp-1"), (START + 3, "0912345678", "sms-other")]
    status_script.get_callback["sms-otp-1"] = delivered_item("sms-otp-1")
    time.now += 1800

    summary = run(reconciler)

    # Then its SMSID is found by phone and time, recorded, and its report applied
    record = store.get("otp-1")
    assert record is not None
    assert (record.status, record.sms_id) == (MessageStatus.DELIVERED, "sms-otp-1")
    assert summary.sms_ids_found == 1
    assert [entry.detail for entry in record.history][-2] == "SMSID found in eSMS's list of sent messages"


def test_an_sms_fallback_accepted_through_a_124_is_found_among_esms_sms_and_asked_with_get_send_status(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime
) -> None:
    # Given an SMS fallback accepted through a retry's 124 (its callbacks lost), eSMS listing it among
    # its SMS and reporting it delivered
    accepted_through_124(store, "otp-1:sms", time, channel="sms")
    status_script.sent_sms = [(START + 2, PHONE, "sms-of-otp-1")]
    status_script.send_status["sms-of-otp-1"] = send_status("sms-of-otp-1", 5, success=1)
    time.now += 1800

    run(reconciler)

    # Then its SMSID is found and asked about where eSMS knows SMS (GetSendStatus, not GetCallback)
    record = store.get("otp-1:sms")
    assert record is not None
    assert (record.status, record.sms_id) == (MessageStatus.DELIVERED, "sms-of-otp-1")
    assert "GetCallback" not in [call[0] for call in status_script.calls]


def test_a_forged_callback_pins_no_smsid_on_a_124_acceptance_and_the_reconciler_finds_the_true_one(
    aws: boto3.Session,
    deployment: Resolver,
    reconciler: Reconciler,
    store: MessageStore,
    status_script: ScriptedStatus,
    time: FakeTime,
) -> None:
    # Given a message accepted through a retry's 124, and a failure report with an invented SMSID on
    # its (leaked) signed URL
    accepted_through_124(store, "otp-1", time)
    item = aws.client("dynamodb").get_item(
        TableName=deployment.ref("MessagesTable"), Key={"request_id": {"S": "otp-1"}}
    )["Item"]
    forged = parse_delivery_report(
        {"SMSID": "invented", "SendStatus": "5", "SendFailed": "1", "TypeId": "25"}
    )
    reports = DeliveryReports(
        store, FollowUp(1800), suppressions(aws, deployment), pauses(aws, deployment), clock=time.utc
    )
    result = reports.apply("otp-1", forged, source="callback", url_nonce=item["callback_nonce"]["S"])

    # When the reconciler looks at it, eSMS's list holding its true SMSID and eSMS its report
    status_script.sent = [(START + 2, PHONE, "sms-otp-1")]
    status_script.get_callback["sms-otp-1"] = delivered_item("sms-otp-1")
    time.now += 1800
    run(reconciler)

    # Then the forged report changed nothing, and the message ends as eSMS reports it, under its SMSID
    assert result is ReportResult.LEFT_TO_RECONCILER
    record = store.get("otp-1")
    assert record is not None
    assert (record.status, record.sms_id) == (MessageStatus.DELIVERED, "sms-otp-1")
    assert "invented" not in str(record.history)


def test_a_possibly_accepted_message_past_its_window_found_in_esms_list_is_accepted(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime
) -> None:
    # Given a message whose attempts timed out until its window ended (waiting, RETRYING)
    retrying(store, "maybe", time, uncertain=True)
    status_script.sent = [(START + 1, PHONE, "sms-maybe")]
    time.now += 3600

    run(reconciler)

    # Then it is ACCEPTED with the SMSID eSMS listed (not FAILED, not UNKNOWN), and asked about
    record = store.get("maybe")
    assert record is not None
    assert (record.status, record.sms_id) == (MessageStatus.ACCEPTED, "sms-maybe")
    assert [call[0] for call in status_script.calls].count("GetCallback") == 1


@pytest.mark.parametrize(
    "sent",
    [
        [(START + 2, PHONE, "sms-a"), (START + 4, PHONE, "sms-b")],  # two messages to the phone
        [(START + 2, PHONE, "sms-held")],  # the only fit is another message's
        [(START - 4000, PHONE, "sms-early")],  # outside the time of the attempt
    ],
    ids=["ambiguous", "taken", "out-of-window"],
)
def test_an_smsid_is_adopted_only_when_exactly_one_unclaimed_message_fits(
    reconciler: Reconciler,
    store: MessageStore,
    status_script: ScriptedStatus,
    time: FakeTime,
    sent: list[tuple[float, str, str]],
) -> None:
    accepted(store, "holder", "sms-held", time)
    accepted_through_124(store, "otp-1", time)
    status_script.sent = sent
    time.now += 1800

    run(reconciler)

    record = store.get("otp-1")
    assert record is not None
    assert (record.status, record.sms_id) == (MessageStatus.ACCEPTED, None)


@pytest.mark.parametrize(
    ("phone", "sent"),
    [
        (PHONE, [(START + 2, PHONE, "sms-a"), (START + 4, PHONE, "sms-b")]),  # two rows fit it
        (None, [(START + 2, PHONE, "sms-a")]),  # no phone: it cannot be looked up
    ],
    ids=["ambiguous", "no-phone"],
)
def test_an_overdue_message_esms_list_cannot_decide_about_waits_until_the_cap(
    reconciler: Reconciler,
    store: MessageStore,
    status_script: ScriptedStatus,
    time: FakeTime,
    phone: str | None,
    sent: list[tuple[float, str, str]],
) -> None:
    # Given a message accepted through a 124, overdue, and eSMS's list (read whole) holding several
    # rows that fit it, or the message not looked up in it at all
    accepted_through_124(store, "otp-1", time, phone=phone)
    accepted_at = int(time.now)
    status_script.sent = sent
    time.now = accepted_at + 72 * HOUR + 60

    run(reconciler)

    # Then eSMS did not say it holds nothing for it: it waits, and ends UNKNOWN only at the cap, unasked
    assert status_of(store, "otp-1") is MessageStatus.ACCEPTED
    time.now = accepted_at + POLICY.unknown_cap_seconds
    run(reconciler)
    record = store.get("otp-1")
    assert record is not None and record.status is MessageStatus.UNKNOWN
    assert record.error is not None and "no answer from eSMS" in record.error


def test_one_listed_message_fitting_two_waiting_messages_goes_to_neither(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime
) -> None:
    # Given two waiting messages to the same phone (a customer pressing "resend" during an incident),
    # and eSMS listing only one message for that phone at that time
    accepted_through_124(store, "otp-1", time)
    retrying(store, "otp-2", time, uncertain=True)
    status_script.sent = [(START + 2, PHONE, "sms-one")]
    time.now += 3600

    summary = run(reconciler)

    # Then neither takes the SMSID: it belongs to at most one of them
    assert summary.sms_ids_found == 0
    for request_id in ("otp-1", "otp-2"):
        record = store.get(request_id)
        assert record is not None and record.sms_id is None


def test_a_listing_cut_short_adopts_nothing(
    aws: boto3.Session,
    deployment: Resolver,
    esms: EsmsStub,
    store: MessageStore,
    status_script: ScriptedStatus,
    time: FakeTime,
) -> None:
    # Given a finder allowed one page, and a listing two pages long whose first page holds one fit
    accepted_through_124(store, "otp-1", time)
    status_script.sent = [
        (START + 2, PHONE, "sms-fit"),
        *[(START + 3, f"09{n:08d}", f"s-{n}") for n in range(600)],
    ]
    root = esms.base_url.removesuffix("/MainService.svc/json")
    status = EsmsStatusClient(esms.base_url, root, read_timeout=5)
    finder = SmsIdFinder(store, status, RateLimiter(5, clock=time.monotonic, sleep=time.sleep), max_pages=1)
    credentials = parse_esms_secret(
        json.loads(
            aws.client("secretsmanager").get_secret_value(SecretId=deployment.ref("EsmsSecret"))[
                "SecretString"
            ]
        )
    )
    [waiting] = list(store.due(int(time.now) + 10_000))

    # Then the true row might be on the page not read: nothing is adopted, and the answer says eSMS's
    # list was not read (not that it holds no such message)
    assert finder.find([waiting], credentials, int(time.now)) is None


def test_getcallback_replaying_a_sent_then_a_final_report_applies_the_final_one(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime
) -> None:
    accepted(store, "m-1", "sms-1", time)
    sent_report = {**delivered_item("sms-1"), "SendStatus": 7, "SendSuccess": 0}
    status_script.get_callback["sms-1"] = delivered_item("sms-1")
    original = status_script.answer

    def replay_both(body: dict[str, Any], time: FakeTime) -> Reply:
        reply = original(body, time)
        if "ListRefid" not in body:
            return reply
        answer = json.loads(reply.body)
        answer["Data_callback"] = [sent_report, *answer["Data_callback"]]
        return Reply(body=json.dumps(answer))

    status_script.answer = replay_both  # type: ignore[method-assign]
    time.now += 1800

    run(reconciler)

    assert status_of(store, "m-1") is MessageStatus.DELIVERED


def test_a_message_the_store_fails_on_does_not_stop_the_others(
    reconciler: Reconciler,
    aws: boto3.Session,
    deployment: Resolver,
    store: MessageStore,
    time: FakeTime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given three overdue messages, and the store failing on the first one's write (say, an item that
    # grew past DynamoDB's size limit)
    for index in range(3):
        accepted(store, f"m-{index}", None, time)
    time.now += 73 * HOUR
    real_transition = store.transition

    def failing_on_m0(request_id: str, *args: Any, **kwargs: Any) -> Any:
        if request_id == "m-0":
            raise ClientError(
                {"Error": {"Code": "ValidationException", "Message": "Item size"}}, "UpdateItem"
            )
        return real_transition(request_id, *args, **kwargs)

    monkeypatch.setattr(store, "transition", failing_on_m0)

    summary = run(reconciler)

    # Then the others still end UNKNOWN, and the failure is counted
    assert summary.store_errors == 1
    assert [status_of(store, f"m-{index}") for index in range(3)] == [
        MessageStatus.ACCEPTED, MessageStatus.UNKNOWN, MessageStatus.UNKNOWN,
    ]  # fmt: skip


def test_a_sent_report_the_reconciler_applies_moves_the_next_look_on(
    reconciler: Reconciler, store: MessageStore, status_script: ScriptedStatus, time: FakeTime
) -> None:
    # Given an accepted message whose callbacks were lost, and eSMS knowing it sent (SendStatus 7) only
    accepted(store, "m-1", "sms-1", time)
    status_script.get_callback["sms-1"] = {**delivered_item("sms-1"), "SendStatus": 7, "SendSuccess": 0}
    time.now += 1800

    # When the reconciler asks and applies the SENT report
    run(reconciler)

    # Then the message is SENT and waits for its next look, not due again at once (asked once more)
    assert status_of(store, "m-1") is MessageStatus.SENT
    assert list(store.due(int(time.now))) == []
