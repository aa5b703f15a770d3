"""The scrubbing behind every log line and every X-Ray document: the secret values read (plain,
JSON-escaped, URL-encoded) and CallbackUrl signatures (however the URL is written) never pass."""

from __future__ import annotations

import io
import json
import logging
import socket
import traceback
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest
from aws_xray_sdk.core.models.segment import Segment
from aws_xray_sdk.core.models.subsegment import Subsegment

from zns_relay.config.observability import (
    REDACTED,
    ScrubbedFormatter,
    ScrubbingEmitter,
    SecretValues,
    secret_values,
)

SECRET = 'key+/="7'  # characters every encoding changes
SIGNATURE = "AbCdEfGhIjKlMnOpQrSt_-"
CALLBACK_URL = f"https://relay.example/dev/callbacks/esms/otp-1:a.b/{SIGNATURE}"


@pytest.mark.parametrize(
    "written",
    [
        SECRET,
        json.dumps(SECRET)[1:-1],
        quote_plus(SECRET),
        quote(SECRET, safe=""),
        CALLBACK_URL,
        json.dumps(CALLBACK_URL).replace("/", "\\/"),
        quote(CALLBACK_URL, safe=""),
        f"{CALLBACK_URL}?SMSID=x",
    ],
    ids=["plain", "json", "form", "percent", "url", "json-url", "encoded-url", "url-with-query"],
)
def test_secret_values_and_signatures_are_scrubbed_however_written(written: str) -> None:
    values = SecretValues()
    values.add(SECRET)

    scrubbed = values.scrub(f"before {written} after")

    assert SECRET not in scrubbed
    assert SIGNATURE not in scrubbed
    assert REDACTED in scrubbed
    assert scrubbed.startswith("before ")
    assert scrubbed.endswith(" after")


def test_a_scrubbed_document_stays_json() -> None:
    document = json.dumps({"metadata": {"inner": json.dumps({"url": CALLBACK_URL})}})

    scrubbed = SecretValues().scrub(document)

    assert json.loads(json.loads(scrubbed)["metadata"]["inner"])["url"].endswith(f"/otp-1:a.b/{REDACTED}")


@pytest.fixture
def daemon() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(10)
        yield listener


def test_the_xray_emitter_sends_documents_scrubbed_and_logs_none(
    daemon: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    secret_values.add(SECRET)
    emitter = ScrubbingEmitter(f"127.0.0.1:{daemon.getsockname()[1]}")
    subsegment = Subsegment("esms", "remote", Segment("function"))
    subsegment.put_metadata("answer", {"key": SECRET, "url": CALLBACK_URL})

    with caplog.at_level(logging.DEBUG):
        emitter.send_entity(subsegment)

    sent = daemon.recv(65_536).decode()
    assert '"answer"' in sent
    assert SECRET not in sent
    assert json.dumps(SECRET)[1:-1] not in sent
    assert SIGNATURE not in sent
    assert caplog.records == []


def test_an_exception_reaches_the_xray_daemon_as_its_type_only(daemon: socket.socket) -> None:
    # Given a handler's subsegment that recorded an error quoting a phone and an OTP
    emitter = ScrubbingEmitter(f"127.0.0.1:{daemon.getsockname()[1]}")
    segment = Segment("function")
    subsegment = Subsegment("## lambda_handler", "local", segment)
    try:
        raise ValueError("phone 0901888484 otp 482913")
    except ValueError as error:
        subsegment.add_exception(error, traceback.extract_stack())

    # When it is sent
    emitter.send_entity(subsegment)

    # Then X-Ray learns that a ValueError ended it, and nothing of its text or stack
    document = json.loads(daemon.recv(65_536).decode().split("\n", 1)[1])
    assert [exception["type"] for exception in document["cause"]["exceptions"]] == ["ValueError"]
    sent = json.dumps(document)
    assert "0901888484" not in sent
    assert "482913" not in sent
    assert "stack" not in sent


def test_any_other_handler_is_scrubbed_through_its_own_formatter() -> None:
    secret_values.add(SECRET)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ScrubbedFormatter(logging.Formatter("[%(levelname)s] %(message)s")))
    library = logging.getLogger("some.library")
    library.addHandler(handler)
    try:
        library.warning("GET /GetSendStatus?SecretKey=%s callback %s", quote_plus(SECRET), CALLBACK_URL)
    finally:
        library.removeHandler(handler)

    line = stream.getvalue()
    assert line.startswith("[WARNING] GET /GetSendStatus?SecretKey=***")
    assert quote_plus(SECRET) not in line
    assert SIGNATURE not in line
