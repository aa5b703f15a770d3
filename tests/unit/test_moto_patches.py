"""The local stack's patches of moto: pinned to the code they were written for, and doing what they claim.

In-process here (moto's mock, as the other tests use it); tests/e2e/test_moto_server.py runs the same
concurrency scenarios against the moto server process, and DynamoDB Streams there (moto 5.2.5's
in-process mock does not route dynamodbstreams requests: it answers them 404).
"""

from __future__ import annotations

import base64
import json
import re
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.serialize import XFormedAttributePicker, get_serializer_class
from moto.core.utils import get_service_model
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodb.responses import DynamoResult
from moto.sqs.models import Message

from local.aws.patches import SERVER_PATCHES, SPEEDUPS, responses
from local.aws.patches import atomic as moto_atomic
from local.aws.patches import streams as moto_streams
from local.aws.patches.patching import (
    CHECKED_VERSIONS,
    Patch,
    PatchedTwice,
    apply,
    patched,
    source_fingerprint,
)
from local.runtime.template import Resolver
from tests.support.moto_concurrency import claim_winners, create_stream_table, deliveries, torn_reads

EVERY_PATCH = SERVER_PATCHES
REQUIREMENTS_DEV = Path(__file__).resolve().parents[2] / "requirements-dev.txt"
_PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(\S+)", re.MULTILINE)


def label(patch: Patch) -> str:
    return patch.label


@pytest.mark.parametrize("patch", EVERY_PATCH, ids=label)
def test_each_patch_still_matches_the_code_it_was_written_for(patch: Patch) -> None:
    # Given a patch written against the libraries at CHECKED_VERSIONS
    # When the installed code it replaces (or relies on) is fingerprinted
    fingerprint = source_fingerprint(patch.checked_code())

    # Then it is still that code; if not, re-read the patch against the new code, then update the fingerprint
    assert fingerprint == patch.fingerprint, (
        f"{patch.label} is not as in {CHECKED_VERSIONS}:"
        f" check that the patch still holds, then set its fingerprint to {fingerprint!r}"
    )


def distribution(code: Any) -> str:
    """The installed distribution (its normalised name) that a module, class or function comes from."""
    if isinstance(code, property):
        code = code.fget
    elif isinstance(code, staticmethod | classmethod):
        code = code.__func__
    module = code.__name__ if isinstance(code, ModuleType) else code.__module__
    [name] = metadata.packages_distributions()[module.split(".")[0]]
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_library_the_patches_touch_is_pinned_at_the_version_they_were_checked_against() -> None:
    # Given the libraries whose code the patches replace or rely on
    touched = {distribution(code) for patch in EVERY_PATCH for code in (patch.owner, patch.checked_code())}

    # When requirements-dev.txt's pins and the installed versions are read
    pins = {
        re.sub(r"[-_.]+", "-", name).lower(): version
        for name, version in _PIN.findall(REQUIREMENTS_DEV.read_text())
    }
    installed = {name: metadata.version(name) for name in touched}

    # Then each is pinned, and installed, at the version the patches were checked against
    assert touched == {"moto", "werkzeug", "jsonpath-ng"}
    assert {name: pins.get(name) for name in touched} == {name: CHECKED_VERSIONS[name] for name in touched}
    assert installed == {name: CHECKED_VERSIONS[name] for name in touched}


def test_no_attribute_is_patched_twice() -> None:
    targets = Counter((patch.owner, patch.name) for patch in EVERY_PATCH)

    assert [f"{owner.__name__}.{name}" for (owner, name), count in targets.items() if count > 1] == []


def test_every_patch_says_why_in_one_line() -> None:
    assert [patch.label for patch in EVERY_PATCH if not patch.why.strip() or "\n" in patch.why] == []


def test_a_second_patch_of_an_attribute_is_refused_until_the_first_is_undone() -> None:
    # Given a patch of an attribute, installed
    class Owner:
        def greet(self) -> str:
            return "moto"

    shout = Patch(Owner, "greet", lambda greet: lambda self: greet(self).upper(), "", why="louder")
    undo = apply([shout])
    try:
        # When it is installed again, or another patch of the same attribute is
        for patches in ([shout], [Patch(Owner, "greet", lambda _: lambda self: "other", "", why="other")]):
            with pytest.raises(PatchedTwice, match=r"Owner\.greet"):
                apply(patches)

        # Then it is refused, and the first patch stands
        assert Owner().greet() == "MOTO"
    finally:
        undo()
    undo()  # (undoing twice changes nothing)

    # And once the first is undone, the attribute can be patched again, but not twice in one call
    assert Owner().greet() == "moto"
    with pytest.raises(PatchedTwice):
        apply([shout, shout])
    assert Owner().greet() == "moto"
    with patched([shout]):
        assert Owner().greet() == "MOTO"
    assert Owner().greet() == "moto"


