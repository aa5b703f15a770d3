"""SenderFunction invoked as Lambda invokes it: events/ JSON, a Lambda context, moto, a loopback eSMS."""

from __future__ import annotations

import copy
import io
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from local.runtime.lambda_runtime import function_output_to
from local.runtime.template import Resolver
from tests.conftest import (
    CALLBACK_BASE_URL,
    LoadedFunction,
    load_event,
    load_function,
    secret_values,
    sender_overrides,
)
from tests.support.esms_stub import EsmsStub, Reply, accepted, refused
from zns_relay.models.contract import rejection_key
from zns_relay.reports.callback_url import sign

SEED_FIELDS = {
    "ApiKey", "SecretKey", "OAID", "Phone", "TempData", "SendDate", "TempID",
    "campaignid", "Sandbox", "CallbackUrl", "RequestId", "SendingMode",
}  # fmt: skip


def item(session: boto3.Session, deployment: Resolver, request_id: str) -> dict[str, Any] | None:
    table = session.resource("dynamodb").Table(deployment.ref("MessagesTable"))
    found: dict[str, Any] | None = table.get_item(Key={"request_id": request_id}, ConsistentRead=True).get(
        "Item"
    )
    return found


def leave_sending(session: boto3.Session, deployment: Resolver, request_id: str, lease_until: int) -> None:
    """A message claimed by an invocation whose lease ends at `lease_until` (epoch seconds)."""
    table = session.resource("dynamodb").Table(deployment.ref("MessagesTable"))
    table.put_item(
        Item={
            "request_id": request_id, "status": "SENDING", "attempts": 1, "lease_until": lease_until,
            "created_at": "2026-11-26T00:00:00.000Z", "updated_at": "2026-11-26T00:00:00.000Z",
            "expires_at": 4102444800, "history": [],
        }
    )  # fmt: skip


