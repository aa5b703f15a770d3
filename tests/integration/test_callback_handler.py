"""CallbackFunction invoked as API Gateway (HTTP API v2) invokes it, on moto."""

from __future__ import annotations

import copy
import io
import json
import uuid
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.lambda_runtime import function_output_to
from local.template import Resolver
from tests.conftest import LoadedFunction, load_event, load_function
from tests.support.esms_stub import EsmsStub, accepted
from zns_relay.models.state import MessageStatus
from zns_relay.store.messages import MessageStore
from zns_relay.store.parking import ParkedCallbacks

DELIVERED_SMS_ID = "d8e0f1f0702544b2acb456ca9ccfd111250"
FAILED_SMS_ID = "f66545d2-c7e2-4603-984e-d2238c363c8292"


@pytest.fixture
def store(aws: boto3.Session, deployment: Resolver) -> MessageStore:
    return MessageStore(deployment.ref("MessagesTable"), aws.client("dynamodb"))


def accept(store: MessageStore, request_id: str, sms_id: str) -> None:
    """A message the sender sent and eSMS accepted."""
    store.claim(request_id, {"phone": "0901888484"}, lease_seconds=30)
    store.transition(request_id, MessageStatus.ACCEPTED, "accepted by eSMS", {"sms_id": sms_id})


def status(store: MessageStore, request_id: str) -> str:
    record = store.get(request_id)
    assert record is not None
    return record.status.value


def scan(aws: boto3.Session, deployment: Resolver) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for table in ("MessagesTable", "CallbacksTable"):
        items += aws.resource("dynamodb").Table(deployment.ref(table)).scan(ConsistentRead=True)["Items"]
    return items


def with_query(event: dict[str, Any], query: str) -> dict[str, Any]:
    event = copy.deepcopy(event)
    event["rawQueryString"] = query
    return event


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
def test_documented_samples_move_their_message(
    callback: LoadedFunction, store: MessageStore, event_name: str, sms_id: str, expected: str
) -> None:
    # Given a message eSMS accepted under this SMSID
    accept(store, "order-1", sms_id)

    # When eSMS calls back with the documented GET
    code, body = answer(callback.invoke(load_event(event_name)))

    # Then it answers 200 and the message moved
    assert (code, body) == (200, {"result": "applied"})
    assert status(store, "order-1") == expected


def test_failed_sample_keeps_zalos_error_and_the_callback_fields(
    callback: LoadedFunction, store: MessageStore
) -> None:
    accept(store, "order-1", FAILED_SMS_ID)

    callback.invoke(load_event("callback-failed-114.json"))

    record = store.get("order-1")
    assert record is not None
    assert record.error == (
        "Zalo -114: User is inactive, or reject the message, or using an outdated Zalo version,"
        " or other internal errors"
    )
    last = record.history[-1]
    assert last.status == "FAILED"
    assert last.data is not None
    assert last.data["sms_id"] == FAILED_SMS_ID
    assert last.data["error_code"] == "-114"
    assert last.data["telco_id"] == "2"
    assert "local-callback-token" not in json.dumps(record.model_dump())


def test_sent_then_delivered_then_late_sent_ends_delivered(
    callback: LoadedFunction, store: MessageStore
) -> None:
    accept(store, "order-1", DELIVERED_SMS_ID)

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
    record = store.get("order-1")
    assert record is not None
    assert [entry.status for entry in record.history] == ["SENDING", "ACCEPTED", "SENT", "DELIVERED"]