def stream_and_copies_after_updates(install_order: list[tuple[Patch, ...]]) -> list[Any]:
    """In a fresh mock, the patch groups installed in this order, then undone in the same order: an item
    created by a conditional UpdateItem, then updated, then refused an update; what its stream recorded
    and whether each stored item object stayed as its write left it."""
    with mock_aws():
        undos = [apply(patches) for patches in install_order]
        try:
            dynamodb = boto3.client("dynamodb", region_name="ap-southeast-1")
            create_stream_table(dynamodb, "ordered")
            table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-1"].get_table("ordered")
            key = {"request_id": {"S": "r-1"}}

            def set_note(value: str, *, only_new: bool) -> None:
                arguments: dict[str, Any] = {"ExpressionAttributeValues": {":v": {"S": value}}}
                if only_new:
                    arguments["ConditionExpression"] = "attribute_not_exists(request_id)"
                dynamodb.update_item(
                    TableName="ordered", Key=key, UpdateExpression="SET note = :v", **arguments
                )

            set_note("created", only_new=True)
            created = table.get_item(DynamoType(key["request_id"]), None)
            assert created is not None and table.stream_shard is not None
            set_note("updated", only_new=False)
            with pytest.raises(ClientError, match="ConditionalCheckFailed"):
                set_note("refused", only_new=True)
            records = [
                (record.record["eventName"], record.record["dynamodb"].get("NewImage"))
                for record in table.stream_shard.items
            ]
            return [records, created.attrs["note"].value]
        finally:
            for undo in undos:
                undo()


def test_the_dynamodb_patches_give_the_same_result_in_either_order_of_installation() -> None:
    # Given moto's own UpdateItem and stream
    moto_update_item, moto_add = vars(DynamoDBBackend)["update_item"], vars(StreamShard)["add"]

    # When the atomic-write and stream patches are installed in one order, then in the other
    results = [
        stream_and_copies_after_updates(order)
        for order in (
            [moto_atomic.PATCHES, moto_streams.PATCHES],
            [moto_streams.PATCHES, moto_atomic.PATCHES],
        )
    ]

    # Then each order gives one stream record per write (no placeholder), and an item object the update
    # copied rather than changed
    expected = [
        [
            ("INSERT", {"request_id": {"S": "r-1"}, "note": {"S": "created"}}),
            ("MODIFY", {"request_id": {"S": "r-1"}, "note": {"S": "updated"}}),
        ],
        "created",
    ]
    assert results == [expected, expected]
    # And undone in the order they were installed, moto is itself again
    assert (vars(DynamoDBBackend)["update_item"], vars(StreamShard)["add"]) == (moto_update_item, moto_add)


# --- DynamoDB: atomic writes, whole reads, Scans that do not block --------------------------------------


@pytest.fixture
def eager_thread_switches() -> Iterator[None]:
    """Threads switch as often as CPython allows, so that a race has every chance to show.

    (Without the patches, the scenarios below then see two or more winners, and half-applied updates.)
    """
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


@pytest.fixture
def dynamodb(aws: boto3.Session) -> Any:
    return aws.client("dynamodb")


@pytest.fixture
def table(deployment: Resolver) -> str:
    return deployment.ref("MessagesTable")


def test_concurrent_conditional_writes_of_one_new_item_have_exactly_one_winner(
    dynamodb: Any, table: str
) -> None:
    # Given eight writers creating the same item at the same moment, each only if it does not exist yet
    # When they race, round after round
    winners = claim_winners(dynamodb, table, rounds=10)

    # Then each round has exactly one winner, as on DynamoDB
    assert winners == [1] * 10


@pytest.mark.usefixtures("eager_thread_switches")
def test_scans_and_reads_never_see_half_an_update(dynamodb: Any, table: str) -> None:
    # Given an item whose two attributes every update sets to the same new value
    # When Scans and GetItems read it while the updates run
    reads, torn = torn_reads(dynamodb, table, writes=60)

    # Then every read saw both attributes from the same update
    assert reads > 0
    assert torn == []


