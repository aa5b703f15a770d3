"""Driving the real functions as eSMS and SQS would: a batch of producer messages for the sender, and
Zalo's refusal reported on a message's CallbackUrl."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from local.runtime.template import Resolver
from tests.conftest import LoadedFunction, load_event
from tests.support.esms_stub import EsmsStub


def send(sender: LoadedFunction, deployment: Resolver, *bodies: dict[str, Any]) -> None:
    """The sender invoked with one SendQueue batch of `bodies`."""
    record = load_event("sender-batch.json")["Records"][0]
    sender.invoke(
        {
            "Records": [
                {
                    **record,
                    "messageId": f"m-{message['RequestId']}",
                    "body": json.dumps(message),
                    "eventSourceARN": deployment.get_att("SendQueue", "Arn"),
                }
                for message in bodies
            ]
        }
    )


def callback_url(esms: EsmsStub, esms_request_id: str) -> str:
    """The CallbackUrl of the last send eSMS got under `esms_request_id`."""
    url: str = [posted for posted in esms.bodies if posted.get("RequestId") == esms_request_id][-1][
        "CallbackUrl"
    ]
    return url


def report_on(callback: LoadedFunction, url: str, query: str) -> dict[str, Any]:
    """eSMS calls back on `url` with `query`: the callback function's answer."""
    request, signature = url.split("/")[-2:]
    event = load_event("callback-failed-114.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/callbacks/esms/{request}/{signature}"
    event["pathParameters"] = {"request_id": request, "signature": signature}
    event["rawQueryString"] = query
    event["queryStringParameters"] = dict(part.split("=", 1) for part in query.split("&"))
    answer: dict[str, Any] = callback.invoke(event)
    return answer


def zalo_refusal(sms_id: str, zalo_code: int, message: str = "refused") -> str:
    """A failed delivery report's query: Zalo refused the message with `zalo_code`."""
    error_info = json.dumps({"error": zalo_code, "message": message})
    return f"SMSID={sms_id}&SendFailed=1&SendStatus=5&SendSuccess=0&TypeId=25&error_info={quote(error_info)}"


def delivered(sms_id: str) -> str:
    return f"SMSID={sms_id}&SendFailed=0&SendStatus=5&SendSuccess=1&TypeId=25"
