"""CallbackFunction: eSMS's delivery callbacks (GET with query parameters) -> message state."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from zns_relay.composition import build_callback_receiver
from zns_relay.models.callback import InvalidCallback, documented_parameters
from zns_relay.models.errors import CallbackForbidden, CallbackTooLarge
from zns_relay.observability import count, logger, metrics, tracer
from zns_relay.settings import Settings

ROUTE = "/callbacks/esms/<token>"
MAX_PARAMETERS_CHARS = 16_384  # eSMS's callbacks are well under 2 KB
MAX_PARAMETERS = 64

settings = Settings.from_environment()
authenticator, reports = build_callback_receiver(settings)
app = APIGatewayHttpResolver()


@app.get(ROUTE)
@app.post(ROUTE)
def esms_callback(token: str) -> Response[str]:
    if not authenticator.is_valid(token):
        raise CallbackForbidden
    parameters = _callback_parameters()
    try:
        result = reports.receive(parameters)
    except (ClientError, BotoCoreError) as error:
        # eSMS will not call again (it retries only on timeouts): keep the callback in the log to replay.
        count("CallbacksNotRecorded")
        logger.error(
            "callback not recorded: DynamoDB failed",
            extra={"callback": documented_parameters(parameters), "error": type(error).__name__},
        )
        return _answer(503, {"message": "not recorded"})
    logger.info("callback handled", extra={"result": result})
    return _answer(200, {"result": result.value})


def _callback_parameters() -> dict[str, str]:
    """The callback's fields from the query string and, for a POST, a form or JSON body.

    The query is decoded once, as eSMS encodes it once; a repeated name keeps its first value.
    """
    event = app.current_event
    query = event.raw_query_string or ""
    body = (event.decoded_body or "") if event.http_method == "POST" else ""
    if len(query) + len(body) > MAX_PARAMETERS_CHARS:
        raise CallbackTooLarge
    pairs = parse_qsl(query, keep_blank_values=True, errors="replace", max_num_fields=MAX_PARAMETERS)
    if body:
        content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
        pairs += _body_pairs(body, content_type)
    parameters: dict[str, str] = {}
    for name, value in pairs:
        parameters.setdefault(name, value)
    return parameters


def _body_pairs(body: str, content_type: str) -> list[tuple[str, str]]:
    if content_type == "application/json":
        try:
            document = json.loads(body)
        except json.JSONDecodeError:
            raise InvalidCallback("the JSON body does not parse") from None
        if not isinstance(document, dict):
            raise InvalidCallback("the JSON body must be an object")
        return [(str(key), "" if value is None else str(value)) for key, value in document.items()]
    return parse_qsl(body, keep_blank_values=True, errors="replace", max_num_fields=MAX_PARAMETERS)


def _answer(status: int, body: dict[str, str]) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


@app.not_found
def _unknown_route(_: Exception) -> Response[str]:
    """A callback path without a token is refused like a wrong token; anything else does not exist."""
    path: str = app.current_event.path
    if path.startswith("/callbacks/esms"):
        return _forbidden_answer()
    return _answer(404, {"message": "not found"})


@app.exception_handler(CallbackForbidden)
def _forbidden(_: CallbackForbidden) -> Response[str]:
    return _forbidden_answer()


def _forbidden_answer() -> Response[str]:
    count("CallbacksForbidden")
    logger.warning("callback refused: wrong or missing token")
    return _answer(403, {"message": "forbidden"})


@app.exception_handler(InvalidCallback)
def _invalid(error: InvalidCallback) -> Response[str]:
    count("CallbacksInvalid")
    logger.warning("callback refused: invalid", extra={"reason": str(error)})
    return _answer(400, {"message": str(error)})


@app.exception_handler(CallbackTooLarge)
def _too_large(_: CallbackTooLarge) -> Response[str]:
    count("CallbacksInvalid")
    return _answer(413, {"message": "too many or too long parameters"})


@app.exception_handler(ValueError)
def _too_many(_: ValueError) -> Response[str]:
    # parse_qsl's refusal of more than MAX_PARAMETERS fields.
    count("CallbacksInvalid")
    return _answer(400, {"message": "too many parameters"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