def test_a_scan_in_progress_does_not_hold_up_writes_to_its_table(
    dynamodb: Any, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a Scan of the table that is paused halfway (it has taken its snapshot of the table)
    dynamodb.put_item(TableName=table, Item={"request_id": {"S": "before"}})
    scanning, resume = threading.Event(), threading.Event()
    read_all_items = Table.all_items

    def paused_all_items(view: Table) -> Any:
        scanning.set()
        resume.wait(timeout=30)
        return read_all_items(view)

    monkeypatch.setattr(Table, "all_items", paused_all_items)
    with ThreadPoolExecutor(2) as pool:
        scan = pool.submit(dynamodb.scan, TableName=table)
        try:
            assert scanning.wait(timeout=30)

            # When another client writes to the table meanwhile
            write = pool.submit(
                dynamodb.put_item,
                TableName=table,
                Item={"request_id": {"S": "during"}},
                ConditionExpression="attribute_not_exists(request_id)",
            )

            # Then the write completes while the Scan is still paused
            write.result(timeout=30)
            assert not scan.done()
        finally:
            resume.set()
        # And the Scan shows the table as it was when it started
        assert [item["request_id"]["S"] for item in scan.result(timeout=30)["Items"]] == ["before"]


# --- The speed-ups keep moto's behaviour -----------------------------------------------------------------


@pytest.fixture
def fast_moto(aws: boto3.Session) -> Iterator[boto3.Session]:
    """moto with the speed-ups the moto server process installs."""
    with patched(SPEEDUPS):
        yield aws


@pytest.fixture
def sqs(fast_moto: boto3.Session) -> Any:
    return fast_moto.client("sqs")


@pytest.mark.usefixtures("eager_thread_switches")
def test_concurrent_pollers_receive_each_message_exactly_once(sqs: Any) -> None:
    # Given a queue that five pollers receive from and delete from while messages are being sent
    queue_url = sqs.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]

    # When 300 messages go through it
    delivered = deliveries(sqs, queue_url, messages=300, pollers=5)

    # Then each was delivered once: none lost, none twice
    assert delivered == Counter({f"message-{index}": 1 for index in range(300)})


def test_a_message_can_be_deleted_with_any_handle_it_was_received_with(sqs: Any) -> None:
    # Given a message received, made visible again and received a second time
    queue_url = sqs.create_queue(QueueName="handles")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="once")
    first = sqs.receive_message(QueueUrl=queue_url, AttributeNames=["All"])["Messages"][0]
    sqs.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0
    )
    second = sqs.receive_message(QueueUrl=queue_url, AttributeNames=["All"])["Messages"][0]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"

    # When it is deleted with its first receipt handle (moto accepts any handle it was received with)
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=first["ReceiptHandle"])

    # Then the queue is empty, deleting it again is harmless, and a handle never issued is refused
    counts = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) == (
        "0",
        "0",
    )
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=second["ReceiptHandle"])
    with pytest.raises(ClientError) as refused:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle="never-issued")
    assert refused.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"


def test_a_message_received_max_receive_count_times_moves_to_the_dead_letter_queue(sqs: Any) -> None:
    # Given a queue that gives a message up after two receives
    dlq_url = sqs.create_queue(QueueName="dead")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    queue_url = sqs.create_queue(QueueName="live", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="poison")

    # When it is received twice and released each time
    for _ in range(2):
        message = sqs.receive_message(QueueUrl=queue_url)["Messages"][0]
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )

    # Then the next receive finds it in the dead-letter queue, not in the queue, and it can be deleted there
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url)
    dead = sqs.receive_message(QueueUrl=dlq_url)["Messages"]
    assert [message["Body"] for message in dead] == ["poison"]
    sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=dead[0]["ReceiptHandle"])


def test_queue_counts_tell_visible_in_flight_and_delayed_messages_apart(sqs: Any) -> None:
    # Given a queue with a delayed message, a received one and two waiting
    queue_url = sqs.create_queue(QueueName="counted")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="later", DelaySeconds=600)
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1)

    # When its counts are read
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]

    # Then each message is counted where it is
    assert attributes["ApproximateNumberOfMessages"] == "2"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"


def test_served_messages_are_not_kept_by_moto_bookkeeping(sqs: Any) -> None:
    # Given moto's record of every Message object it made
    queue_url = sqs.create_queue(QueueName="untracked")["QueueUrl"]
    tracked = len(Message.instances_tracked)  # type: ignore[attr-defined]

    # When messages are sent and received (each receive copies the message)
    sqs.send_message_batch(
        QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(10)]
    )
    sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)

    # Then none of them stays in that record
    assert len(Message.instances_tracked) == tracked  # type: ignore[attr-defined]


def test_invalid_update_expressions_are_still_refused(fast_moto: boto3.Session, table: str) -> None:
    dynamodb = fast_moto.client("dynamodb")
    key = {"request_id": {"S": "r-1"}}
    value = {":v": {"S": "x"}}
    # Given expressions with two SET clauses, and with one attribute set twice
    for expression, complaint in (
        ("SET a = :v SET b = :v", 'The "SET" section can only be used once in an update expression'),
        ("SET a = :v, a = :v", "Two document paths overlap with each other"),
    ):
        # When an UpdateItem uses one
        with pytest.raises(ClientError) as refused:
            dynamodb.update_item(
                TableName=table, Key=key, UpdateExpression=expression, ExpressionAttributeValues=value
            )

        # Then moto refuses it as DynamoDB would
        assert refused.value.response["Error"]["Code"] == "ValidationException"
        assert complaint in refused.value.response["Error"]["Message"]


