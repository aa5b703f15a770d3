"""The keyed duplicate fingerprint through SenderFunction on moto: made under the fingerprint secret's
key, a rotation of that key never turns a retry into "another message", and a different message under
the same RequestId is still refused, before, during and after the rotation."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest

from local.runtime.template import Resolver
from tests.conftest import (
    DEFAULT_OA_ID,
    LoadedFunction,
    load_event,
    load_function,
    secret_values,
    sender_overrides,
)
from tests.support.esms_stub import EsmsStub, Reply, accepted
from zns_relay.models.contract import parse_message_body
from zns_relay.models.esms import ZaloSendRequest
from zns_relay.sender.fingerprint import fingerprint

REQUEST_ID = "eb-order-DH240888"  # the message of events/sender-eventbridge-wrapped.json
KEY_A = "fingerprint-key-a-0123456789abcdefghijklmnopqrst"
KEY_B = "fingerprint-key-b-0123456789abcdefghijklmnopqrst"


def batch(deployment: Resolver, receive_count: int = 1, **changes: str) -> dict[str, Any]:
    """events/sender-eventbridge-wrapped.json from SendQueue, its message edited by `changes`."""
    event = copy.deepcopy(load_event("sender-eventbridge-wrapped.json"))
    [record] = event["Records"]
    wrapper = json.loads(record["body"])
    record["body"] = json.dumps({**wrapper, "detail": {**wrapper["detail"], **changes}})
    record["eventSourceARN"] = deployment.get_att("SendQueue", "Arn")
    record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    return event


def failures(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def item(aws: boto3.Session, deployment: Resolver) -> dict[str, Any]:
    table = aws.resource("dynamodb").Table(deployment.ref("MessagesTable"))
    found: dict[str, Any] = table.get_item(Key={"request_id": REQUEST_ID}, ConsistentRead=True)["Item"]
    return found


def the_message(event: dict[str, Any]) -> ZaloSendRequest:
    """The send request the sender makes of the event's message (the fingerprint's input)."""
    message = parse_message_body(event["Records"][0]["body"])
    return ZaloSendRequest(
        phone=message.phone,
        oa_id=message.oa_id or DEFAULT_OA_ID,
        temp_id=message.temp_id,
        temp_data=message.template_params(),
        request_id=REQUEST_ID,
        sandbox=False,
    )


def put_keys(aws: boto3.Session, deployment: Resolver, current: str, previous: str | None = None) -> None:
    document = {"FingerprintKey": current, **({"PreviousFingerprintKey": previous} if previous else {})}
    aws.client("secretsmanager").put_secret_value(
        SecretId=deployment.ref("FingerprintKeySecret"), SecretString=json.dumps(document)
    )


def stored_fingerprint(aws: boto3.Session, deployment: Resolver) -> str:
    return str(item(aws, deployment)["fingerprint"])


def reused_notes(aws: boto3.Session, deployment: Resolver) -> int:
    history = item(aws, deployment)["history"]
    return sum(1 for entry in history if entry["detail"].startswith("RequestId reused"))


@pytest.fixture
def fresh_keys_sender(
    deployment: Resolver, esms: EsmsStub, monkeypatch: pytest.MonkeyPatch
) -> LoadedFunction:
    """A sender that reads its secrets on every use (no cache): a rotation reaches it at once."""
    overrides = {**sender_overrides(esms), "SECRET_MAX_AGE_SECONDS": "0"}
    return load_function("SenderFunction", deployment, monkeypatch, overrides)


def test_the_fingerprint_is_a_mac_under_the_secrets_key(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given the message, sent
    event = batch(deployment)
    sender.invoke(event)

    # Then its item's fingerprint is the HMAC under the generated FingerprintKey: another key, another one
    key = secret_values(aws, deployment, "FingerprintKeySecret")["FingerprintKey"].encode()
    held = stored_fingerprint(aws, deployment)
    assert held == fingerprint(key, the_message(event))
    assert held != fingerprint(b"another key", the_message(event))


def test_a_rotation_keeps_a_retry_the_same_message_and_another_message_still_refused(
    fresh_keys_sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given a message eSMS refused for now, fingerprinted under key A
    put_keys(aws, deployment, KEY_A)
    event = batch(deployment)
    esms.responder = lambda body: Reply(status=503, body="")
    fresh_keys_sender.invoke(event)
    assert stored_fingerprint(aws, deployment) == fingerprint(KEY_A.encode(), the_message(event))

    # When the key is rotated (B current, A previous), a different message arrives under the same
    # RequestId, and then the message's own retry comes
    put_keys(aws, deployment, KEY_B, previous=KEY_A)
    esms.responder = lambda body: accepted("smsid-1")
    other = batch(deployment, Phone="0912345678")
    assert failures(fresh_keys_sender.invoke(other)) == []
    assert failures(fresh_keys_sender.invoke(batch(deployment, receive_count=2))) == []

    # Then the other message is refused unsent, and the retry is sent and now fingerprinted under B
    assert reused_notes(aws, deployment) == 1
    assert esms.sends_for(REQUEST_ID) == 2
    assert [body["Phone"] for body in esms.bodies] == ["0987654321", "0987654321"]
    assert item(aws, deployment)["status"] == "ACCEPTED"
    assert stored_fingerprint(aws, deployment) == fingerprint(KEY_B.encode(), the_message(event))

    # And once the previous key is gone, a repeat is a plain duplicate and the other message still refused
    put_keys(aws, deployment, KEY_B)
    fresh_keys_sender.invoke(event)
    fresh_keys_sender.invoke(other)
    assert reused_notes(aws, deployment) == 2
    assert esms.sends_for(REQUEST_ID) == 2


def test_a_sender_holding_the_old_key_reads_the_secret_again_before_it_calls_a_retry_another_message(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given a message eSMS refused for now, sent by a sender that caches key A (five minutes)
    put_keys(aws, deployment, KEY_A)
    event = batch(deployment)
    esms.responder = lambda body: Reply(status=503, body="")
    sender.invoke(event)

    # When the key is rotated and another sender, already on key B, claims and writes it meanwhile
    put_keys(aws, deployment, KEY_B, previous=KEY_A)
    table = aws.resource("dynamodb").Table(deployment.ref("MessagesTable"))
    table.update_item(
        Key={"request_id": REQUEST_ID},
        UpdateExpression="SET fingerprint = :b",
        ExpressionAttributeValues={":b": fingerprint(KEY_B.encode(), the_message(event))},
    )
    esms.responder = lambda body: accepted("smsid-1")
    first = sender.invoke(batch(deployment, receive_count=2))

    # Then the sender re-reads the secret and hands the record back, not calling it another message;
    # on its next receive it claims and sends it
    assert len(failures(first)) == 1
    assert reused_notes(aws, deployment) == 0
    assert failures(sender.invoke(batch(deployment, receive_count=3))) == []
    assert esms.sends_for(REQUEST_ID) == 2
    assert item(aws, deployment)["status"] == "ACCEPTED"


def test_an_item_fingerprinted_before_fingerprints_were_keyed_is_taken_for_the_same_message(
    sender: LoadedFunction, esms: EsmsStub, aws: boto3.Session, deployment: Resolver
) -> None:
    # Given a message retrying since before the upgrade: its item holds a plain SHA-256 fingerprint
    event = batch(deployment)
    esms.responder = lambda body: Reply(status=503, body="")
    sender.invoke(event)
    table = aws.resource("dynamodb").Table(deployment.ref("MessagesTable"))
    table.update_item(
        Key={"request_id": REQUEST_ID},
        UpdateExpression="SET fingerprint = :plain",
        ExpressionAttributeValues={":plain": "3f1c2a9be04d5c6f7a8b9c0d1e2f3a4b"},
    )

    # When its retry comes
    esms.responder = lambda body: accepted("smsid-1")
    assert failures(sender.invoke(batch(deployment, receive_count=2))) == []

    # Then it is sent, and its item now holds the keyed fingerprint instead
    assert esms.sends_for(REQUEST_ID) == 2
    key = secret_values(aws, deployment, "FingerprintKeySecret")["FingerprintKey"].encode()
    assert stored_fingerprint(aws, deployment) == fingerprint(key, the_message(event))
