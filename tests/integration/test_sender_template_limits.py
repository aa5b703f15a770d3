"""SenderFunction checks TempData against its template's registered limits (GetZnsTemplateInfo) before it
sends: what eSMS would refuse with 790 ends REJECTED unsent; when eSMS cannot say, the message is sent."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest

from local.runtime.lambda_runtime import function_output_to
from local.runtime.template import Resolver
from tests.conftest import DEFAULT_OA_ID, LoadedFunction, secret_values
from tests.integration.test_sender_handler import batch, emitted_metrics, failures, item
from tests.support.esms_stub import EsmsStub, Reply, template_info, unknown_template

TEMP_ID = "2056446"  # the TempID of events/sender-batch.json's ten messages


def parameter(name: str, max_length: int, type_: str = "STRING", required: bool = True) -> dict[str, object]:
    return {
        "AcceptNull": False, "MaxLength": max_length, "MinLength": 0, "Name": name,
        "Require": required, "Type": type_,
    }  # fmt: skip


# The batch's customer names are 11 to 14 characters long: at most 13 leaves some too long
AT_MOST_13 = template_info(
    TEMP_ID,
    parameter("customer_name", 13),
    parameter("order_code", 30),
    parameter("amount", 12, "NUMBER"),
    parameter("date", 10, "DATE"),
)


def counted(output: str, name: str) -> list[object]:
    return [metric[name] for metric in emitted_metrics(output) if name in metric]


def invoke(
    sender: LoadedFunction, event: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> tuple[Any, str]:
    """The sender's answer, and what it wrote: its log lines as CloudWatch would get them, its metrics."""
    logged = io.StringIO()
    with function_output_to(logged):
        response = sender.invoke(event)
    return response, logged.getvalue() + capsys.readouterr().out


@pytest.mark.parametrize("sandbox", ["0", "1"])
def test_a_message_that_does_not_fit_its_template_is_rejected_unsent_saying_why(
    sandbox: str,
    sender: LoadedFunction,
    esms: EsmsStub,
    aws: boto3.Session,
    deployment: Resolver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given eSMS's template takes customer names of at most 13 characters
    esms.template_responder = lambda query: AT_MOST_13
    event = batch(deployment, "sender-batch.json", Sandbox=sandbox)
    bodies = [json.loads(record["body"]) for record in event["Records"]]

    # When the batch is sent
    response, output = invoke(sender, event, capsys)

    # Then each message with a longer name is REJECTED with the reason, and eSMS never saw it sent
    assert failures(response) == []
    for body in bodies:
        stored = item(aws, deployment, body["RequestId"]) or {}
        name = body["TempData"]["customer_name"] if isinstance(body["TempData"], dict) else None
        name = name or next(p["value"] for p in body["TempData"] if p["key"] == "customer_name")
        if len(name) > 13:
            assert stored["status"] == "REJECTED"
            assert stored["error"] == (
                f"TempData does not fit template {TEMP_ID} as eSMS has it: "
                f"customer_name: {len(name)} characters, at most 13"
            )
            assert esms.sends_for(body["RequestId"]) == 0
            # with what the status API's lists and the events need (its phone, template, campaign)
            assert stored["temp_id"] == TEMP_ID and stored["phone"].startswith("0")
        else:
            assert stored["status"] == "ACCEPTED"
            assert esms.sends_for(body["RequestId"]) == 1
    assert 0 < len(esms.bodies) < len(bodies)
    sent_before = list(esms.bodies)
    # And the ten messages' threads asked eSMS for the template once, with the account's keys
    credentials = secret_values(aws, deployment)
    assert esms.template_queries == [
        {
            "TemplateId": TEMP_ID,
            "ApiKey": credentials["ApiKey"],
            "SecretKey": credentials["SecretKey"],
            "OAId": DEFAULT_OA_ID,
        }
    ]
    # And each rejection's log line names its RequestId, and none quotes a rejected value
    rejections = [line for line in output.splitlines() if "does not fit its template" in line]
    assert rejections and all('"correlation_id":"' in line for line in rejections)
    assert "Lê Hoàng Cường" in json.dumps([b["TempData"] for b in bodies], ensure_ascii=False)
    assert "Lê Hoàng Cường" not in output and "L\\u00ea Ho\\u00e0ng" not in output

    # When the same batch comes again (SQS delivers at least once; a producer retries the same body)
    again, output = invoke(sender, event, capsys)

    # Then nothing is sent, and no rejected message is taken for another under its RequestId
    assert failures(again) == []
    assert esms.bodies == sent_before
    assert "RequestIdReused" not in output
    for body in bodies:
        assert "reused" not in json.dumps((item(aws, deployment, body["RequestId"]) or {}).get("history"))


@pytest.mark.parametrize(
    "answer",
    [Reply(status=503, body="Service Unavailable"), Reply(drop=True), unknown_template()],
    ids=["5xx", "no answer", "refused"],
)
def test_when_esms_cannot_say_what_the_template_takes_the_message_is_sent_as_before(
    answer: Reply,
    sender: LoadedFunction,
    esms: EsmsStub,
    aws: boto3.Session,
    deployment: Resolver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    esms.template_responder = lambda query: answer
    event = batch(deployment, "sender-batch.json")

    response, output = invoke(sender, event, capsys)

    # Every message was sent and accepted; the failed look-up was made once, counted once
    assert failures(response) == []
    assert len(esms.bodies) == 10
    assert len(esms.template_queries) == 1
    for record in event["Records"]:
        stored = item(aws, deployment, json.loads(record["body"])["RequestId"]) or {}
        assert stored["status"] == "ACCEPTED"
    assert counted(output, "TemplateInfoUnavailable") in ([1.0], [[1.0]])
    assert "sending unchecked" in output
    credentials = secret_values(aws, deployment)
    assert credentials["SecretKey"] not in output


def test_a_template_not_enabled_is_counted_and_its_messages_are_sent_for_zalo_to_judge(
    sender: LoadedFunction,
    esms: EsmsStub,
    aws: boto3.Session,
    deployment: Resolver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    esms.template_responder = lambda query: template_info(
        TEMP_ID, parameter("customer_name", 100), status="DISABLE"
    )
    event = batch(deployment, "sender-eventbridge-wrapped.json")

    _, output = invoke(sender, event, capsys)

    # Then the message is sent (a template under review or disabled for now is not the message's fault:
    # Zalo's refusal, -131 or -146, is reported and handled as such), not REJECTED
    stored = item(aws, deployment, "eb-order-DH240888") or {}
    assert stored["status"] == "ACCEPTED"
    assert esms.sends_for("eb-order-DH240888") == 1
    # And the template's state is counted (an alarm watches it) and logged with its TempID
    metrics = [metric for metric in emitted_metrics(output) if "TemplateNotEnabled" in metric]
    assert len(metrics) == 1
    assert metrics[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert f'"temp_id":"{TEMP_ID}","template_status":"DISABLE"' in output  # the log line names it
