"""How much the concurrent batch saves: one SQS batch of ten sends vs the same batch sent one by one.

Both runs use the real SenderFunction (located through template.yaml, on moto) against the local eSMS
simulator with a fixed latency; the baseline differs only in SEND_CONCURRENCY=1. Prints the ratio.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from typing import Any

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "ap-southeast-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3
from moto import mock_aws

from local.aws import function_environment, provision
from local.esms_simulator import EsmsSimulator, SimulatorConfig
from local.lambda_runtime import context_for, function_output_to, load_handler
from local.moto_atomic import atomic_dynamodb_in_process
from local.template import Resolver, Template

ESMS_LATENCIES_MS = (50.0, 200.0)  # a nearby eSMS, and a slow day
BATCHES = 6
BATCH_SIZE = 10


def _batch(queue_arn: str) -> dict[str, Any]:
    records = []
    for _ in range(BATCH_SIZE):
        request_id = uuid.uuid4().hex
        body = {"Phone": "0901888484", "TempID": "2056446", "TempData": {"otp": "1"}, "RequestId": request_id}
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": request_id,
                "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "ap-southeast-1",
            }
        )
    return {"Records": records}


def _seconds_per_batch(concurrency: int, template: Template, resolver: Resolver, esms_url: str) -> float:
    spec = template.function("SenderFunction")
    overrides = {
        "ESMS_BASE_URL": esms_url,
        "CALLBACK_BASE_URL": "",
        "SEND_CONCURRENCY": str(concurrency),
        "ESMS_RATE_LIMIT": "1000",  # this measures a batch's concurrency, not the pacing under a TPS limit
    }
    handler, _ = load_handler(spec, function_environment(spec, resolver, overrides))
    queue_arn = resolver.get_att("SendQueue", "Arn")
    timings = []
    with open(os.devnull, "w") as quiet, function_output_to(quiet):
        handler(_batch(queue_arn), context_for(spec))  # warm: secret cached, connections open
        for _ in range(BATCHES):
            event = _batch(queue_arn)
            started = time.perf_counter()
            response = handler(event, context_for(spec))
            timings.append(time.perf_counter() - started)
            assert response["batchItemFailures"] == [], response
    return statistics.median(timings)


def main() -> int:
    template = Template()
    print(f"one SQS batch of {BATCH_SIZE} sends through SenderFunction on moto, median of {BATCHES} batches")
    with mock_aws(), atomic_dynamodb_in_process():
        session = boto3.Session(region_name="ap-southeast-1")
        resolver = provision(template, session, parameters={"DefaultOaId": "1"})
        for latency in ESMS_LATENCIES_MS:
            config = SimulatorConfig(latency_ms=latency, callback_delay_seconds=3600)
            with EsmsSimulator(config=config) as simulator:
                sequential = _seconds_per_batch(1, template, resolver, simulator.url)
                concurrent = _seconds_per_batch(BATCH_SIZE, template, resolver, simulator.url)
            print(
                f"  eSMS latency {latency:4.0f} ms: one by one (baseline) {sequential * 1000:7.1f} ms,"
                f" concurrent {concurrent * 1000:7.1f} ms -> {sequential / concurrent:.1f}x faster"
            )
    print(f"  (ideal {BATCH_SIZE}x; the rest is moto's in-process DynamoDB, which is CPU, not network)")
    return 0
