"""CallbackFunction: eSMS's delivery callbacks (GET /callbacks/esms/{request_id}/{signature}?...).

The path names the message and carries a signature of it and of the message's nonce
(zns_relay.reports.callback_url): a callback with a wrong, missing or malformed signature, or one whose URL
was made for an earlier message of the same RequestId, is refused with 403 and changes nothing; a
valid one can only ever move the message it names, and only with a report that matches it (its SMSID,
its channel's TypeId): any other gets 409 and changes nothing. A callback for a message accepted
without an SMSID (through a 124) gets 202 and changes nothing: the reconciler finds its SMSID and
report (zns_relay.reports.delivery). eSMS retries a callback only when it times out (esms-api-facts.md,
section 3), so a prompt answer ends it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from zns_relay.composition.callback import build_callback_receiver
from zns_relay.config.observability import count, logger, metrics, traced_handler
from zns_relay.config.settings import CallbackSettings
from zns_relay.models.callback import InvalidCallback, documented_parameters, parse_delivery_report
from zns_relay.models.contract import is_valid_request_id
from zns_relay.models.errors import CallbackForbidden, CallbackTooLarge
from zns_relay.reports.delivery import CALLBACK, ReportResult

ROUTE = "/callbacks/esms/<request_id>/<signature>"
MAX_QUERY_CHARS = 16_384  # eSMS's callbacks are well under 2 KB
MAX_PARAMETERS = 64

settings = CallbackSettings.from_environment()
signer, reports = build_callback_receiver(settings)
app = APIGatewayHttpResolver(debug=False)  # its debug mode prints every event, signature and all


@app.get(ROUTE)
def esms_callback(request_id: str, signature: str) -> Response[str]:
    nonce = signer.verified_nonce(request_id, signature) if is_valid_request_id(request_id) else None
    if nonce is None:
        raise CallbackForbidden
    logger.append_keys(correlation_id=request_id)
    parameters = _query_parameters()
    report = parse_delivery_report(parameters)
    try:
        result = reports.apply(request_id, report, source=CALLBACK, url_nonce=nonce)
    except (ClientError, BotoCoreError) as error:
        # eSMS will not call again (it retries only on timeouts); the reconciler will ask eSMS for
        # this report, and the log keeps it to replay.
        count("CallbacksNotRecorded")
        logger.error(
            "callback not recorded: DynamoDB failed",
            extra={"callback": documented_parameters(parameters), "error": type(error).__name__},
        )
        return _answer(503, {"message": "not recorded"})
    # The one INFO line a callback: what it reported, and what became of it.
    logger.info("callback handled", extra={"result": result, "send_status": report.send_status})
    match result:
        case ReportResult.UNKNOWN_MESSAGE:
            return _answer(404, {"message": "no such message"})
        case ReportResult.STALE_URL:
            return _answer(403, {"message": "forbidden"})
        case ReportResult.MISMATCHED:
            return _answer(409, {"message": "the report is not about the message its URL names"})
        case ReportResult.LEFT_TO_RECONCILER:
            return _answer(202, {"result": result.value})
    return _answer(200, {"result": result.value})


def _query_parameters() -> dict[str, str]:
    """The callback's fields: the query string decoded once, as eSMS encodes it once; a repeated
    name keeps its first value."""
    query = app.current_event.raw_query_string or ""
    if len(query) > MAX_QUERY_CHARS:
        raise CallbackTooLarge
    try:
        fields = parse_qsl(query, keep_blank_values=True, errors="replace", max_num_fields=MAX_PARAMETERS)
    except ValueError:  # its one refusal: more than MAX_PARAMETERS fields
        raise InvalidCallback(f"more than {MAX_PARAMETERS} parameters") from None
    parameters: dict[str, str] = {}
    for name, value in fields:
        parameters.setdefault(name, value)
    return parameters


def _answer(status: int, body: dict[str, str]) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


@app.not_found
def _unknown_route(_: Exception) -> Response[str]:
    """A callback path without a signature is refused like a wrong one; anything else does not exist."""
    path: str = app.current_event.path
    if path.startswith("/callbacks/esms"):
        return _forbidden_answer()
    return _answer(404, {"message": "not found"})


@app.exception_handler(CallbackForbidden)
def _forbidden(_: CallbackForbidden) -> Response[str]:
    return _forbidden_answer()


def _forbidden_answer() -> Response[str]:
    count("CallbacksForbidden")
    logger.warning("callback refused: wrong, missing or malformed signature")
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


@logger.inject_lambda_context(clear_state=True, log_event=False)  # never, whatever the environment says
@traced_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