def test_an_expression_checked_once_is_still_checked_with_other_names(
    fast_moto: boto3.Session, table: str
) -> None:
    dynamodb = fast_moto.client("dynamodb")
    key = {"request_id": {"S": "r-1"}}
    value = {":v": {"S": "x"}}
    # Given an expression that passed its checks with one attribute name
    for _ in range(2):
        dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #a = :v",
            ExpressionAttributeNames={"#a": "note"},
            ExpressionAttributeValues=value,
        )

    # When the same expression names the table's key instead
    with pytest.raises(ClientError) as refused:
        dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #a = :v",
            ExpressionAttributeNames={"#a": "request_id"},
            ExpressionAttributeValues=value,
        )

    # Then moto refuses it as DynamoDB would, and the first item is as the first writes left it
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "key" in refused.value.response["Error"]["Message"].lower()
    item = dynamodb.get_item(TableName=table, Key=key)["Item"]
    assert item == {"request_id": {"S": "r-1"}, "note": {"S": "x"}}


RESPONSE_SPEEDUPS = {"dynamo_to_dict", "_serialize_type_structure"}


def test_attribute_values_serialize_exactly_as_moto_serializes_them() -> None:
    # Given a Scan result holding every kind of attribute value, nested ones included
    values: dict[str, dict[str, Any]] = {
        "s": {"S": "x"},
        "n": {"N": "1.5"},
        "b": {"B": base64.b64encode(b"\x00\x01").decode()},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2"]},
        "bs": {"BS": [base64.b64encode(b"zz").decode()]},
        "null": {"NULL": True},
        "yes": {"BOOL": True},
        "no": {"BOOL": False},
        "m": {
            "M": {
                "a": {"S": "1"},
                "empty": {"M": {}},
                "l": {"L": [{"N": "1"}, {"M": {"x": {"BOOL": False}}}]},
            }
        },
        "empty": {"L": []},
    }
    item = {name: DynamoType(value) for name, value in values.items()}
    result = {"Count": 1, "ScannedCount": 1, "Items": [item], "LastEvaluatedKey": {"s": {"S": "x"}}}

    # When it is converted and serialized as moto does, and with the speed-ups
    as_moto_does = scan_response_body(result)
    undo = apply(patch for patch in responses.PATCHES if patch.name in RESPONSE_SPEEDUPS)
    try:
        with_the_speedup = scan_response_body(result)
    finally:
        undo()

    # Then both write the same document
    assert json.loads(with_the_speedup) == json.loads(as_moto_does)


def scan_response_body(result: dict[str, Any]) -> str:
    service = get_service_model("dynamodb")
    serializer = get_serializer_class("dynamodb", service.protocol)(
        operation_model=service.operation_model("Scan"),
        pretty_print=False,
        value_picker=XFormedAttributePicker(response_transformers=None),
    )
    return str(serializer.serialize(DynamoResult(result).result)["body"])


def test_a_scan_walks_items_in_moto_s_key_order() -> None:
    # Given tables keyed by numbers, by strings, and by a string and a number
    schemas = {
        "numbers": [("id", "HASH", "N")],
        "strings": [("id", "HASH", "S")],
        "pairs": [("id", "HASH", "S"), ("at", "RANGE", "N")],
    }
    keys: dict[str, list[dict[str, Any]]] = {
        "numbers": [{"id": {"N": n}} for n in ("10", "9", "1.5", "-2", "100")],
        "strings": [{"id": {"S": s}} for s in ("b", "a", "B", "10", "9")],
        "pairs": [{"id": {"S": s}, "at": {"N": n}} for s in ("b", "a") for n in ("10", "9", "-1")],
    }
    all_items = next(patch for patch in responses.PATCHES if patch.name == "all_items")
    for name, schema in schemas.items():
        table = Table(  # type: ignore[abstract]
            name,
            account_id="123456789012",
            region="ap-southeast-1",
            schema=[{"AttributeName": attribute, "KeyType": role} for attribute, role, _ in schema],
            attr=[{"AttributeName": attribute, "AttributeType": kind} for attribute, _, kind in schema],
        )
        for key in keys[name]:
            table.put_item(key)

        # When its items are listed for a Scan, as moto does and with the speed-up
        as_moto_does = [item.to_json()["Attributes"] for item in all_items.original()(table)]
        with_the_speedup = [item.to_json()["Attributes"] for item in all_items.replace(None)(table)]

        # Then the order is the same
        assert with_the_speedup == as_moto_does, name