def failures(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def batch(deployment: Resolver, name: str, **body_changes: str) -> dict[str, Any]:
    """An event from events/ for the provisioned queue; `body_changes` edit each record's message."""
    event = load_event(name, queue_arn=deployment.get_att("SendQueue", "Arn"))
    for record in event["Records"] if body_changes else []:
        record["body"] = json.dumps(_edit_message(json.loads(record["body"]), body_changes))
    return event


def _edit_message(document: dict[str, Any], changes: dict[str, str]) -> dict[str, Any]:
    if "Message" in document:  # an SNS notification
        return {**document, "Message": json.dumps(_edit_message(json.loads(document["Message"]), changes))}
    if "detail" in document:  # an EventBridge event
        return {**document, "detail": _edit_message(document["detail"], changes)}
    return {**document, **changes}


def end_retry_window(
    aws: boto3.Session, deployment: Resolver, request_id: str, validity_too: bool = False
) -> None:
    """Time passing: the message's retry window (and, if asked, its validity) ended a minute ago."""
    table = aws.resource("dynamodb").Table(deployment.ref("MessagesTable"))
    past = int(time.time()) - 60
    names = ["retry_until", "valid_until"] if validity_too else ["retry_until"]
    table.update_item(
        Key={"request_id": request_id},
        UpdateExpression="SET " + ", ".join(f"{name} = :past" for name in names),
        ExpressionAttributeValues={":past": past},
    )


def with_receive_count(event: dict[str, Any], count: int) -> dict[str, Any]:
    event = copy.deepcopy(event)
    for record in event["Records"]:
        record["attributes"]["ApproximateReceiveCount"] = str(count)
    return event


def test_batch_of_ten_sends_ten_seed_shaped_requests_and_records_each_accepted(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given ten valid messages in one batch
    event = batch(deployment, "sender-batch.json")
    credentials = secret_values(aws, deployment)
    key = secret_values(aws, deployment, "CallbackKeySecret")["CallbackKey"].encode()

    # When Lambda invokes the sender
    response = sender.invoke(event)

    # Then eSMS got ten POSTs with exactly the seed's fields, all strings
    assert failures(response) == []
    assert len(esms.bodies) == 10
    assert set(esms.paths) == {"/MainService.svc/json/SendZaloMessage_V5_post/"}
    for body in esms.bodies:
        assert set(body) == SEED_FIELDS
        assert all(isinstance(value, str) for key, value in body.items() if key != "TempData")
        assert all(set(param) == {"key", "value"} for param in body["TempData"])
        assert body["ApiKey"] == credentials["ApiKey"]
        assert body["Phone"].startswith("0") and len(body["Phone"]) == 10
        # And each CallbackUrl names its message, signed with the callback key for the item's nonce
        request_id = body["RequestId"]
        nonce = (item(aws, deployment, request_id) or {})["callback_nonce"]
        assert body["CallbackUrl"] == f"{CALLBACK_BASE_URL}/{request_id}/{sign(key, request_id, nonce)}"
    # And each message is ACCEPTED with eSMS's SMSID
    for record in event["Records"]:
        request_id = json.loads(record["body"])["RequestId"]
        stored = item(aws, deployment, request_id)
        assert stored is not None
        assert stored["status"] == "ACCEPTED"
        assert stored["sms_id"] == f"sms-{request_id}"
        assert [entry["status"] for entry in stored["history"]] == ["SENDING", "ACCEPTED"]


def test_phone_forms_are_normalised_before_sending_and_storing(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    sender.invoke(batch(deployment, "sender-batch.json"))

    phones = {body["RequestId"]: body["Phone"] for body in esms.bodies}
    assert phones["order-DH240503-confirm"] == "0901888485"  # queued as "+84 90 188 8485"
    assert phones["order-DH240502-confirm"] == "0912345678"  # queued as "84912345678"
    assert phones["order-DH240508-confirm"] == "0812345678"  # queued as "+84-81-234-5678"
    stored = item(aws, deployment, "order-DH240503-confirm")
    assert stored is not None and stored["phone"] == "0901888485"


def test_redelivered_batch_sends_nothing_more(
    sender: LoadedFunction, esms: EsmsStub, deployment: Resolver
) -> None:
    event = batch(deployment, "sender-batch.json")
    sender.invoke(event)

    response = sender.invoke(with_receive_count(event, 2))

    assert failures(response) == []
    assert len(esms.bodies) == 10


def test_one_request_id_twice_in_a_batch_is_sent_once(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given the mixed batch: a valid message, an invalid one, broken JSON, and the valid one again
    event = batch(deployment, "sender-mixed-batch.json")

    response = sender.invoke(event)

    # Then the RequestId reached eSMS once; of its two records, the one that found the other sending
    # it (if they overlapped) went back to SQS, to be dropped on its next receive
    duplicates = {event["Records"][0]["messageId"], event["Records"][3]["messageId"]}
    assert set(failures(response)) <= duplicates and len(failures(response)) <= 1
    assert esms.sends_for("otp-7f3a9c-login") == 1
    stored = item(aws, deployment, "otp-7f3a9c-login")
    assert stored is not None and stored["status"] == "ACCEPTED"


def test_malformed_bodies_are_rejected_with_their_reason_and_not_retried(
    sender: LoadedFunction, aws: boto3.Session, deployment: Resolver
) -> None:
    event = batch(deployment, "sender-mixed-batch.json")

    response = sender.invoke(event)

    # Neither is handed back to SQS: a rejected body is done with
    assert not {event["Records"][1]["messageId"], event["Records"][2]["messageId"]} & set(failures(response))
    bad_phone = item(aws, deployment, "otp-bad-phone-1")
    assert bad_phone is not None
    assert bad_phone["status"] == "REJECTED"
    assert "Phone: not a Vietnamese mobile number" in bad_phone["error"]
    assert "TempData: must hold at least one template parameter" in bad_phone["error"]
    # Broken JSON has no RequestId: it is recorded under the SQS messageId
    broken = item(aws, deployment, event["Records"][2]["messageId"])
    assert broken is not None
    assert broken["status"] == "REJECTED"
    assert broken["error"].startswith("body is not JSON")


@pytest.mark.parametrize(
    ("reply", "possibly_accepted"),
    [
        (Reply(status=503, body="Service Unavailable"), False),
        (Reply(status=502, body="Bad Gateway"), True),
        (Reply(hang=True), True),
    ],
    ids=["http-503", "http-502", "timeout"],
)
def test_transient_failure_is_a_batch_item_failure_left_retrying(
    sender: LoadedFunction,
    esms: EsmsStub,
    aws: boto3.Session,
    deployment: Resolver,
    reply: Reply,
    possibly_accepted: bool,
) -> None:
    esms.responder = lambda body: reply
    event = batch(deployment, "sender-sns-wrapped.json")

    response = sender.invoke(event)

    assert failures(response) == [event["Records"][0]["messageId"]]
    stored = item(aws, deployment, "sns-order-DH240777")
    assert stored is not None
    assert stored["status"] == "RETRYING"
    assert stored["attempts"] == 1
    # A timeout may hide an acceptance: the message remembers it may already be with eSMS
    assert ("uncertain_since" in stored) is possibly_accepted
    # And the retry window is fixed at the first attempt, for every later receive
    assert stored["retry_until"] > int(time.time())


def test_retry_after_transient_failure_sends_again_and_is_accepted(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    event = batch(deployment, "sender-sns-wrapped.json")
    esms.responder = lambda body: refused("160", "TPS limit exceeded")
    sender.invoke(event)

    esms.responder = lambda body: accepted("d8e0f1f0702544b2acb456ca9ccfd111250")
    response = sender.invoke(with_receive_count(event, 2))

    assert failures(response) == []
    stored = item(aws, deployment, "sns-order-DH240777")
    assert stored is not None
    assert stored["status"] == "ACCEPTED"
    assert stored["attempts"] == 2
    assert [entry["status"] for entry in stored["history"]] == ["SENDING", "RETRYING", "SENDING", "ACCEPTED"]


def test_permanent_code_ends_failed_and_is_not_retried(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    esms.responder = lambda body: refused("789", "TemplateId is not config")
    event = batch(deployment, "sender-eventbridge-wrapped.json")

    response = sender.invoke(event)

    assert failures(response) == []
    stored = item(aws, deployment, "eb-order-DH240888")
    assert stored is not None
    assert stored["status"] == "FAILED"
    assert stored["esms_code"] == "789"
    assert stored["error"] == "eSMS 789: template not configured for this OA (TemplateId is not config)"


def test_window_over_after_certain_refusals_ends_failed_and_the_record_is_done(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given a message eSMS refused (HTTP 503) until its retry window ended
    esms.responder = lambda body: Reply(status=503, body="")
    event = batch(deployment, "sender-sns-wrapped.json")
    sender.invoke(event)
    end_retry_window(aws, deployment, "sns-order-DH240777")

    # When SQS offers it again
    response = sender.invoke(with_receive_count(event, 2))

    # Then it is not sent again, ends FAILED with the last error, and SQS deletes it (no DLQ)
    assert failures(response) == []
    assert esms.sends_for("sns-order-DH240777") == 1
    stored = item(aws, deployment, "sns-order-DH240777")
    assert stored is not None
    assert stored["status"] == "FAILED"
    assert stored["error"] == (
        "gave up after 1 attempts over the retry window (last: eSMS answered HTTP 503)"
    )
    assert "check_at" not in stored  # final: out of the reconciler's index


def test_window_over_after_a_timeout_waits_for_the_report_instead_of_failing(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given an attempt that timed out (eSMS may hold it) and a window that then ended
    esms.responder = lambda body: Reply(hang=True)
    event = batch(deployment, "sender-sns-wrapped.json")
    sender.invoke(event)
    end_retry_window(aws, deployment, "sns-order-DH240777")

    response = sender.invoke(with_receive_count(event, 2))

    # Then it is never FAILED: it waits, not final, in the reconciler's index, for its report
    assert failures(response) == []
    stored = item(aws, deployment, "sns-order-DH240777")
    assert stored is not None
    assert stored["status"] == "RETRYING"
    assert "check_at" in stored and "uncertain_since" in stored
    assert stored["history"][-1]["detail"].startswith(
        "retry window over; an earlier attempt may have reached eSMS: waiting for its report"
    )


@pytest.mark.parametrize("seconds_past", [1, 0])
def test_a_message_whose_validity_has_passed_is_expired_without_a_request(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver, seconds_past: int
) -> None:
    # Given a message whose ValidUntil is now, or a second ago
    valid_until = datetime.fromtimestamp(int(time.time()) - seconds_past, UTC).isoformat()
    event = batch(deployment, "sender-sns-wrapped.json", ValidUntil=valid_until)

    response = sender.invoke(event)

    # Then nothing goes to eSMS and the message is EXPIRED with the reason
    assert failures(response) == []
    assert esms.bodies == []
    stored = item(aws, deployment, "sns-order-DH240777")
    assert stored is not None and stored["status"] == "EXPIRED"
    assert stored["error"] == "not sent: its validity (ValidUntil) passed before it could be sent"


def test_a_message_valid_a_little_longer_is_sent(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    valid_until = datetime.fromtimestamp(int(time.time()) + 120, UTC).isoformat()

    sender.invoke(batch(deployment, "sender-sns-wrapped.json", ValidUntil=valid_until))

    stored = item(aws, deployment, "sns-order-DH240777")
    assert stored is not None and stored["status"] == "ACCEPTED"
    assert stored["valid_until"] == stored["retry_until"]  # the validity ends its retry window


def test_a_retried_message_whose_validity_ends_is_expired_not_failed(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given a message refused for now (160) whose validity then ends
    valid_until = datetime.fromtimestamp(int(time.time()) + 120, UTC).isoformat()
    event = batch(deployment, "sender-sns-wrapped.json", ValidUntil=valid_until)
    esms.responder = lambda body: refused("160", "TPS limit exceeded")
    sender.invoke(event)
    end_retry_window(aws, deployment, "sns-order-DH240777", validity_too=True)

    sender.invoke(with_receive_count(event, 2))

    stored = item(aws, deployment, "sns-order-DH240777")
    assert stored is not None and stored["status"] == "EXPIRED"
    assert stored["error"].startswith("not sent: its validity (ValidUntil) passed before eSMS accepted it")
    assert esms.sends_for("sns-order-DH240777") == 1


def test_a_record_is_handed_back_unclaimed_when_too_little_time_is_left(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given an invocation with a second left (Lambda would stop it before an eSMS answer could land)
    event = batch(deployment, "sender-sns-wrapped.json")
    context = sender.context()
    context.timeout_seconds = 1

    response = sender.handler(event, context)

    # Then the record goes back to SQS at once, unclaimed and unsent
    assert failures(response) == [event["Records"][0]["messageId"]]
    assert esms.bodies == []
    assert item(aws, deployment, "sns-order-DH240777") is None


def test_duplicate_code_on_a_retry_means_already_accepted(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given an attempt whose answer was lost (a timeout), then eSMS saying it holds the RequestId
    event = batch(deployment, "sender-sns-wrapped.json")
    esms.responder = lambda body: Reply(hang=True)
    sender.invoke(event)
    esms.responder = lambda body: refused("124", "Duplicate RequestId")

    response = sender.invoke(with_receive_count(event, 2))

    assert failures(response) == []
    stored = item(aws, deployment, "sns-order-DH240777")
    assert stored is not None
    assert stored["status"] == "ACCEPTED"
    assert stored["esms_code"] == "124"


def test_duplicate_code_on_a_first_attempt_fails_instead_of_claiming_success(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    esms.responder = lambda body: refused("124", "Duplicate RequestId")

    response = sender.invoke(batch(deployment, "sender-sns-wrapped.json"))

    assert failures(response) == []
    stored = item(aws, deployment, "sns-order-DH240777")
    assert stored is not None
    assert stored["status"] == "FAILED"
    assert "sent to eSMS by something else" in stored["error"]


def test_concurrent_invocations_of_one_request_id_send_once(
    deployment: Resolver, esms: EsmsStub, aws: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two execution environments (two cold starts) and a slow eSMS
    first = load_function("SenderFunction", deployment, monkeypatch, sender_overrides(esms))
    second = load_function("SenderFunction", deployment, monkeypatch, sender_overrides(esms))
    esms.responder = lambda body: Reply(delay_seconds=0.3, body=accepted("sms-concurrent").body)
    event = batch(deployment, "sender-eventbridge-wrapped.json")
    start = threading.Barrier(2)
    responses: list[dict[str, Any]] = []

    def invoke(function: LoadedFunction) -> None:
        start.wait()
        responses.append(function.invoke(copy.deepcopy(event)))

    # When both receive the same RequestId at the same moment
    threads = [threading.Thread(target=invoke, args=(function,)) for function in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then eSMS is called once; the losing invocation hands its record back (its holder might die),
    # and that record's next receive finds the message sent and is done
    assert esms.sends_for("eb-order-DH240888") == 1
    assert sorted(len(failures(response)) for response in responses) == [0, 1]
    stored = item(aws, deployment, "eb-order-DH240888")
    assert stored is not None and stored["status"] == "ACCEPTED"
    assert failures(first.invoke(with_receive_count(event, 2))) == []
    assert esms.sends_for("eb-order-DH240888") == 1


def test_sending_claim_with_expired_lease_is_taken_over(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given a message left SENDING by an invocation that died long ago
    leave_sending(aws, deployment, "eb-order-DH240888", lease_until=1)

    response = sender.invoke(with_receive_count(batch(deployment, "sender-eventbridge-wrapped.json"), 2))

    assert failures(response) == []
    assert esms.sends_for("eb-order-DH240888") == 1
    stored = item(aws, deployment, "eb-order-DH240888")
    assert stored is not None and stored["status"] == "ACCEPTED" and stored["attempts"] == 2


def test_a_message_another_delivery_is_sending_is_not_sent_twice_and_comes_back_after_its_lease(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given a message another invocation is sending right now (its lease runs another 100 s)
    lease_until = int(time.time()) + 100
    leave_sending(aws, deployment, "eb-order-DH240888", lease_until=lease_until)
    event = batch(deployment, "sender-eventbridge-wrapped.json")

    response = sender.invoke(event)

    # Then nothing is sent; the record goes back to SQS rather than being deleted, in case its holder
    # dies, and is hidden until that holder's lease ends
    assert esms.bodies == []
    assert failures(response) == [event["Records"][0]["messageId"]]
    stored = item(aws, deployment, "eb-order-DH240888")
    assert stored is not None and stored["status"] == "SENDING"


def test_sandbox_message_is_accepted_without_callback_url(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    event = batch(deployment, "sender-eventbridge-wrapped.json")
    body = json.loads(event["Records"][0]["body"])
    body["detail"]["Sandbox"] = "1"
    event["Records"][0]["body"] = json.dumps(body)

    sender.invoke(event)

    assert esms.bodies[0]["Sandbox"] == "1"
    assert esms.bodies[0]["CallbackUrl"] == ""
    stored = item(aws, deployment, "eb-order-DH240888")
    assert stored is not None and stored["status"] == "ACCEPTED" and stored["sandbox"] is True


def test_wrong_credentials_reread_the_secret_and_use_the_rotated_one(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given the cached credentials, then an operator rotating the ApiKey
    sender.invoke(batch(deployment, "sender-sns-wrapped.json"))
    secrets = aws.client("secretsmanager")
    values = secret_values(aws, deployment)
    secrets.put_secret_value(
        SecretId=deployment.ref("EsmsSecret"), SecretString=json.dumps({**values, "ApiKey": "rotated-key"})
    )
    esms.responder = lambda body: (
        accepted("sms-rotated") if body["ApiKey"] == "rotated-key" else refused("101", "Authorize Failed")
    )

    # When eSMS refuses the cached key
    response = sender.invoke(batch(deployment, "sender-eventbridge-wrapped.json"))

    # Then the secret is read again and the send succeeds with the new key at once
    assert failures(response) == []
    stored = item(aws, deployment, "eb-order-DH240888")
    assert stored is not None and stored["status"] == "ACCEPTED" and stored["sms_id"] == "sms-rotated"


def emitted_metrics(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if '"_aws"' in line]


def test_account_error_is_retried_and_raises_the_account_metric(
    sender: LoadedFunction,
    esms: EsmsStub,
    aws: boto3.Session,
    deployment: Resolver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    esms.responder = lambda body: refused("103", "Balance not enough")
    event = batch(deployment, "sender-eventbridge-wrapped.json")

    response = sender.invoke(event)

    assert failures(response) == [event["Records"][0]["messageId"]]
    stored = item(aws, deployment, "eb-order-DH240888")
    assert stored is not None and stored["status"] == "RETRYING" and stored["esms_code"] == "103"
    assert any(
        metric.get("AccountErrors") == [1.0] or metric.get("AccountErrors") == 1.0
        for metric in emitted_metrics(capsys.readouterr().out)
    )


def test_no_secret_value_appears_in_any_log_line(
    sender: LoadedFunction,
    esms: EsmsStub,
    aws: boto3.Session,
    deployment: Resolver,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given every path that logs: accepted, refused credentials, transient, rejected
    replies = iter([accepted("sms-1"), refused("101", "Authorize Failed"), Reply(status=500)] * 10)
    esms.responder = lambda body: next(replies)
    logged = io.StringIO()

    with function_output_to(logged):  # the JSON lines as CloudWatch would get them, extras included
        sender.invoke(batch(deployment, "sender-batch.json"))
        sender.invoke(batch(deployment, "sender-mixed-batch.json"))

    captured = capsys.readouterr()
    output = logged.getvalue() + captured.out + captured.err + caplog.text
    assert '"message":"message accepted"' in output
    assert '"message":"message rejected: it breaks the producer contract"' in output
    assert '"_aws"' in output  # the metrics
    secrets = [
        *secret_values(aws, deployment).values(),
        *secret_values(aws, deployment, "CallbackKeySecret").values(),
    ]
    for secret in secrets:
        assert secret not in output
    # Nor the CallbackUrl's signatures
    for body in esms.bodies:
        assert body["CallbackUrl"].rsplit("/", 1)[1] not in output


def test_account_problem_is_retried_through_the_window_then_fails_safe_to_republish(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given a balance problem (103) that outlasts the whole retry window
    esms.responder = lambda body: refused("103", "Balance not enough")
    event = batch(deployment, "sender-eventbridge-wrapped.json")
    response = sender.invoke(event)
    assert failures(response) == [event["Records"][0]["messageId"]]
    end_retry_window(aws, deployment, "eb-order-DH240888")

    sender.invoke(with_receive_count(event, 2))

    # Then it ends FAILED naming the account problem: eSMS refused every attempt, so nothing was sent
    stored = item(aws, deployment, "eb-order-DH240888")
    assert stored is not None and stored["status"] == "FAILED"
    assert "eSMS 103: insufficient balance" in stored["error"]


def test_log_lines_carry_the_request_id_as_correlation_id(
    sender: LoadedFunction, deployment: Resolver
) -> None:
    output = io.StringIO()
    with function_output_to(output):
        sender.invoke(batch(deployment, "sender-sns-wrapped.json"))

    lines = [json.loads(line) for line in output.getvalue().splitlines() if '"level"' in line]
    accepted_lines = [line for line in lines if line["message"] == "message accepted"]
    assert [line["correlation_id"] for line in accepted_lines] == ["sns-order-DH240777"]


def test_a_160_slows_every_sender_and_the_record_waits_for_the_backlog_not_an_error_backoff(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given eSMS answering 160 (the account's TPS limit)
    esms.responder = lambda body: refused("160", "TPS limit exceeded")
    event = batch(deployment, "sender-sns-wrapped.json")

    response = sender.invoke(event)

    # Then the message waits (RETRYING), and the rate every sender shares went down from its ceiling
    assert failures(response) == [event["Records"][0]["messageId"]]
    stored = item(aws, deployment, "sns-order-DH240777")
    assert stored is not None and stored["status"] == "RETRYING" and stored["esms_code"] == "160"
    table = aws.resource("dynamodb").Table(deployment.ref("ThrottleTable"))
    shared: Any = table.get_item(Key={"limiter": "esms-send"})["Item"]
    ceiling = float(sender.environment["ESMS_RATE_LIMIT"])
    assert float(shared["rate"]) == pytest.approx(ceiling * 0.7)


@pytest.mark.parametrize(
    ("send_date", "reason"),
    [
        ("2020-01-01 08:00:00", "SendDate: is in the past (it is read in Vietnam time, UTC+7)"),
        ("2099-01-01 08:00:00", "SendDate: is more than a year ahead (a typo?)"),
    ],
    ids=["past", "years-ahead"],
)
def test_a_send_date_in_the_past_or_years_ahead_is_rejected_unsent(
    sender: LoadedFunction,
    esms: EsmsStub,
    aws: boto3.Session,
    deployment: Resolver,
    send_date: str,
    reason: str,
) -> None:
    sender.invoke(batch(deployment, "sender-sns-wrapped.json", SendDate=send_date))

    stored = item(aws, deployment, "sns-order-DH240777")
    assert stored is not None and (stored["status"], stored["error"]) == ("REJECTED", reason)
    assert esms.bodies == []


def test_a_control_character_or_a_punctuation_only_request_id_is_rejected_unsent_saying_why(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # When one message's campaignid carries a terminal escape, and another's RequestId is ".."
    sender.invoke(batch(deployment, "sender-sns-wrapped.json", campaignid="autumn\x1b]0;owned\x07"))
    sender.invoke(batch(deployment, "sender-eventbridge-wrapped.json", RequestId=".."))

    # Then both are REJECTED with the reason, neither sent
    escaped = item(aws, deployment, "sns-order-DH240777")
    assert escaped is not None and escaped["status"] == "REJECTED"
    assert escaped["error"] == "campaignid: must not contain control characters (U+001B)"
    dots = item(aws, deployment, rejection_key(".."))
    assert dots is not None and dots["status"] == "REJECTED"
    assert dots["error"] == "RequestId: must hold at least one letter or digit"
    assert esms.bodies == []


def test_a_forced_sandbox_stage_never_really_sends_and_an_unlisted_oa_is_rejected(
    deployment: Resolver, esms: EsmsStub, aws: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a dev stage that forces sandbox and sends only for one OA
    overrides = {**sender_overrides(esms), "FORCE_SANDBOX": "true", "ALLOWED_OA_IDS": "1397492183140006179"}
    dev = load_function("SenderFunction", deployment, monkeypatch, overrides)

    # When a message asks for a real send, and another names an OA the stage does not send for
    dev.invoke(batch(deployment, "sender-sns-wrapped.json", Sandbox="0"))
    dev.invoke(batch(deployment, "sender-eventbridge-wrapped.json", OAID="4097311281936189049"))

    # Then the first goes to eSMS as a sandbox message, the second is rejected unsent
    assert [body["Sandbox"] for body in esms.bodies] == ["1"]
    other = item(aws, deployment, "eb-order-DH240888")
    assert other is not None and other["status"] == "REJECTED"
    assert other["error"] == "OAID: 4097311281936189049 is not one this deployment sends for"


def test_a_request_id_reused_for_a_different_message_is_not_sent_and_is_recorded_and_counted(
    sender: LoadedFunction,
    esms: EsmsStub,
    aws: boto3.Session,
    deployment: Resolver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a message sent and accepted
    sender.invoke(batch(deployment, "sender-eventbridge-wrapped.json"))
    capsys.readouterr()

    # When a producer publishes a different message (another phone) under the same RequestId, and the
    # first message again (a plain redelivery)
    sender.invoke(batch(deployment, "sender-eventbridge-wrapped.json", Phone="0912345678"))
    sender.invoke(batch(deployment, "sender-eventbridge-wrapped.json"))

    # Then eSMS got the first message only, once
    assert esms.sends_for("eb-order-DH240888") == 1
    # And the message holding the RequestId says, in its history, that another message reused it
    stored = item(aws, deployment, "eb-order-DH240888")
    assert stored is not None and stored["status"] == "ACCEPTED"
    notes = [entry for entry in stored["history"] if "status" not in entry]
    assert len(notes) == 1
    assert notes[0]["detail"].startswith("RequestId reused by a different message")
    assert "091****678" in notes[0]["detail"]
    # And it is counted (a plain redelivery is not)
    counted = [m.get("RequestIdReused") for m in emitted_metrics(capsys.readouterr().out)]
    assert sum(1 for value in counted if value in (1.0, [1.0])) == 1


def test_a_request_id_reused_while_its_message_is_retrying_does_not_take_it_over(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given a message eSMS refused for now (it waits in RETRYING for its next try)
    esms.responder = lambda body: Reply(status=503, body="")
    sender.invoke(batch(deployment, "sender-eventbridge-wrapped.json"))

    # When a producer publishes a different message (another phone) under the same RequestId
    sender.invoke(batch(deployment, "sender-eventbridge-wrapped.json", Phone="0912345678"))

    # Then it is not sent, and the item still holds the first message, noted as reused
    assert esms.sends_for("eb-order-DH240888") == 1
    stored = item(aws, deployment, "eb-order-DH240888")
    assert stored is not None and stored["status"] == "RETRYING"
    assert stored["phone"] == "0987654321"
    assert any(entry["detail"].startswith("RequestId reused") for entry in stored["history"])


def test_a_message_rejected_for_its_over_long_request_id_is_recorded_under_a_key_derived_from_it(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given a body whose RequestId is longer than 50 characters
    given = "order-DH240888-customer-0901888484-confirmation-2026"
    event = batch(deployment, "sender-eventbridge-wrapped.json", RequestId=given)

    sender.invoke(event)

    # Then it is REJECTED unsent, under the key the status API derives from the id the producer gave
    # (not under the SQS messageId, which the producer may never have seen)
    stored = item(aws, deployment, rejection_key(given))
    assert stored is not None and stored["status"] == "REJECTED"
    assert stored["error"].startswith("RequestId:")
    assert item(aws, deployment, event["Records"][0]["messageId"]) is None
    assert esms.bodies == []


def test_a_scheduled_message_still_retrying_after_its_send_date_is_sent_not_rejected(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given a message published a minute before its SendDate (eSMS reads SendDate in UTC+7)
    published = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    send_date = "2026-11-27 15:01:00"  # 08:01 UTC
    event = batch(deployment, "sender-eventbridge-wrapped.json", SendDate=send_date)
    event["Records"][0]["attributes"]["SentTimestamp"] = str(int(published.timestamp() * 1000))

    # When it is received (now: after its SendDate has passed, as after hours of retries)
    sender.invoke(event)

    # Then it is sent, with its SendDate, not rejected as "in the past"
    stored = item(aws, deployment, "eb-order-DH240888")
    assert stored is not None and stored["status"] == "ACCEPTED"
    assert [body["SendDate"] for body in esms.bodies] == [send_date]
