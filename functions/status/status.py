"""StatusFunction: the status API (HTTP API, AWS_IAM on every route).

GET /messages/{request_id}: the message and its history. GET /phones/{phone}/messages,
/campaigns/{campaign}/messages and /statuses/{status}/messages (?since=&until=&limit=&cursor=): a page of
messages, newest first, with `nextCursor` while there are more. One route per kind of list, so that an IAM
policy can scope a reader by the route's ARN (docs/outcomes.md). A filter it cannot use is answered
400 with the reason, an unknown RequestId 404. Each request is logged with its route and path parameters,
the phone masked.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from zns_relay.composition.status import build_lookup
from zns_relay.config.observability import logger, traced_handler
from zns_relay.config.settings import StatusSettings
from zns_relay.models.errors import InvalidQuery, MessageNotFound
from zns_relay.models.status_api import ErrorAnswer, ListedBy, ListQuery, loggable

# A RequestId is at most 50 characters; a longer one is looked up too, since a body that carried one was
# REJECTED under a key derived from it (MessageLookup), but nothing near a URL's limit.
MAX_GIVEN_REQUEST_ID = 1000

settings = StatusSettings.from_environment()
lookup = build_lookup(settings)
app = APIGatewayHttpResolver(debug=False)  # its debug mode prints every event, caller identity and all


@app.get("/messages/<request_id>")
def get_message(request_id: str) -> Response[str]:
    _log_request(request_id=request_id)
    if len(request_id) > MAX_GIVEN_REQUEST_ID:
        raise InvalidQuery("request_id: up to 50 of A-Z a-z 0-9 . _ : -")
    logger.append_keys(correlation_id=request_id)
    return _answer(200, lookup.message(request_id))


@app.get("/phones/<phone>/messages")
def list_phone_messages(phone: str) -> Response[str]:
    return _list(ListedBy.PHONE, phone)


@app.get("/campaigns/<campaign>/messages")
def list_campaign_messages(campaign: str) -> Response[str]:
    return _list(ListedBy.CAMPAIGN, campaign)


@app.get("/statuses/<status>/messages")
def list_status_messages(status: str) -> Response[str]:
    return _list(ListedBy.STATUS, status)


def _list(by: ListedBy, value: str) -> Response[str]:
    _log_request(**{by.value: value})
    query = ListQuery.parse(by, value, app.current_event.query_string_parameters or {})
    return _answer(200, lookup.messages(query))


def _log_request(**path_parameters: str) -> None:
    """What was asked: the route and its path parameters (the phone masked)."""
    logger.info(
        "status request",
        extra={"route": app.current_event.route_key, "path_parameters": loggable(path_parameters)},
    )


def _answer(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, ensure_ascii=False),
    )


@app.exception_handler(InvalidQuery)
def _invalid(error: InvalidQuery) -> Response[str]:
    logger.info("status request refused", extra={"reason": error.reason})
    return _answer(400, ErrorAnswer(message=error.reason).model_dump())


@app.exception_handler(MessageNotFound)
def _not_found(_: MessageNotFound) -> Response[str]:
    return _answer(404, ErrorAnswer(message="no such message").model_dump())


@app.not_found
def _unknown_route(_: Exception) -> Response[str]:
    return _answer(404, ErrorAnswer(message="not found").model_dump())


# No metrics of its own: the API's Count, 4xx, 5xx and Latency say how it serves.
@logger.inject_lambda_context(clear_state=True, log_event=False)  # never, whatever the environment says
@traced_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
