"""CallbackFunction invoked as API Gateway (HTTP API v2) invokes it, on moto."""

from __future__ import annotations

import copy
import io
import json
import re
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from local.aws.resources import LOCAL_CALLBACK_KEY
from local.runtime.lambda_runtime import function_output_to
from local.runtime.template import Resolver
from tests.conftest import EVENTS, TEMPLATE, LoadedFunction, load_event, load_function, secret_values
from tests.support.esms_stub import EsmsStub, Reply, accepted, refused
from zns_relay.models.callback import MAX_TEXT_CHARS
from zns_relay.models.state import CALLBACK_NONCE_CHARS, MessageRecord, MessageStatus
from zns_relay.reports.callback_url import SIGNATURE_CHARS, sign
from zns_relay.store.messages import MessageStore

REQUEST_ID = "order-DH240501-confirm"  # the message events/callback-*.json are signed for
DELIVERED_SMS_ID = "d8e0f1f0702544b2acb456ca9ccfd111250"
FAILED_SMS_ID = "f66545d2-c7e2-4603-984e-d2238c363c8292"
CHECK_AT = 4102444800
# The nonce of the message the sample events' URLs were made for (its item holds it: `accept`).
SAMPLE_NONCE = load_event("callback-delivered.json")["pathParameters"]["signature"][:CALLBACK_NONCE_CHARS]


@pytest.fixture
def store(aws: boto3.Session, deployment: Resolver) -> MessageStore:
    return MessageStore(deployment.ref("MessagesTable"), aws.client("dynamodb"))


def claim(store: MessageStore, request_id: str, fields: dict[str, Any] | None = None) -> None:
    """A message the sender claimed, holding the nonce its CallbackUrl was signed with: the sample
    events' (or `signature_for`'s)."""
    store.claim(
        request_id,
        {"phone": "0901888484", **(fields or {})},
        lease_seconds=30,
        check_at=CHECK_AT,
        keep_fields={"callback_nonce": SAMPLE_NONCE},
    )


def accept(
    store: MessageStore, request_id: str, sms_id: str | None, fields: dict[str, Any] | None = None
) -> None:
    """A message the sender sent and eSMS accepted (with no SMSID when eSMS answered 124)."""
    claim(store, request_id, fields)
    store.transition(
        request_id, MessageStatus.ACCEPTED, "accepted by eSMS", {"sms_id": sms_id}, check_at=CHECK_AT
    )


def status(store: MessageStore, request_id: str) -> str:
    record = store.get(request_id)
    assert record is not None
    return record.status.value


def scan(aws: boto3.Session, deployment: Resolver) -> list[dict[str, Any]]:
    table = aws.resource("dynamodb").Table(deployment.ref("MessagesTable"))
    items: list[dict[str, Any]] = table.scan(ConsistentRead=True)["Items"]
    return items


def callback_key(aws: boto3.Session, deployment: Resolver) -> bytes:
    return secret_values(aws, deployment, "CallbackKeySecret")["CallbackKey"].encode()


def signature_for(key: bytes, request_id: str) -> str:
    """The signature segment of the URL of a message `accept` made."""
    return sign(key, request_id, SAMPLE_NONCE)


def one_send(deployment: Resolver) -> dict[str, Any]:
    """The sample sender batch's first record alone (order-DH240501-confirm), as SendQueue delivers it."""
    event = load_event("sender-batch.json", queue_arn=deployment.get_att("SendQueue", "Arn"))
    event["Records"] = event["Records"][:1]
    return event


def on_url(event: dict[str, Any], callback_url: str, query: str | None = None) -> dict[str, Any]:
    """The event as API Gateway builds it for eSMS's GET on a CallbackUrl the sender gave it."""
    request_id, signature = callback_url.split("/")[-2:]
    return signed_for(event, request_id, signature, query)


