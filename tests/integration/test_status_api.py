"""StatusFunction invoked as API Gateway (HTTP API v2, AWS_IAM) invokes it, on moto: one message with its
history, pages by phone, campaign and status (a route each) across the status index's shards, 400s and
404s, and what each request logs."""

from __future__ import annotations

import copy
import io
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from pydantic.alias_generators import to_camel

from local.runtime.lambda_runtime import function_output_to
from local.runtime.template import Resolver
from tests.conftest import LoadedFunction, load_event, load_function
from tests.support.contracts import answer_schema, contract, problems
from tests.support.outcomes import SteppingClock
from zns_relay.models.contract import rejection_key
from zns_relay.models.state import MessageStatus
from zns_relay.models.status_api import ListedBy
from zns_relay.store.indexes import STATUS_SHARDS, status_shard
from zns_relay.store.messages import MessageStore

REQUEST_ID = "order-DH240501-confirm"  # the message events/status-get-message.json asks for
CHECK_AT = 4102444800
FIELDS = {"phone": "0901888484", "temp_id": "2056446", "oa_id": "1", "campaign_id": "autumn-sale"}
INTERNAL = {
    "claim_token",
    "lease_until",
    "awaiting",
    "check_at",
    "status_shard",
    "expires_at",
    "retry_until",
    "fingerprint",
}


@pytest.fixture
def store(aws: boto3.Session, deployment: Resolver) -> MessageStore:
    return MessageStore(deployment.ref("MessagesTable"), aws.client("dynamodb"), clock=SteppingClock())


@pytest.fixture
def status_api(deployment: Resolver, monkeypatch: pytest.MonkeyPatch) -> LoadedFunction:
    return load_function("StatusFunction", deployment, monkeypatch, {})


