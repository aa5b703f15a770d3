"""What producers and consumers are given to read: a status event's detail as the publisher makes it is
valid against schema/status-event-detail.schema.json, and the Node.js producer example sends a body valid
against schema/zns-message.schema.json."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEMPLATE, load_event
from tests.support.contracts import SCHEMA_FOLDER, contract, problems
from zns_relay.models.contract import parse_message_body
from zns_relay.models.events import DETAIL_TYPE, PhoneFormat
from zns_relay.models.stream import item_changes
from zns_relay.status_events.publisher import StatusEventPublisher
from zns_relay_client.schema import CONTRACT_FILES, write_contracts

NODE_PRODUCER = Path(__file__).resolve().parents[2] / "examples" / "node-producer"


class RecordingBus:
    """An EventBridge client that takes every entry."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def put_events(self, **request: Any) -> dict[str, Any]:
        self.entries += request["Entries"]
        return {"Entries": [{"EventId": f"e-{index}"} for index, _ in enumerate(request["Entries"])]}


@pytest.mark.parametrize("phone_format", list(PhoneFormat))
def test_the_details_the_publisher_puts_on_the_bus_are_valid_against_their_schema(
    phone_format: PhoneFormat,
) -> None:
    # Given the sample stream records (a claim, an acceptance, a note, a failure with Zalo's error)
    bus = RecordingBus()
    publisher = StatusEventPublisher(bus, "status-bus", phone_format)

    # When the publisher publishes them
    assert publisher.publish(item_changes(load_event("publisher-status-changes.json"))) == []

    # Then each event's detail, as put on the bus, is valid against the committed schema
    assert [entry["DetailType"] for entry in bus.entries] == [DETAIL_TYPE] * 3
    schema = contract("status-event-detail.schema.json")
    for entry in bus.entries:
        assert problems(json.loads(entry["Detail"]), schema) == []


def test_a_detail_missing_a_key_or_with_an_unknown_status_is_not_valid() -> None:
    bus = RecordingBus()
    StatusEventPublisher(bus, "status-bus").publish(item_changes(load_event("publisher-status-changes.json")))
    detail = json.loads(bus.entries[-1]["Detail"])
    schema = contract("status-event-detail.schema.json")

    assert problems({**detail, "status": "LOST"}, schema)
    assert problems({key: value for key, value in detail.items() if key != "fallbackFor"}, schema)


def test_the_openapi_document_describes_every_route_of_the_status_api_and_no_other() -> None:
    # Given the routes API Gateway has for StatusFunction (the template's), and the committed document
    routes = [event["Properties"] for event in TEMPLATE.function("StatusFunction").events.values()]
    document = contract("status-api.openapi.json")

    # Then the document has exactly those routes, each with its path's parameters, all SigV4-signed
    described = {
        (method.upper(), path) for path, operations in document["paths"].items() for method in operations
    }
    assert described == {(route["Method"], route["Path"]) for route in routes}
    for path, operations in document["paths"].items():
        in_path = {
            parameter["name"] for parameter in operations["get"]["parameters"] if parameter["in"] == "path"
        }
        assert in_path == set(re.findall(r"{(\w+)}", path))
    assert {TEMPLATE.route_authorizer(route) for route in routes} == {"AWS_IAM"}
    assert document["security"] == [{"sigv4": []}]


def test_the_node_producer_sends_a_body_valid_against_the_producer_contract() -> None:
    # Given the body the Node.js example reads and sends
    text = (NODE_PRODUCER / "example-message.json").read_text(encoding="utf-8")
    assert 'readFileSync(new URL("./example-message.json"' in (NODE_PRODUCER / "index.mjs").read_text()

    # Then it is valid against the committed schema, and zns-relay's own parser takes it as it is
    assert problems(json.loads(text), contract("zns-message.schema.json")) == []
    assert parse_message_body(text).request_id == "order-DH240501-confirm"


def test_the_node_producer_pins_its_sdk() -> None:
    package = json.loads((NODE_PRODUCER / "package.json").read_text())
    assert package["dependencies"]["@aws-sdk/client-sqs"][0].isdigit()


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_node_producer_is_valid_javascript() -> None:
    node = shutil.which("node")
    assert node is not None
    checked = subprocess.run(  # noqa: S603 (a fixed command on a file of this repository)
        [node, "--check", "index.mjs"], cwd=NODE_PRODUCER, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr


def test_make_schema_writes_every_contract_file_into_the_folder_given(tmp_path: Path) -> None:
    written = write_contracts(tmp_path)

    assert sorted(path.name for path in written) == sorted(CONTRACT_FILES)
    for path in written:
        assert path.read_bytes() == (SCHEMA_FOLDER / path.name).read_bytes()