def signed_for(
    event: dict[str, Any], request_id: str, signature: str, query: str | None = None
) -> dict[str, Any]:
    """The event as API Gateway builds it for /callbacks/esms/<request_id>/<signature>?<query>."""
    event = copy.deepcopy(event)
    path = f"/callbacks/esms/{request_id}/{signature}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"request_id": request_id, "signature": signature}
    if query is not None:
        event["rawQueryString"] = query
    return event


def with_query(event: dict[str, Any], query: str) -> dict[str, Any]:
    return signed_for(event, **event["pathParameters"], query=query)


def answer(response: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize(
    ("event_name", "sms_id", "expected"),
    [
        ("callback-delivered.json", DELIVERED_SMS_ID, "DELIVERED"),
        ("callback-failed-114.json", FAILED_SMS_ID, "FAILED"),
        ("callback-sent.json", DELIVERED_SMS_ID, "SENT"),
    ],
)
def test_documented_samples_move_the_message_their_url_names(
    callback: LoadedFunction, store: MessageStore, event_name: str, sms_id: str, expected: str
) -> None:
    # Given a message eSMS accepted under this SMSID
    accept(store, REQUEST_ID, sms_id)

    # When eSMS calls back with the documented GET on the message's signed URL
    code, body = answer(callback.invoke(load_event(event_name)))

    # Then it answers 200 and the message moved
    assert (code, body) == (200, {"result": "applied"})
    assert status(store, REQUEST_ID) == expected


def test_a_callback_logs_one_info_line(callback: LoadedFunction, store: MessageStore) -> None:
    # Given an accepted message
    accept(store, REQUEST_ID, DELIVERED_SMS_ID)

    # When its delivery report comes
    logged = io.StringIO()
    with function_output_to(logged):
        code, _ = answer(callback.invoke(load_event("callback-delivered.json")))

    # Then one INFO line says so (CloudWatch Logs bills every byte: two lines of the same news cost twice)
    lines = [json.loads(line) for line in logged.getvalue().splitlines() if line.startswith('{"level"')]
    assert code == 200
    assert [(line["level"], line["message"]) for line in lines] == [("INFO", "callback handled")]


def test_failed_sample_keeps_zalos_error_and_the_callback_fields(
    callback: LoadedFunction, store: MessageStore
) -> None:
    accept(store, REQUEST_ID, FAILED_SMS_ID)
    event = load_event("callback-failed-114.json")

    callback.invoke(event)

    record = store.get(REQUEST_ID)
    assert record is not None
    assert record.error == (
        "Zalo -114: User is inactive, or reject the message, or using an outdated Zalo version,"
        " or other internal errors"
    )
    assert record.check_at is None  # final: out of the reconciler's index
    last = record.history[-1]
    assert last.status == "FAILED"
    assert last.data is not None
    assert record.sms_id == FAILED_SMS_ID
    assert last.data["error_code"] == "-114"
    assert last.data["telco_id"] == "2"
    assert "sms_id" not in last.data and "source" not in last.data  # held by the item; a callback's
    assert event["pathParameters"]["signature"] not in json.dumps(record.model_dump())


def test_sent_then_delivered_then_late_sent_ends_delivered(
    callback: LoadedFunction, store: MessageStore
) -> None:
    accept(store, REQUEST_ID, DELIVERED_SMS_ID)

    results = [
        answer(callback.invoke(load_event(name)))[1]["result"]
        for name in (
            "callback-sent.json",
            "callback-delivered.json",
            "callback-sent.json",
            "callback-delivered.json",
        )
    ]

    assert results == ["applied", "applied", "unchanged", "unchanged"]
    record = store.get(REQUEST_ID)
    assert record is not None
    assert [entry.status for entry in record.history] == ["SENDING", "ACCEPTED", "SENT", "DELIVERED"]


def test_wrong_signature_is_forbidden_changes_nothing_and_is_never_logged(
    callback: LoadedFunction,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    accept(store, REQUEST_ID, DELIVERED_SMS_ID)
    before = scan(aws, deployment)
    good = load_event("callback-delivered.json")

    logged = io.StringIO()
    with function_output_to(logged):
        code, body = answer(callback.invoke(load_event("callback-bad-signature.json")))
        after_refusal = scan(aws, deployment)
        callback.invoke(good)  # a good one, to have its log lines too

    assert (code, body) == (403, {"message": "forbidden"})
    assert after_refusal == before
    output = logged.getvalue() + capsys.readouterr().out
    assert '"message":"callback refused: wrong, missing or malformed signature"' in output
    assert '"message":"callback handled"' in output
    assert good["pathParameters"]["signature"] not in output
    assert "AAAAAAAAAAAAAAAAAAAAAA" not in output


@pytest.mark.parametrize(
    "path",
    [
        "/callbacks/esms",
        "/callbacks/esms/",
        f"/callbacks/esms/{REQUEST_ID}",
        f"/callbacks/esms/{REQUEST_ID}/",
        f"/callbacks/esms/{REQUEST_ID}/tooshort",
        f"/callbacks/esms/{REQUEST_ID}/{'x' * 45}",
        f"/callbacks/esms/{REQUEST_ID}/{'!' * 44}",
        f"/callbacks/esms/{REQUEST_ID}/{SAMPLE_NONCE}",  # a nonce without its MAC
        f"/callbacks/esms/bad%20id/{'A' * 44}",
    ],
)
def test_missing_or_malformed_signature_is_forbidden(
    callback: LoadedFunction, store: MessageStore, path: str
) -> None:
    accept(store, REQUEST_ID, DELIVERED_SMS_ID)
    event = load_event("callback-delivered.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    parts = path.split("/")[3:]
    event["pathParameters"] = dict(zip(("request_id", "signature"), parts, strict=False))

    assert answer(callback.invoke(event))[0] == 403
    assert status(store, REQUEST_ID) == "ACCEPTED"


def test_a_callback_signed_for_one_message_cannot_change_another(
    callback: LoadedFunction, store: MessageStore, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given two accepted messages, and a URL eSMS was given for message A (leaked, say)
    accept(store, "message-a", "sms-a")
    accept(store, "message-b", "sms-b")
    signature_of_a = signature_for(callback_key(aws, deployment), "message-a")
    delivered = load_event("callback-delivered.json")

    # When someone presents A's signature with B's RequestId, with B's SMSID in the report
    code, _ = answer(
        callback.invoke(
            signed_for(delivered, "message-b", signature_of_a, "SMSID=sms-b&SendStatus=5&SendSuccess=1")
        )
    )

    # Then B is untouched; and A's own URL with B's report moves neither (only A's own report moves A)
    assert code == 403
    assert status(store, "message-b") == "ACCEPTED"
    code, _ = answer(
        callback.invoke(
            signed_for(delivered, "message-a", signature_of_a, "SMSID=sms-b&SendStatus=5&SendSuccess=1")
        )
    )
    assert code == 409
    assert (status(store, "message-a"), status(store, "message-b")) == ("ACCEPTED", "ACCEPTED")
    code, _ = answer(
        callback.invoke(
            signed_for(delivered, "message-a", signature_of_a, "SMSID=sms-a&SendStatus=5&SendSuccess=1")
        )
    )
    assert code == 200
    assert (status(store, "message-a"), status(store, "message-b")) == ("DELIVERED", "ACCEPTED")


def test_a_url_signed_with_the_previous_key_still_applies_during_rotation(
    callback: LoadedFunction,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an operator who rotated the key, keeping the old one as PreviousCallbackKey
    secrets = aws.client("secretsmanager")
    arn = deployment.ref("CallbackKeySecret")
    old = secret_values(aws, deployment, "CallbackKeySecret")["CallbackKey"]
    secrets.put_secret_value(
        SecretId=arn, SecretString=json.dumps({"CallbackKey": "a-new-key-value", "PreviousCallbackKey": old})
    )
    fresh = load_function("CallbackFunction", deployment, monkeypatch, {})
    accept(store, REQUEST_ID, DELIVERED_SMS_ID)
    accept(store, "sent-after-rotation", "sms-new")

    # When callbacks arrive on URLs signed before the rotation, and after it
    old_code, _ = answer(fresh.invoke(load_event("callback-delivered.json")))
    new_signature = signature_for(b"a-new-key-value", "sent-after-rotation")
    new_event = signed_for(
        load_event("callback-delivered.json"),
        "sent-after-rotation",
        new_signature,
        "SMSID=sms-new&SendStatus=5&SendSuccess=1",
    )
    new_code, _ = answer(fresh.invoke(new_event))

    # Then both are applied
    assert (old_code, new_code) == (200, 200)
    assert status(store, REQUEST_ID) == status(store, "sent-after-rotation") == "DELIVERED"


def test_a_key_rotated_after_the_function_started_is_picked_up(
    callback: LoadedFunction, store: MessageStore, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given a running function that cached the old key, then a rotation
    callback.invoke(load_event("callback-sent.json"))
    aws.client("secretsmanager").put_secret_value(
        SecretId=deployment.ref("CallbackKeySecret"), SecretString=json.dumps({"CallbackKey": "rotated-key"})
    )
    accept(store, "after-rotation", "sms-r")
    event = signed_for(
        load_event("callback-delivered.json"),
        "after-rotation",
        signature_for(b"rotated-key", "after-rotation"),
        "SMSID=sms-r&SendStatus=5&SendSuccess=1",
    )

    # Then a URL signed with the new key is accepted (the secret is re-read on a mismatch)
    assert answer(callback.invoke(event))[0] == 200


def test_a_signed_callback_for_a_message_we_do_not_have_is_404_and_creates_nothing(
    callback: LoadedFunction, aws: boto3.Session, deployment: Resolver
) -> None:
    code, body = answer(callback.invoke(load_event("callback-delivered.json")))

    assert (code, body) == (404, {"message": "no such message"})
    assert scan(aws, deployment) == []


def send_timing_out(sender: LoadedFunction, esms: EsmsStub, deployment: Resolver) -> dict[str, Any]:
    """The sample send, which eSMS accepts but answers only after the sender's read timeout; its event."""
    event = one_send(deployment)
    esms.responder = lambda body: Reply(hang=True)
    sender.invoke(event)
    return event


def test_a_callback_proves_acceptance_and_moves_a_message_still_retrying(
    callback: LoadedFunction,
    sender: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    deployment: Resolver,
) -> None:
    # Given a send that timed out (eSMS did accept it), so the message waits to be retried
    event = send_timing_out(sender, esms, deployment)
    assert status(store, REQUEST_ID) == "RETRYING"

    # When its delivery report arrives on the URL the sender gave eSMS
    code, _ = answer(
        callback.invoke(on_url(load_event("callback-delivered.json"), esms.bodies[0]["CallbackUrl"]))
    )

    # Then it is DELIVERED with the SMSID the report names, and the next receive sends nothing more
    assert code == 200
    record = store.get(REQUEST_ID)
    assert record is not None
    assert (record.status, record.sms_id, record.error) == (MessageStatus.DELIVERED, DELIVERED_SMS_ID, None)
    esms.responder = lambda body: accepted("must-not-happen")
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "2"
    sender.invoke(event)
    assert esms.sends_for(REQUEST_ID) == 1


def test_a_sent_callback_on_a_retrying_message_sets_its_first_look_from_now(
    callback: LoadedFunction,
    sender: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    deployment: Resolver,
) -> None:
    # Given a send that timed out (eSMS did accept it): RETRYING, looked at only after its retry window
    send_timing_out(sender, esms, deployment)
    retrying = store.get(REQUEST_ID)
    assert retrying is not None and retrying.status is MessageStatus.RETRYING and retrying.check_at

    # When eSMS's SendStatus 7 arrives, and its final report is then lost
    sent_at = int(time.time())
    code, _ = answer(callback.invoke(on_url(load_event("callback-sent.json"), esms.bodies[0]["CallbackUrl"])))

    # Then it is SENT, and the reconciler looks at it ReconcileAfterMinutes from now (as for any accepted
    # message), not at the retry window's end
    assert code == 200
    record = store.get(REQUEST_ID)
    assert record is not None and record.status is MessageStatus.SENT
    first_look = int(TEMPLATE.parameter_defaults()["ReconcileAfterMinutes"]) * 60
    assert record.check_at is not None
    assert sent_at + first_look <= record.check_at <= int(time.time()) + first_look < retrying.check_at


def test_a_callback_that_beats_the_senders_own_write_wins(
    callback: LoadedFunction,
    sender: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    deployment: Resolver,
) -> None:
    # Given eSMS calling back before it answers the send (the message is still SENDING)
    def deliver_then_answer(body: dict[str, Any]) -> Reply:
        event = on_url(load_event("callback-delivered.json"), body["CallbackUrl"])
        assert answer(callback.invoke(event))[0] == 200
        return accepted(DELIVERED_SMS_ID)

    esms.responder = deliver_then_answer
    event = one_send(deployment)

    response = sender.invoke(event)

    # Then the sender's later ACCEPTED does not move it back: it stays DELIVERED, and SQS is done with it
    assert response["batchItemFailures"] == []
    record = store.get(REQUEST_ID)
    assert record is not None
    assert record.status is MessageStatus.DELIVERED
    assert [entry.status for entry in record.history] == ["SENDING", "DELIVERED"]


def test_a_callback_cannot_teach_an_smsid_to_a_message_accepted_through_a_retrys_124(
    callback: LoadedFunction,
    sender: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    # Given a first attempt whose answer was lost, and a retry that hears 124 (no SMSID in it)
    event = one_send(deployment)
    esms.responder = lambda body: Reply(drop=True)
    sender.invoke(event)
    esms.responder = lambda body: refused("124", "Request exist 1")
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "2"
    sender.invoke(event)
    record = store.get(REQUEST_ID)
    assert record is not None and (record.status, record.sms_id) == (MessageStatus.ACCEPTED, None)
    before = scan(aws, deployment)

    # When its URL (leaked: GetCallback echoes it) brings a forged report with an invented SMSID, and
    # then eSMS's own callback comes on it (eSMS's callbacks leave RequestId empty: the URL names it)
    [url] = {body["CallbackUrl"] for body in esms.bodies}
    invented = "SMSID=invented&SendStatus=5&SendFailed=1&TypeId=25"
    forged = on_url(load_event("callback-sent.json"), url, invented)
    genuine = on_url(load_event("callback-delivered.json"), url)
    answers = [answer(callback.invoke(forged)), answer(callback.invoke(genuine))]

    # Then neither pins an SMSID nor moves it: both get a prompt 2xx (eSMS retries only on timeouts),
    # and the reconciler finds its SMSID in eSMS's list of sent messages (test_reconciler.py)
    assert answers == [(202, {"result": "left to the reconciler"})] * 2
    assert scan(aws, deployment) == before


def test_a_callback_on_a_retrying_message_teaches_its_smsid_and_later_reports_must_match_it(
    callback: LoadedFunction, store: MessageStore
) -> None:
    # Given a message whose send timed out (RETRYING: eSMS may hold it, and its answer is unrecorded)
    claim(store, REQUEST_ID)
    store.transition(REQUEST_ID, MessageStatus.RETRYING, "timeout", check_at=CHECK_AT)

    # When eSMS's SENT report comes (the race of a send: its callback before our record of its answer)
    sent = answer(callback.invoke(load_event("callback-sent.json")))

    # Then the message learns the SMSID; a report naming another one no longer applies
    other = with_query(load_event("callback-sent.json"), "SMSID=another-one&SendStatus=5&SendSuccess=1")
    assert (sent, answer(callback.invoke(other))[0]) == ((200, {"result": "applied"}), 409)
    record = store.get(REQUEST_ID)
    assert record is not None
    assert (record.status, record.sms_id) == (MessageStatus.SENT, DELIVERED_SMS_ID)


@pytest.mark.parametrize(
    ("report", "expected"),
    [("SendStatus=1", "ACCEPTED"), ("SendStatus=2", "ACCEPTED"), ("SendStatus=9", "ACCEPTED")],
)
def test_a_pending_report_proves_acceptance_without_deciding_the_outcome(
    callback: LoadedFunction, store: MessageStore, report: str, expected: str
) -> None:
    claim(store, REQUEST_ID)

    code, body = answer(callback.invoke(with_query(load_event("callback-sent.json"), f"SMSID=s-1&{report}")))
    again = answer(callback.invoke(with_query(load_event("callback-sent.json"), f"SMSID=s-1&{report}")))

    assert (code, body, again) == (200, {"result": "applied"}, (200, {"result": "noted"}))
    record = store.get(REQUEST_ID)
    assert record is not None
    assert (record.status.value, record.sms_id) == (expected, "s-1")
    assert record.check_at is not None  # still waiting for its outcome


@pytest.mark.parametrize(
    ("query", "expected_code"),
    [
        ("SendStatus=5&SendSuccess=1", 400),  # no SMSID
        ("SMSID=&SendStatus=5", 400),
        ("SMSID=abc%20def&SendStatus=5", 400),
        ("SMSID=abc&SendStatus=done", 400),
        ("SMSID=%FF%FE%00&SendStatus=5", 400),
        ("SMSID=abc&SendStatus=5&SendSuccess=%F0%9F%92%A5&TotalPrice=NaN&telcoid=", 200),
        ("SMSID=abc&" + "x=1&" * 100, 400),
        ("SMSID=abc&SendStatus=5&error_info=" + "A" * 20000, 413),
        ("%%%&&&===", 400),
        ("", 400),
    ],
    ids=[
        "no-smsid",
        "blank-smsid",
        "space-smsid",
        "word-status",
        "odd-bytes",
        "garbage-numbers",
        "many-fields",
        "too-long",
        "junk",
        "empty",
    ],
)
def test_malformed_callbacks_get_a_4xx_or_a_safe_no_op(
    callback: LoadedFunction,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
    query: str,
    expected_code: int,
) -> None:
    accept(store, REQUEST_ID, "abc")
    before = scan(aws, deployment)

    code, _ = answer(callback.invoke(with_query(load_event("callback-delivered.json"), query)))

    assert code == expected_code
    if code != 200:
        assert scan(aws, deployment) == before
    assert status(store, REQUEST_ID) == "ACCEPTED"


def test_only_get_is_routed_as_esms_calls_back(callback: LoadedFunction, store: MessageStore) -> None:
    accept(store, REQUEST_ID, DELIVERED_SMS_ID)
    event = load_event("callback-delivered.json")
    event["requestContext"]["http"]["method"] = "POST"
    event["body"] = json.dumps({"SMSID": DELIVERED_SMS_ID, "SendStatus": "5", "SendSuccess": "1"})

    assert answer(callback.invoke(event))[0] in (403, 404, 405)
    assert status(store, REQUEST_ID) == "ACCEPTED"


# Each message gets a run of eSMS reports; whatever order and repetition they arrive in, the end
# state must be the one the ordered run gives.
RUNS = {
    "delivered": ["SendStatus=7&SendSuccess=0", "SendStatus=5&SendSuccess=1&SendFailed=0"],
    "failed": [
        "SendStatus=2",
        "SendStatus=7",
        "SendStatus=5&SendSuccess=0&SendFailed=1&error_info=%7B%22error%22%3A-118%7D",
    ],
    "rejected": ["SendStatus=1", "SendStatus=4"],
}


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    run=st.sampled_from(sorted(RUNS)),
    order=st.lists(st.integers(min_value=0, max_value=2), min_size=1, max_size=8),
)
def test_any_order_and_repetition_of_callbacks_ends_in_the_ordered_state(
    callback: LoadedFunction,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
    run: str,
    order: list[int],
) -> None:
    steps = RUNS[run]
    arrivals = [steps[index % len(steps)] for index in order] + steps  # every report arrives at least once
    key = callback_key(aws, deployment)
    finals = {}
    for label, sequence in (("ordered", steps), ("shuffled", arrivals)):
        sms_id = f"{label}-{uuid.uuid4().hex}"
        request_id = f"r-{sms_id}"
        accept(store, request_id, sms_id)
        for query in sequence:
            event = signed_for(
                load_event("callback-delivered.json"),
                request_id,
                signature_for(key, request_id),
                f"SMSID={sms_id}&{query}",
            )
            assert callback.invoke(event)["statusCode"] == 200
        finals[label] = status(store, request_id)
    assert finals["shuffled"] == finals["ordered"]


def test_callback_that_cannot_be_written_is_kept_in_the_log_without_the_signature(
    callback: LoadedFunction, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given DynamoDB failing (here: the table is gone)
    aws.client("dynamodb").delete_table(TableName=deployment.ref("MessagesTable"))
    event = load_event("callback-delivered.json")
    logged = io.StringIO()

    with function_output_to(logged):
        code, _ = answer(callback.invoke(event))

    # Then the answer says so, and the callback's fields can be replayed from the log
    assert code == 503
    [line] = [json.loads(text) for text in logged.getvalue().splitlines() if "callback not recorded" in text]
    assert line["callback"]["SMSID"] == DELIVERED_SMS_ID
    assert line["callback"]["SendStatus"] == "5"
    assert line["correlation_id"] == REQUEST_ID
    assert event["pathParameters"]["signature"] not in logged.getvalue()


def test_a_reused_request_ids_old_url_cannot_move_the_new_message(
    callback: LoadedFunction,
    sender: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
) -> None:
    # Given a message sent and accepted, whose item then expired (TTL), and a new message sent under
    # the same RequestId (eSMS gives both the same SMSID here: the report cannot tell them apart)
    event = one_send(deployment)
    sender.invoke(event)
    aws.client("dynamodb").delete_item(
        TableName=deployment.ref("MessagesTable"), Key={"request_id": {"S": REQUEST_ID}}
    )
    sender.invoke(event)
    old_url, new_url = (body["CallbackUrl"] for body in esms.bodies)
    before = scan(aws, deployment)

    # When a report arrives on the first message's URL (leaked, say), naming the new one's SMSID
    query = f"SMSID=sms-{REQUEST_ID}&SendStatus=5&SendSuccess=1&TypeId=25"
    code, body = answer(callback.invoke(on_url(load_event("callback-delivered.json"), old_url, query)))

    # Then it is refused and changes nothing; the new message's own URL still works
    assert old_url != new_url
    assert (code, body) == (403, {"message": "forbidden"})
    assert scan(aws, deployment) == before
    assert answer(callback.invoke(on_url(load_event("callback-delivered.json"), new_url, query)))[0] == 200
    assert status(store, REQUEST_ID) == "DELIVERED"


@pytest.mark.parametrize(
    ("channel", "query"),
    [
        ("zns", "SMSID=another-message&SendStatus=5&SendSuccess=1&TypeId=25"),
        ("zns", "SMSID=another-message&SendStatus=2&TypeId=25"),  # a pending one (a history note)
        ("zns", f"SMSID={DELIVERED_SMS_ID}&SendStatus=5&SendSuccess=1&TypeId=2"),  # an SMS report
        ("zns", f"SMSID={DELIVERED_SMS_ID}&SendStatus=5&SendSuccess=1&TypeId=23"),  # a Viber report
        ("zns", f"SMSID={DELIVERED_SMS_ID}&SendStatus=5&SendFailed=1&TypeId=1"),  # an advertising SMS
        ("sms", f"SMSID={DELIVERED_SMS_ID}&SendStatus=5&SendFailed=1&TypeId=25"),  # a ZNS report
    ],
    ids=["other-smsid", "other-smsid-pending", "sms-typeid", "viber-typeid", "advert-typeid", "zns-on-sms"],
)
def test_a_report_that_is_not_the_messages_changes_nothing_and_gets_409(
    callback: LoadedFunction,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
    channel: str,
    query: str,
) -> None:
    # Given a message of this channel, accepted under its SMSID
    accept(store, REQUEST_ID, DELIVERED_SMS_ID, {"channel": channel})
    before = scan(aws, deployment)

    # When its own signed URL brings a report of another message or another channel
    code, body = answer(callback.invoke(with_query(load_event("callback-delivered.json"), query)))

    # Then eSMS hears a prompt 409 (it retries only on timeouts) and the table is as it was
    assert (code, body) == (409, {"message": "the report is not about the message its URL names"})
    assert scan(aws, deployment) == before


def test_report_text_is_stored_without_control_characters_and_bounded(
    callback: LoadedFunction, store: MessageStore
) -> None:
    # Given an accepted message, and a report whose text fields carry terminal escapes and run long
    accept(store, REQUEST_ID, FAILED_SMS_ID)
    escape = "\x1b]0;owned\x07\x1b[2J\x9b31m"
    zalo_error = json.dumps({"error": -114, "message": f"User is inactive{escape}\u0085" + "x" * 900})
    query = urlencode(
        {
            "SMSID": FAILED_SMS_ID,
            "SendStatus": "5",
            "SendFailed": "1",
            "TypeId": "25",
            "phonenumber": f"0901888484{escape}",
            "partnerids": "\x00\x1f" + "p" * 2000,
            "error_info": zalo_error,
        }
    )

    # When it arrives
    code, _ = answer(callback.invoke(with_query(load_event("callback-failed-114.json"), query)))

    # Then what is stored (the error, the history's detail and data) has no control character and is
    # bounded
    assert code == 200
    record = store.get(REQUEST_ID)
    assert record is not None and record.status is MessageStatus.FAILED
    last = record.history[-1]
    assert last.data is not None
    stored = [record.error or "", last.detail, *map(str, last.data.values())]
    assert not [text for text in stored if re.search(r"[\x00-\x1f\x7f-\x9f]", text)]
    assert max(map(len, stored)) <= MAX_TEXT_CHARS + len("Zalo -114: ")
    assert (record.error or "").startswith("Zalo -114: User is inactive ]0;owned [2J 31m xxx")
    assert last.data["partner_ids"].startswith("p" * 10)


def test_a_fault_in_the_core_is_a_5xx_not_a_bad_request(
    callback: LoadedFunction, store: MessageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bug in the core that raises a ValueError (here a pydantic ValidationError)
    accept(store, REQUEST_ID, DELIVERED_SMS_ID)

    def broken(*args: object, **kwargs: object) -> None:
        MessageRecord.model_validate({"status": "NOT A STATUS"})

    monkeypatch.setattr(callback.module.reports, "apply", broken)

    # Then the invocation fails (API Gateway answers 500, which Callback5xxAlarm counts), not a 400
    with pytest.raises(ValidationError):
        callback.invoke(load_event("callback-delivered.json"))


def test_the_sample_events_are_signed_for_their_message_with_the_local_key() -> None:
    """events/callback-*.json (for `sam local invoke` and these tests) carry URLs the local stack's
    callback key signed, for REQUEST_ID and SAMPLE_NONCE; a bad-signature sample, a forged one."""
    expected = sign(LOCAL_CALLBACK_KEY.encode(), REQUEST_ID, SAMPLE_NONCE)
    for path in sorted(EVENTS.glob("callback-*.json")):
        event = json.loads(path.read_text())
        signature = "A" * SIGNATURE_CHARS if path.name == "callback-bad-signature.json" else expected
        url_path = f"/callbacks/esms/{REQUEST_ID}/{signature}"
        assert event["pathParameters"] == {"request_id": REQUEST_ID, "signature": signature}, path.name
        assert event["rawPath"] == event["requestContext"]["http"]["path"] == url_path, path.name