def test_wrong_token_is_forbidden_and_changes_nothing(
    callback: LoadedFunction,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    accept(store, "order-1", DELIVERED_SMS_ID)
    before = scan(aws, deployment)

    logged = io.StringIO()
    with function_output_to(logged):
        code, body = answer(callback.invoke(load_event("callback-bad-token.json")))
        after_refusal = scan(aws, deployment)
        callback.invoke(load_event("callback-delivered.json"))  # a good one, to have its log lines too

    assert (code, body) == (403, {"message": "forbidden"})
    assert after_refusal == before
    output = logged.getvalue() + capsys.readouterr().out
    assert '"message":"callback refused: wrong or missing token"' in output
    assert '"message":"callback handled"' in output
    assert "not-the-callback-token" not in output
    assert "local-callback-token" not in output


@pytest.mark.parametrize("path", ["/callbacks/esms", "/callbacks/esms/"])
def test_missing_token_is_forbidden(callback: LoadedFunction, path: str) -> None:
    event = load_event("callback-delivered.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {}

    assert answer(callback.invoke(event))[0] == 403


def test_previous_token_still_works_during_rotation(
    callback: LoadedFunction,
    store: MessageStore,
    aws: boto3.Session,
    deployment: Resolver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an operator who rotated the token, keeping the old one as PreviousCallbackToken
    secrets = aws.client("secretsmanager")
    arn = deployment.ref("EsmsSecret")
    values = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    rotated = {**values, "CallbackToken": "new-token-value", "PreviousCallbackToken": values["CallbackToken"]}
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps(rotated))
    fresh = load_function("CallbackFunction", deployment, monkeypatch, {})
    accept(store, "order-1", DELIVERED_SMS_ID)

    # When callbacks arrive with the old token (messages sent before the rotation)
    code, _ = answer(fresh.invoke(load_event("callback-delivered.json")))

    # Then they are applied
    assert code == 200
    assert status(store, "order-1") == "DELIVERED"


def test_unknown_sms_id_is_parked_not_applied(
    callback: LoadedFunction, store: MessageStore, aws: boto3.Session, deployment: Resolver
) -> None:
    code, body = answer(callback.invoke(load_event("callback-delivered.json")))

    assert (code, body) == (200, {"result": "parked"})
    messages = aws.resource("dynamodb").Table(deployment.ref("MessagesTable")).scan()["Items"]
    assert messages == []
    table = aws.resource("dynamodb").Table(deployment.ref("CallbacksTable"))
    parked: Any = table.get_item(Key={"sms_id": DELIVERED_SMS_ID})["Item"]
    assert parked["reports"][0]["params"]["SendStatus"] == "5"


def test_early_callback_is_applied_when_the_sender_records_the_sms_id(
    callback: LoadedFunction,
    sender: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    deployment: Resolver,
) -> None:
    # Given a delivery report that beat the sender's write
    answer(callback.invoke(load_event("callback-delivered.json")))
    esms.responder = lambda body: accepted(DELIVERED_SMS_ID)

    # When the sender records the SMSID eSMS gave it
    event = load_event("sender-eventbridge-wrapped.json", queue_arn=deployment.get_att("SendQueue", "Arn"))
    sender.invoke(event)

    # Then the parked report is applied at once
    assert status(store, "eb-order-DH240888") == "DELIVERED"


def test_parked_callback_outside_its_window_is_never_applied(
    callback: LoadedFunction,
    sender: LoadedFunction,
    esms: EsmsStub,
    store: MessageStore,
    deployment: Resolver,
    aws: boto3.Session,
) -> None:
    answer(callback.invoke(load_event("callback-delivered.json")))
    table = aws.resource("dynamodb").Table(deployment.ref("CallbacksTable"))
    table.update_item(
        Key={"sms_id": DELIVERED_SMS_ID},
        UpdateExpression="SET apply_until = :past",
        ExpressionAttributeValues={":past": 1},
    )
    esms.responder = lambda body: accepted(DELIVERED_SMS_ID)

    sender.invoke(
        load_event("sender-eventbridge-wrapped.json", queue_arn=deployment.get_att("SendQueue", "Arn"))
    )

    assert status(store, "eb-order-DH240888") == "ACCEPTED"


def test_sandbox_or_unsent_message_is_never_moved_by_a_callback(
    callback: LoadedFunction, store: MessageStore
) -> None:
    # A message still SENDING (or RETRYING) was not accepted by eSMS: a callback cannot be about it
    store.claim("order-1", {"phone": "0901888484", "sms_id": DELIVERED_SMS_ID}, lease_seconds=30)

    code, body = answer(callback.invoke(load_event("callback-delivered.json")))

    assert code == 200
    assert body["result"] == "unchanged"
    assert status(store, "order-1") == "SENDING"


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
    accept(store, "order-1", "abc")
    before = scan(aws, deployment)

    code, _ = answer(callback.invoke(with_query(load_event("callback-delivered.json"), query)))

    assert code == expected_code
    if code != 200:
        assert scan(aws, deployment) == before
    assert status(store, "order-1") == "ACCEPTED"


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/json"])
def test_post_with_the_fields_in_the_body_is_applied(
    callback: LoadedFunction, store: MessageStore, content_type: str
) -> None:
    accept(store, "order-1", DELIVERED_SMS_ID)
    fields = {"SMSID": DELIVERED_SMS_ID, "SendStatus": "5", "SendSuccess": "1", "SendFailed": "0"}
    event = with_query(load_event("callback-delivered.json"), "")
    event["requestContext"]["http"]["method"] = "POST"
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST /callbacks/esms/{token}"
    event["headers"]["content-type"] = content_type
    event["body"] = json.dumps(fields) if content_type == "application/json" else urlencode(fields)

    code, _ = answer(callback.invoke(event))

    assert code == 200
    assert status(store, "order-1") == "DELIVERED"


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


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    run=st.sampled_from(sorted(RUNS)),
    order=st.lists(st.integers(min_value=0, max_value=2), min_size=1, max_size=8),
)
def test_any_order_and_repetition_of_callbacks_ends_in_the_ordered_state(
    callback: LoadedFunction, store: MessageStore, run: str, order: list[int]
) -> None:
    steps = RUNS[run]
    arrivals = [steps[index % len(steps)] for index in order] + steps  # every report arrives at least once
    finals = {}
    for label, sequence in (("ordered", steps), ("shuffled", arrivals)):
        sms_id = f"{label}-{uuid.uuid4().hex}"
        request_id = f"r-{sms_id}"
        accept(store, request_id, sms_id)
        for query in sequence:
            response = callback.invoke(
                with_query(load_event("callback-delivered.json"), f"SMSID={sms_id}&{query}")
            )
            assert response["statusCode"] == 200
        finals[label] = status(store, request_id)
    assert finals["shuffled"] == finals["ordered"]


def test_callback_meets_the_senders_link_even_when_the_index_lags(
    callback: LoadedFunction, store: MessageStore, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given a message the sender linked to its SMSID, but which the sms_id index does not show yet
    store.claim("order-1", {"phone": "0901888484"}, lease_seconds=30)
    store.transition("order-1", MessageStatus.ACCEPTED, "accepted by eSMS")  # no sms_id: index misses it
    parked = ParkedCallbacks(deployment.ref("CallbacksTable"), aws.client("dynamodb"), 3600, 30)
    assert parked.link(DELIVERED_SMS_ID, "order-1") == []

    # When the callback arrives
    code, body = answer(callback.invoke(load_event("callback-delivered.json")))

    # Then it is applied through the link, not left parked
    assert (code, body) == (200, {"result": "applied"})
    assert status(store, "order-1") == "DELIVERED"


def test_callback_that_cannot_be_written_is_kept_in_the_log_without_the_token(
    callback: LoadedFunction, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given DynamoDB failing (here: the table is gone)
    aws.client("dynamodb").delete_table(TableName=deployment.ref("MessagesTable"))
    logged = io.StringIO()

    with function_output_to(logged):
        code, _ = answer(callback.invoke(load_event("callback-delivered.json")))

    # Then the answer says so, and the callback's fields can be replayed from the log
    assert code == 503
    [line] = [json.loads(text) for text in logged.getvalue().splitlines() if "callback not recorded" in text]
    assert line["callback"]["SMSID"] == DELIVERED_SMS_ID
    assert line["callback"]["SendStatus"] == "5"
    assert "local-callback-token" not in logged.getvalue()


def test_callback_naming_its_request_id_finds_a_message_whose_sms_id_was_never_learnt(
    callback: LoadedFunction, store: MessageStore
) -> None:
    # Given a message accepted through a retry's 124: eSMS never told us its SMSID
    store.claim("order-1", {"phone": "0901888484"}, lease_seconds=30)
    store.transition(
        "order-1", MessageStatus.ACCEPTED, "eSMS already holds this RequestId", {"esms_code": "124"}
    )
    query = load_event("callback-delivered.json")["rawQueryString"].replace(
        "RequestId=&", "RequestId=order-1&"
    )

    # When a callback names the RequestId
    code, body = answer(callback.invoke(with_query(load_event("callback-delivered.json"), query)))

    # Then it is applied, and the SMSID is learnt for the callbacks after it
    assert (code, body) == (200, {"result": "applied"})
    record = store.get("order-1")
    assert record is not None
    assert record.status is MessageStatus.DELIVERED
    assert record.sms_id == DELIVERED_SMS_ID


def test_callback_cannot_take_over_a_message_that_has_another_sms_id(
    callback: LoadedFunction, store: MessageStore
) -> None:
    accept(store, "order-1", "some-other-sms-id")
    query = load_event("callback-delivered.json")["rawQueryString"].replace(
        "RequestId=&", "RequestId=order-1&"
    )

    code, body = answer(callback.invoke(with_query(load_event("callback-delivered.json"), query)))

    assert (code, body) == (200, {"result": "parked"})
    assert status(store, "order-1") == "ACCEPTED"
