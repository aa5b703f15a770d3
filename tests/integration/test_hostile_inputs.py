"""Thousands of random bodies and callback requests through the real handlers (on moto): every body
ends REJECTED or sent, every callback is answered 2xx or 4xx, and no item grows past 100 KB."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.runtime.template import Resolver
from tests.conftest import LoadedFunction, load_event, secret_values
from tests.support.esms_stub import EsmsStub
from zns_relay.models.contract import rejection_key
from zns_relay.reports.callback_url import sign

MAX_ITEM_BYTES = 100_000
DONE = {"REJECTED", "ACCEPTED", "EXPIRED"}
ORDER_1_NONCE = "order-1-nonce-22-chars"  # the nonce of order-1's CallbackUrl (its item holds it)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=150), children, max_size=5)
    ),
    max_leaves=25,
)
nearly_valid = st.fixed_dictionaries(
    {
        "Phone": st.sampled_from(
            ["0901888484", "+84 90 188 8484", "09\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667"]
        )
        | st.text(max_size=30),
        "TempID": st.sampled_from(["2056446", "\u0661\u0662"]) | st.text(max_size=25),
        "TempData": st.dictionaries(st.text(max_size=300), st.text(max_size=700), max_size=50) | json_values,
    },
    optional={
        "RequestId": st.text(alphabet="abcXYZ019._:-", min_size=1, max_size=60) | st.text(max_size=60),
        "SendDate": st.sampled_from(["2026-12-30 08:00:00", "2020-01-01 08:00:00", "2099-01-01 00:00:00"])
        | st.text(max_size=30),
        "ValidUntil": st.sampled_from(["2026-01-01T00:00:00+07:00", "2030-01-01T00:00:00Z"])
        | st.text(max_size=40),
        "campaignid": st.text(max_size=400),
        "Sandbox": st.sampled_from(["0", "1", 1, None]),
        "OAID": st.text(max_size=80),
        "Extra": json_values,
    },
)
bodies = st.one_of(
    nearly_valid.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=500),
    st.integers(min_value=1_000, max_value=25_000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(min_value=1_000, max_value=25_000).map(
        lambda depth: '{"TempData":' * depth + "1" + "}" * depth
    ),
    st.sampled_from([70_000, 250_000]).map(
        lambda size: json.dumps({"Phone": "0901888484", "TempID": "1", "TempData": {"k" * size: "v"}})
    ),
)


def stored(aws: boto3.Session, deployment: Resolver, request_id: str) -> tuple[str, int] | None:
    """The item's status and size (as JSON), or None."""
    table = aws.resource("dynamodb").Table(deployment.ref("MessagesTable"))
    item = table.get_item(Key={"request_id": request_id}).get("Item") if request_id else None
    return (str(item["status"]), len(json.dumps(item, default=str))) if item else None


def recorded_under(record: dict[str, Any]) -> list[str]:
    """Where a record's message may be: its RequestId (if it has a string one) or the key derived from
    one that breaks the rule, or its SQS messageId."""
    try:
        document = json.loads(record["body"])
    except (ValueError, RecursionError):
        return [record["messageId"]]
    request_id = document.get("RequestId") if isinstance(document, dict) else None
    given = [request_id, rejection_key(request_id)] if isinstance(request_id, str) and request_id else []
    return [*given, record["messageId"]]


@settings(
    max_examples=250,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(batch=st.lists(bodies, min_size=1, max_size=10))
def test_every_body_ends_rejected_or_sent_and_no_item_grows_unbounded(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver, batch: list[str]
) -> None:
    template = load_event("sender-batch.json", queue_arn=deployment.get_att("SendQueue", "Arn"))["Records"][0]
    records = []
    for body in batch:
        record = copy.deepcopy(template)
        record["messageId"] = str(uuid.uuid4())
        record["body"] = body
        records.append(record)

    response = sender.invoke({"Records": records})

    # Nothing is handed back (eSMS accepts every valid send here): each body is REJECTED or sent
    assert response["batchItemFailures"] == []
    for record in records:
        found = [item for key in recorded_under(record) if (item := stored(aws, deployment, key))]
        assert found, record["body"][:200]
        status, size = found[0]
        assert status in DONE
        assert size < MAX_ITEM_BYTES


query_values = st.text(max_size=200) | st.text(alphabet="%{}\\\"'0123456789abcdef", max_size=9000)
queries = st.one_of(
    st.lists(st.tuples(st.text(max_size=20), query_values), max_size=80).map(
        lambda pairs: "&".join(f"{name}={value}" for name, value in pairs)
    ),
    st.text(max_size=20_000),
    st.builds(
        lambda status, info: f"SMSID=s-1&SendStatus={status}&SendSuccess=1&error_info={info}",
        st.text(max_size=5),
        query_values,
    ),
)


@settings(
    max_examples=400,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=queries, signed=st.booleans(), request_id=st.sampled_from(["order-1", "bad id", "x" * 60, ""]))
def test_every_callback_is_answered_2xx_or_4xx_and_leaves_items_bounded(
    callback: LoadedFunction,
    aws: boto3.Session,
    deployment: Resolver,
    query: str,
    signed: bool,
    request_id: str,
) -> None:
    key = secret_values(aws, deployment, "CallbackKeySecret")["CallbackKey"].encode()
    signature = sign(key, request_id, ORDER_1_NONCE) if signed else "A" * 44
    event = load_event("callback-delivered.json")
    path = f"/callbacks/esms/{request_id}/{signature}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"request_id": request_id, "signature": signature}
    event["rawQueryString"] = query

    response: dict[str, Any] = callback.invoke(event)

    assert 200 <= response["statusCode"] < 500
    waiting = stored(aws, deployment, "order-1")
    assert waiting is not None and waiting[1] < MAX_ITEM_BYTES


@pytest.fixture(autouse=True)
def _order_1_is_waiting(aws: boto3.Session, deployment: Resolver) -> None:
    """The message the signed callbacks name: accepted, waiting for its report."""
    table = aws.resource("dynamodb").Table(deployment.ref("MessagesTable"))
    table.put_item(
        Item={
            "request_id": "order-1", "status": "ACCEPTED", "sms_id": "s-1", "attempts": 1,
            "callback_nonce": ORDER_1_NONCE,
            "created_at": "t", "updated_at": "t", "expires_at": 4102444800, "history": [],
            "awaiting": "1", "check_at": 4102444800,
        }
    )  # fmt: skip