def get_message(api: LoadedFunction, request_id: str) -> tuple[int, dict[str, Any]]:
    event = copy.deepcopy(load_event("status-get-message.json"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/messages/{request_id}"
    event["pathParameters"] = {"request_id": request_id}
    return answer(api.invoke(event))


LIST_EVENTS = {
    ListedBy.PHONE: "status-list-by-phone.json",
    ListedBy.CAMPAIGN: "status-list-by-campaign.json",
    ListedBy.STATUS: "status-list-by-status.json",
}


def list_event(by: ListedBy, value: str, **parameters: str) -> dict[str, Any]:
    """The sample event of this list's route, for `value` and these query parameters, as HTTP API sends it
    (the path percent-decoded)."""
    event = copy.deepcopy(load_event(LIST_EVENTS[by]))
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/{by.collection}/{value}/messages"
    event["pathParameters"] = {by.value: value}
    event["rawQueryString"] = urlencode(parameters)
    event["queryStringParameters"] = parameters
    if not parameters:
        del event["queryStringParameters"]
    return event


def list_messages(
    api: LoadedFunction, by: ListedBy, value: str, **parameters: str
) -> tuple[int, dict[str, Any]]:
    return answer(api.invoke(list_event(by, value, **parameters)))


def answer(response: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return response["statusCode"], json.loads(response["body"])


def every_page(api: LoadedFunction, limit: int, by: ListedBy, value: str) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor: dict[str, str] = {}
    while True:
        code, body = list_messages(api, by, value, limit=str(limit), **cursor)
        assert code == 200, body
        pages.append(body["messages"])
        if "nextCursor" not in body:
            return pages
        cursor = {"cursor": body["nextCursor"]}


def deliver(store: MessageStore, request_id: str, fields: dict[str, Any] | None = None) -> None:
    store.claim(request_id, {**FIELDS, **(fields or {})}, lease_seconds=60, check_at=CHECK_AT)
    store.transition(
        request_id, MessageStatus.ACCEPTED, "accepted by eSMS", {"sms_id": "s"}, check_at=CHECK_AT
    )
    store.transition(request_id, MessageStatus.DELIVERED, "delivered (SendStatus 5, SendSuccess 1)")


def test_a_message_is_answered_with_its_history_and_nothing_internal(
    status_api: LoadedFunction, store: MessageStore
) -> None:
    # Given a delivered message
    deliver(store, REQUEST_ID)

    # When a producer asks for it (the sample event: a SigV4-signed GET)
    code, body = get_message(status_api, REQUEST_ID)

    # Then it gets the message with its history, named as in the events
    assert code == 200
    assert body["requestId"] == REQUEST_ID
    assert (body["status"], body["isFinal"], body["campaign"], body["phone"]) == (
        "DELIVERED",
        True,
        "autumn-sale",
        "0901888484",
    )
    assert [entry["status"] for entry in body["history"]] == ["SENDING", "ACCEPTED", "DELIVERED"]
    # And no claim token, lease, index key or other internal attribute, in either spelling
    assert not (INTERNAL | {to_camel(name) for name in INTERNAL}) & set(body)


def test_an_unknown_id_is_404_and_one_far_too_long_400(status_api: LoadedFunction) -> None:
    assert get_message(status_api, "no-such-message") == (404, {"message": "no such message"})
    assert get_message(status_api, "x" * 51) == (404, {"message": "no such message"})
    code, body = get_message(status_api, "x" * 1001)
    assert code == 400
    assert body["message"].startswith("request_id:")


def test_a_message_rejected_for_its_over_long_request_id_is_found_by_that_id(
    status_api: LoadedFunction, store: MessageStore
) -> None:
    # Given a body REJECTED because its RequestId is too long (recorded under the key derived from it)
    given = "order-2026-11-27-customer-0901888484-confirmation-x"
    reason = "RequestId: String should match pattern '^[A-Za-z0-9._:-]{1,50}$'"
    store.create_final(rejection_key(given), MessageStatus.REJECTED, reason)

    # When the producer asks for it by the RequestId it gave
    code, body = get_message(status_api, given)

    # Then it is found, and says why
    assert code == 200
    assert (body["requestId"], body["status"], body["error"]) == (rejection_key(given), "REJECTED", reason)


def test_a_list_of_a_status_messages_wait_in_pages_through_both_its_indexes_listing_each_once(
    status_api: LoadedFunction, store: MessageStore
) -> None:
    # Given ACCEPTED messages that wait for their report (the waiting-index), sandbox ones that wait for
    # nothing (the status-index), and one that moved on to SENT
    waiting = [f"waiting-{number}" for number in range(5)]
    sandbox = [f"sandbox-{number}" for number in range(3)]
    for number, request_id in enumerate([*waiting, "sent-1"]):
        store.claim(request_id, FIELDS, lease_seconds=60, check_at=CHECK_AT + number)
        store.transition(
            request_id, MessageStatus.ACCEPTED, "accepted by eSMS", {"sms_id": request_id}, check_at=CHECK_AT
        )
    store.transition("sent-1", MessageStatus.SENT, "sent (SendStatus 7)", check_at=CHECK_AT)
    for request_id in sandbox:
        store.claim(request_id, {**FIELDS, "sandbox": True}, lease_seconds=60, check_at=CHECK_AT)
        store.transition(request_id, MessageStatus.ACCEPTED, "accepted by eSMS (sandbox)", check_at=None)

    # When ACCEPTED is listed two at a time, cursor after cursor
    pages = every_page(status_api, 2, ListedBy.STATUS, "ACCEPTED")

    # Then every ACCEPTED message is listed exactly once, across both indexes, and nothing else
    listed = [message["requestId"] for page in pages for message in page]
    assert sorted(listed) == sorted([*waiting, *sandbox])
    assert all(len(page) <= 2 for page in pages)


def test_the_sample_list_request_lists_failed_messages_since_a_time(
    status_api: LoadedFunction, store: MessageStore
) -> None:
    # Given one failed message and one delivered
    store.claim("failed-1", FIELDS, lease_seconds=60, check_at=CHECK_AT)
    reason = "eSMS 108: phone number not valid"
    store.transition("failed-1", MessageStatus.FAILED, reason, {"error": reason})
    deliver(store, "delivered-1")

    # When the sample request asks for FAILED since 2026-11-27
    code, body = answer(status_api.invoke(load_event("status-list-by-status.json")))

    # Then only the failed one is listed, without its history
    assert code == 200
    assert [(m["requestId"], m["status"], m["error"]) for m in body["messages"]] == [
        ("failed-1", "FAILED", "eSMS 108: phone number not valid")
    ]
    assert "history" not in body["messages"][0]
    assert "nextCursor" not in body


def test_the_sample_campaign_and_phone_requests_list_theirs_only(
    status_api: LoadedFunction, store: MessageStore
) -> None:
    # Given a message of autumn-sale to 0901888484, and one of another campaign to another phone
    store.claim("autumn-1", FIELDS, lease_seconds=60, check_at=CHECK_AT)
    other = {**FIELDS, "phone": "0351234567", "campaign_id": "winter-sale"}
    store.claim("winter-1", other, lease_seconds=60, check_at=CHECK_AT)

    # When the sample requests ask for the campaign (since 2026-11-27 +07:00) and for the phone
    by_campaign = answer(status_api.invoke(load_event("status-list-by-campaign.json")))
    by_phone = answer(status_api.invoke(load_event("status-list-by-phone.json")))

    # Then each lists the first message only
    assert by_campaign[0] == by_phone[0] == 200
    assert [m["requestId"] for m in by_campaign[1]["messages"]] == ["autumn-1"]
    assert [m["requestId"] for m in by_phone[1]["messages"]] == ["autumn-1"]


@pytest.mark.parametrize(
    ("event", "route", "logged_parameters"),
    [
        (
            "status-get-message.json",
            "GET /messages/{request_id}",
            {"request_id": REQUEST_ID},
        ),
        ("status-list-by-campaign.json", "GET /campaigns/{campaign}/messages", {"campaign": "autumn-sale"}),
        ("status-list-by-status.json", "GET /statuses/{status}/messages", {"status": "FAILED"}),
        ("status-list-by-phone.json", "GET /phones/{phone}/messages", {"phone": "090****484"}),
    ],
)
def test_each_request_logs_its_route_and_path_parameters_with_the_phone_masked(
    status_api: LoadedFunction,
    store: MessageStore,
    capsys: pytest.CaptureFixture[str],
    event: str,
    route: str,
    logged_parameters: dict[str, str],
) -> None:
    # Given a message to 0901888484
    deliver(store, REQUEST_ID)

    # When a request of each route is answered
    logged = io.StringIO()
    with function_output_to(logged):
        code, _ = answer(status_api.invoke(load_event(event)))

    # Then its log says which route, with which path parameters, and never the full phone
    assert code == 200
    lines = [json.loads(line) for line in logged.getvalue().splitlines() if line.startswith("{")]
    [request] = [line for line in lines if line.get("message") == "status request"]
    assert (request["route"], request["path_parameters"]) == (route, logged_parameters)
    assert "0901888484" not in logged.getvalue() + capsys.readouterr().out


def test_a_status_listed_over_every_shard_pages_newest_first_without_loss_or_repeat(
    status_api: LoadedFunction, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given 40 delivered messages spread over the status index's shards, half of them at one same instant
    store = MessageStore(deployment.ref("MessagesTable"), aws.client("dynamodb"), clock=SteppingClock())
    same_time = MessageStore(
        deployment.ref("MessagesTable"),
        aws.client("dynamodb"),
        clock=lambda: datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
    )
    ids = [f"m-{index:02d}" for index in range(40)]
    for index, request_id in enumerate(ids):
        deliver(same_time if index % 2 else store, request_id)
    assert len({status_shard(MessageStatus.DELIVERED, request_id) for request_id in ids}) == STATUS_SHARDS

    # When a producer pages through DELIVERED, 7 at a time
    pages = every_page(status_api, 7, ListedBy.STATUS, "DELIVERED")

    # Then it sees every message once, newest first, in pages of 7 but the last
    listed = [message["requestId"] for page in pages for message in page]
    assert sorted(listed) == ids
    times = [message["statusAt"] for page in pages for message in page]
    assert times == sorted(times, reverse=True)
    assert [len(page) for page in pages] == [7, 7, 7, 7, 7, 5]


def test_lists_by_phone_in_any_form_and_by_campaign_within_a_time_range(
    status_api: LoadedFunction, store: MessageStore
) -> None:
    # Given messages to two phones in two campaigns, created 10 ms apart from 08:00:00
    for index in range(6):
        phone = "0901888484" if index % 2 == 0 else "0351234567"
        campaign = "autumn-sale" if index < 4 else "winter-sale"
        store.claim(f"m-{index}", {**FIELDS, "phone": phone, "campaign_id": campaign}, 60, check_at=CHECK_AT)

    by_phone = list_messages(status_api, ListedBy.PHONE, "+84 90 188 8484")
    by_campaign = list_messages(
        status_api, ListedBy.CAMPAIGN, "autumn-sale", since="2026-11-27T08:00:00.010Z"
    )

    assert by_phone[0] == 200
    assert [m["requestId"] for m in by_phone[1]["messages"]] == ["m-4", "m-2", "m-0"]
    assert [m["requestId"] for m in by_campaign[1]["messages"]] == ["m-3", "m-2", "m-1"]


@pytest.mark.parametrize("status", list(MessageStatus))
def test_every_status_can_be_listed_and_looked_up(
    status_api: LoadedFunction, store: MessageStore, status: MessageStatus
) -> None:
    # Given a message in this status, reached the way the store reaches it
    request_id = f"in-{status.value}"
    if status in (MessageStatus.REJECTED, MessageStatus.EXPIRED):
        store.create_final(request_id, status, "never sent")
    else:
        store.claim(request_id, FIELDS, lease_seconds=60, check_at=CHECK_AT)
        if status is MessageStatus.SENT:
            store.transition(request_id, MessageStatus.ACCEPTED, "accepted", check_at=CHECK_AT)
        if status is not MessageStatus.SENDING:
            store.transition(request_id, status, f"to {status}", check_at=CHECK_AT)

    code, listed = list_messages(status_api, ListedBy.STATUS, status.value)

    assert code == 200
    assert [message["requestId"] for message in listed["messages"]] == [request_id]
    assert get_message(status_api, request_id)[1]["status"] == status.value


@pytest.mark.parametrize(
    ("by", "value", "parameters", "reason"),
    [
        (ListedBy.STATUS, "LOST", {}, "status: one of"),
        (ListedBy.PHONE, "090", {}, "phone: not a Vietnamese mobile number"),
        (ListedBy.CAMPAIGN, "c", {"until": "tomorrow"}, "until: an ISO 8601 time with an offset"),
        (ListedBy.STATUS, "SENT", {"limit": "500"}, "limit: a whole number from 1 to 100"),
        (ListedBy.STATUS, "SENT", {"cursor": "not-a-cursor"}, "cursor: not one this query returned"),
        (ListedBy.CAMPAIGN, "c", {"status": "SENT"}, "unknown parameter 'status'"),
    ],
)
def test_a_bad_filter_is_400_with_its_reason(
    status_api: LoadedFunction, by: ListedBy, value: str, parameters: dict[str, str], reason: str
) -> None:
    code, body = list_messages(status_api, by, value, **parameters)

    assert code == 400
    assert body["message"].startswith(reason)


def test_the_query_string_list_of_before_is_gone(status_api: LoadedFunction) -> None:
    # A list is asked for by its route; GET /messages?campaign=... is not one
    event = list_event(ListedBy.CAMPAIGN, "autumn-sale")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/messages"
    event["routeKey"] = event["requestContext"]["routeKey"] = "GET /messages"
    event["queryStringParameters"] = {"campaign": "autumn-sale"}
    del event["pathParameters"]

    assert answer(status_api.invoke(event)) == (404, {"message": "not found"})


def test_a_cursor_only_continues_the_query_that_made_it(
    status_api: LoadedFunction, store: MessageStore
) -> None:
    for index in range(3):
        deliver(store, f"m-{index}")
    _, first = list_messages(status_api, ListedBy.STATUS, "DELIVERED", limit="1")

    same = list_messages(status_api, ListedBy.STATUS, "DELIVERED", limit="1", cursor=first["nextCursor"])
    other = list_messages(status_api, ListedBy.STATUS, "FAILED", limit="1", cursor=first["nextCursor"])

    assert same[0] == 200 and same[1]["messages"][0]["requestId"] != first["messages"][0]["requestId"]
    assert other[0] == 400


def test_a_status_is_listed_by_when_it_was_reached_not_by_later_notes(
    status_api: LoadedFunction, store: MessageStore
) -> None:
    # Given a message accepted at 08:00:00.010, then noted (an inconclusive report) later
    store.claim("noted", FIELDS, lease_seconds=60, check_at=CHECK_AT)
    store.transition("noted", MessageStatus.ACCEPTED, "accepted by eSMS", check_at=CHECK_AT)
    accepted_at = get_message(status_api, "noted")[1]["statusAt"]
    store.note("noted", "SendStatus 1", None, while_in=frozenset({MessageStatus.ACCEPTED}))

    # When a producer lists what was accepted after the acceptance
    code, later = list_messages(status_api, ListedBy.STATUS, "ACCEPTED", since="2026-11-27T08:00:00.015Z")

    # Then the note did not move it: it was accepted before that time
    assert code == 200 and later["messages"] == []
    assert get_message(status_api, "noted")[1]["statusAt"] == accepted_at == "2026-11-27T08:00:00.010Z"


def test_every_answer_is_one_the_openapi_document_describes(
    status_api: LoadedFunction, store: MessageStore
) -> None:
    # Given a delivered message, a failed one with its SMS fallback, and the committed OpenAPI document
    deliver(store, REQUEST_ID)
    store.claim("failed-1", FIELDS, lease_seconds=60, check_at=CHECK_AT)
    store.transition("failed-1", MessageStatus.FAILED, "Zalo -114", {"error": "Zalo -114"})
    store.claim(
        "failed-1:sms", {**FIELDS, "channel": "sms", "fallback_for": "failed-1"}, 60, check_at=CHECK_AT
    )
    openapi = contract("status-api.openapi.json")
    asked: list[tuple[str, tuple[int, dict[str, Any]]]] = [
        ("/messages/{request_id}", get_message(status_api, REQUEST_ID)),
        ("/messages/{request_id}", get_message(status_api, "failed-1:sms")),
        ("/messages/{request_id}", get_message(status_api, "no-such-message")),
        ("/messages/{request_id}", get_message(status_api, "x" * 1001)),
    ]
    for by, value in [
        (ListedBy.PHONE, "0901888484"),
        (ListedBy.CAMPAIGN, "autumn-sale"),
        (ListedBy.STATUS, "FAILED"),
    ]:
        path = f"/{by.collection}/{{{by.value}}}/messages"
        asked += [
            (path, list_messages(status_api, by, value, limit="1")),
            (path, list_messages(status_api, by, value, limit="0")),
        ]

    # When each was answered, Then each answer is valid against the document's schema of that route and code
    assert {code for _, (code, _) in asked} == {200, 400, 404}
    assert any("nextCursor" in body for _, (_, body) in asked)
    for path, (code, body) in asked:
        assert problems(body, answer_schema(openapi, path, code)) == [], (path, code, body)
