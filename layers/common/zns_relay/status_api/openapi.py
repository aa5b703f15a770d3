"""The status API's OpenAPI 3.1 document, as committed in schema/status-api.openapi.json.

The answers' schemas come from the models the handler answers with (models/status_api.py); the routes,
their parameters and answers from the description below. Powertools can make a document from the
resolver itself, but only with `enable_validation=True`, which would change what the API answers (its
own 422s, its serialisation of returned values), and it knows nothing of the query parameters, which the
handler reads from the event: hence this description, which a test checks against the handler.
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from zns_relay.models.status_api import (
    DEFAULT_PAGE_SIZE,
    MAX_CAMPAIGN_CHARS,
    MAX_PAGE_SIZE,
    ErrorAnswer,
    ListedBy,
    MessagePage,
    MessageView,
)

COMPONENTS = "#/components/schemas/"

# Each list: what it is, and its path parameter.
_LISTS: dict[ListedBy, tuple[str, dict[str, Any]]] = {
    ListedBy.PHONE: (
        "A page of a phone's messages, newest first",
        {
            "description": "A Vietnamese mobile number in any common form (0901888484, %2B84901888484)",
            "schema": {"type": "string"},
        },
    ),
    ListedBy.CAMPAIGN: (
        "A page of a campaign's messages, newest first",
        {
            "description": "The campaignid the messages were published with",
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_CAMPAIGN_CHARS},
        },
    ),
    ListedBy.STATUS: (
        "A page of the messages now in a status: a final status's by when they reached it, latest "
        "first; a status messages wait in by the reconciler's next look at them",
        {"description": "A message status", "schema": {"$ref": f"{COMPONENTS}MessageStatus"}},
    ),
}

_TIME_BOUND = {"type": "string", "format": "date-time", "examples": ["2026-11-27T18:00:00+07:00"]}
_QUERY_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "since",
        "in": "query",
        "description": "ISO 8601 with an offset, included: created (phone, campaign) or reached the status",
        "schema": _TIME_BOUND,
    },
    {
        "name": "until",
        "in": "query",
        "description": "ISO 8601 with an offset, included",
        "schema": _TIME_BOUND,
    },
    {
        "name": "limit",
        "in": "query",
        "description": "At most this many messages (a page may hold fewer)",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE},
    },
    {
        "name": "cursor",
        "in": "query",
        "description": "The nextCursor of the previous page of the same list",
        "schema": {"type": "string", "minLength": 1},
    },
]

_SECURITY_SCHEMES = {
    "sigv4": {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "description": "AWS Signature Version 4 (service execute-api) of a principal allowed "
        "execute-api:Invoke on the route (the StatusApi*RouteArn outputs)",
        "x-amazon-apigateway-authtype": "awsSigv4",
    }
}


def status_api_openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the status API."""
    paths = {
        "/messages/{request_id}": {
            "get": _operation(
                "getMessage",
                "The message of a RequestId, with its history",
                [
                    _path_parameter(
                        "request_id", {"description": "The message's RequestId", "schema": {"type": "string"}}
                    )
                ],
                MessageView,
                {"404": "No message has this RequestId", "400": "A RequestId far too long to be one"},
            )
        }
    }
    for by, (summary, parameter) in _LISTS.items():
        paths[f"/{by.collection}/{{{by.value}}}/messages"] = {
            "get": _operation(
                f"list{by.value.capitalize()}Messages",
                summary,
                [
                    _path_parameter(by.value, parameter),
                    *_QUERY_PARAMETERS,
                ],
                MessagePage,
                {"400": "A parameter the list cannot use, with the reason"},
            )
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "zns-relay status API",
            "version": "1",
            "description": "What became of the messages published to zns-relay (docs/outcomes.md).",
        },
        "servers": [
            {
                "url": "https://{apiId}.execute-api.{region}.amazonaws.com",
                "description": "The stack's StatusApiUrl output",
                "variables": {"apiId": {"default": "a1b2c3d4e5"}, "region": {"default": "ap-southeast-1"}},
            }
        ],
        "security": [{"sigv4": []}],
        "paths": paths,
        "components": {"schemas": _answer_schemas(), "securitySchemes": _SECURITY_SCHEMES},
    }


def _operation(
    operation_id: str,
    summary: str,
    parameters: list[dict[str, Any]],
    answer: type[MessageView | MessagePage],
    errors: dict[str, str],
) -> dict[str, Any]:
    responses = {"200": _response(summary, answer)}
    responses.update({code: _response(description, ErrorAnswer) for code, description in errors.items()})
    responses["403"] = _response(
        "Not signed, or the caller may not invoke this route (API Gateway's own answer)", ErrorAnswer
    )
    return {
        "operationId": operation_id,
        "summary": summary,
        "parameters": parameters,
        "responses": dict(sorted(responses.items())),
    }


def _path_parameter(name: str, description: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, **description}


def _response(description: str, model: type[MessageView | MessagePage | ErrorAnswer]) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"{COMPONENTS}{model.__name__}"}}},
    }


def _answer_schemas() -> dict[str, Any]:
    """The answers' JSON Schemas as they are serialised (camelCase), each a component."""
    _, schemas = models_json_schema(
        [(model, "serialization") for model in (MessageView, MessagePage, ErrorAnswer)],
        by_alias=True,
        ref_template=COMPONENTS + "{model}",
    )
    return dict(sorted(schemas["$defs"].items()))
