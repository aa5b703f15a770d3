"""What the benchmarks feed the functions: SQS batches of realistic messages, and their shape."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from local.runtime.template import PSEUDO_PARAMETERS, ROOT

BATCH_SIZE = 10  # the template's BatchSize and SEND_CONCURRENCY
CALLBACK_SAMPLE = ROOT / "events" / "callback-delivered.json"


def message_body(request_id: str) -> dict[str, Any]:
    """An order confirmation as a producer sends it (docs/contract.md's example, four template fields)."""
    return {
        "Phone": "0901888484",
        "TempID": "2056446",
        "TempData": {
            "customer_name": "Nguyễn Văn An",
            "order_code": "DH240501",
            "amount": "150000",
            "date": "26/11/2026",
        },
        "RequestId": request_id,
        "campaignid": "order-confirmation",
    }


def sqs_batch(queue_arn: str, size: int = BATCH_SIZE, prefix: str = "bench") -> dict[str, Any]:
    """One SQS event of `size` fresh messages, shaped as Lambda's event source mapping shapes it."""
    sent = str(int(time.time() * 1000))
    records = []
    for _ in range(size):
        request_id = f"{prefix}-{uuid.uuid4().hex}"
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"AQEB{uuid.uuid4().hex}",
                "body": json.dumps(message_body(request_id), ensure_ascii=False),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": sent,
                    "SenderId": "AIDAEXAMPLEPRODUCER",
                    "ApproximateFirstReceiveTimestamp": sent,
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": PSEUDO_PARAMETERS["AWS::Region"],
            }
        )
    return {"Records": records}


def request_ids(event: dict[str, Any]) -> list[str]:
    return [json.loads(record["body"])["RequestId"] for record in event["Records"]]


def callback_event(request_id: str, signature: str, sms_id: str, send_status: int) -> dict[str, Any]:
    """eSMS's GET callback for a ZNS message as the HTTP API hands it to CallbackFunction (payload 2.0),
    from events/callback-delivered.json: SendStatus 7 (sent) or 5 (delivered, SendSuccess 1)."""
    event: dict[str, Any] = json.loads(CALLBACK_SAMPLE.read_text())
    fields = {
        **event["queryStringParameters"],
        "SMSID": sms_id,
        "SendStatus": str(send_status),
        "SendSuccess": "1" if send_status == 5 else "0",
    }
    path = f"/callbacks/esms/{request_id}/{signature}"
    event.update(
        rawPath=path,
        rawQueryString=urlencode(fields),
        queryStringParameters=fields,
        pathParameters={"request_id": request_id, "signature": signature},
    )
    event["requestContext"]["http"]["path"] = path
    return event
