"""The baselines: the sender's and the webhook's network calls written by hand, with nothing else.

`sender_handler` makes the calls SenderFunction makes for a message on the happy path (a conditional
UpdateItem that claims it, the POST to eSMS with a signed CallbackUrl, a conditional UpdateItem that
records the acceptance), on a thread pool like the real sender; `callback_handler` makes the one
conditional UpdateItem a delivery callback costs. No validation, logging, metrics or history: what is
left is the cost of boto3, requests and the network. Both read the functions' own environment, so the
benchmarks load them exactly like the real handlers (local.runtime.lambda_runtime.load_handler).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

import boto3
import requests
from botocore.config import Config
from requests.adapters import HTTPAdapter

POOL = 10
_CONFIG = Config(max_pool_connections=POOL, retries={"mode": "standard", "max_attempts": 3})


def clients(*services: str) -> dict[str, Any]:
    """What a function needs at init: its boto3 clients and, for eSMS, a pooled HTTP session."""
    made: dict[str, Any] = {service: boto3.client(service, config=_CONFIG) for service in services}  # type: ignore[call-overload]
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=POOL, max_retries=0))
    session.mount("https://", HTTPAdapter(pool_maxsize=POOL, max_retries=0))
    made["http"] = session
    return made


@cache
def _sender() -> dict[str, Any]:
    made = clients("dynamodb", "secretsmanager")
    secret = made["secretsmanager"].get_secret_value
    made["keys"] = json.loads(secret(SecretId=os.environ["ESMS_SECRET_ID"])["SecretString"])
    callback_key = json.loads(secret(SecretId=os.environ["CALLBACK_SECRET_ID"])["SecretString"])[
        "CallbackKey"
    ]
    made["callback_key"] = callback_key.encode()
    made["pool"] = ThreadPoolExecutor(int(os.environ["SEND_CONCURRENCY"]))
    return made


def _send(record: dict[str, Any]) -> None:
    made, table = _sender(), os.environ["TABLE_NAME"]
    message = json.loads(record["body"])
    request_id = message["RequestId"]
    token, now = uuid.uuid4().hex, int(time.time())
    made["dynamodb"].update_item(
        TableName=table,
        Key={"request_id": {"S": request_id}},
        UpdateExpression="SET #s = :sending, claim_token = :token, lease_until = :lease,"
        " attempts = if_not_exists(attempts, :zero) + :one",
        ConditionExpression="attribute_not_exists(request_id) OR #s = :retrying",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":sending": {"S": "SENDING"},
            ":retrying": {"S": "RETRYING"},
            ":token": {"S": token},
            ":lease": {"N": str(now + 60)},
            ":zero": {"N": "0"},
            ":one": {"N": "1"},
        },
    )
    digest = hmac.new(made["callback_key"], request_id.encode(), hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(digest).decode()[:22]
    answer = (
        made["http"]
        .post(
            os.environ["ESMS_BASE_URL"].rstrip("/") + "/SendZaloMessage_V5_post/",
            json={
                "ApiKey": made["keys"]["ApiKey"],
                "SecretKey": made["keys"]["SecretKey"],
                "OAID": os.environ["DEFAULT_OA_ID"],
                "Phone": message["Phone"],
                "TempData": [{"key": key, "value": value} for key, value in message["TempData"].items()],
                "TempID": message["TempID"],
                "campaignid": message.get("campaignid", ""),
                "Sandbox": "0",
                "CallbackUrl": f"{os.environ['CALLBACK_BASE_URL']}/{request_id}/{signature}",
                "RequestId": request_id,
                "SendingMode": "1",
            },
            timeout=(3.05, 10),
        )
        .json()
    )
    made["dynamodb"].update_item(
        TableName=table,
        Key={"request_id": {"S": request_id}},
        UpdateExpression="SET #s = :accepted, sms_id = :sms_id REMOVE lease_until",
        ConditionExpression="claim_token = :token",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":accepted": {"S": "ACCEPTED"},
            ":sms_id": {"S": str(answer["SMSID"])},
            ":token": {"S": token},
        },
    )


def sender_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    list(_sender()["pool"].map(_send, event["Records"]))
    return {"batchItemFailures": []}


@cache
def _dynamodb() -> Any:
    return clients("dynamodb")["dynamodb"]


def callback_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Move the message the path names to the status the callback reports: one conditional write."""
    request_id = event["pathParameters"]["request_id"]
    fields = dict(parse_qsl(event.get("rawQueryString", "")))
    status = {"5": "DELIVERED", "7": "SENT"}.get(fields.get("SendStatus", ""), "ACCEPTED")
    _dynamodb().update_item(
        TableName=os.environ["TABLE_NAME"],
        Key={"request_id": {"S": request_id}},
        UpdateExpression="SET #s = :status",
        ConditionExpression="attribute_exists(request_id)",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":status": {"S": status}},
    )
    return {"statusCode": 200, "body": '{"result":"applied"}'}
