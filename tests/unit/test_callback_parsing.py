"""Parsing eSMS delivery callbacks and mapping them to message statuses."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zns_relay.models.callback import (
    DeliveryReport,
    InvalidCallback,
    ZaloError,
    failure_reason,
    history_fields,
    parse_delivery_report,
    parse_error_info,
    report_channels,
    target_status,
)
from zns_relay.models.errors import ZnsRelayError
from zns_relay.models.state import Channel, MessageStatus

# The published ZNS sample of esms-api-facts.md, section 3.
SAMPLE_QUERY = (
    "SMSID=f66545d2-c7e2-4603-984e-d2238c363c8292&SendFailed=1&SendStatus=5&SendSuccess=0"
    "&TotalPrice=0.0000&TotalReceiver=1&TotalSent=0&RequestId=&TypeId=25&telcoid=2"
    "&phonenumber=0901888484&partnerids=&error_info=%22{%5C%22error%5C%22%3A-114%2C%5C%22message"
    "%5C%22%3A%5C%22User%20is%20inactive%2C%20or%20reject%20the%20message%2C%20or%20using%20an"
    "%20outdated%20Zalo%20version%2C%20or%20other%20internal%20errors%5C%22}%22"
    "&oaid=1397492183140006179&tempid=2056446"
)
ZALO_114 = (
    "User is inactive, or reject the message, or using an outdated Zalo version, or other internal errors"
)
ERROR_JSON = json.dumps({"error": -114, "message": ZALO_114})
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")
DOCUMENTED_NAMES = (
    *("SMSID", "SendStatus", "SendSuccess", "SendFailed", "TotalPrice", "TotalReceiver", "TotalSent"),
    *("RequestId", "TypeId", "telcoid", "phonenumber", "partnerids", "error_info", "oaid", "tempid"),
)


def query(text: str) -> dict[str, str]:
    """What the handler passes: the query string decoded once, first value of each name."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        params.setdefault(key, value)
    return params


def report(**params: str) -> DeliveryReport:
    return parse_delivery_report({"SMSID": "abc123", **params})


def test_published_sample_is_a_zalo_failure() -> None:
    parsed = parse_delivery_report(query(SAMPLE_QUERY))

    assert parsed.sms_id == "f66545d2-c7e2-4603-984e-d2238c363c8292"
    assert (parsed.send_status, parsed.send_success, parsed.send_failed) == (5, 0, 1)
    assert (parsed.total_price, parsed.total_receiver, parsed.total_sent) == ("0.0000", 1, 0)
    assert (parsed.type_id, parsed.telco_id, parsed.phone) == (25, 2, "0901888484")
    assert (parsed.request_id, parsed.partner_ids) == (None, None)
    assert (parsed.oa_id, parsed.temp_id) == ("1397492183140006179", "2056446")
    assert parsed.error is not None
    assert (parsed.error.code, parsed.error.message) == (-114, ZALO_114)
    assert target_status(parsed) is MessageStatus.FAILED
    assert failure_reason(parsed) == f"Zalo -114: {ZALO_114}"


def test_delivered_report() -> None:
    parsed = parse_delivery_report(
        query(
            "SMSID=d8e0f1f0702544b2acb456ca9ccfd111250&SendFailed=0&SendStatus=5&SendSuccess=1"
            "&TotalPrice=200.0000&TotalReceiver=1&TotalSent=1&RequestId=&TypeId=24&telcoid=1"
            "&phonenumber=0901888484&partnerids=5f1c2a&error_info=&oaid=139749&tempid=2056446"
        )
    )

    assert target_status(parsed) is MessageStatus.DELIVERED
    assert failure_reason(parsed) is None
    assert parsed.partner_ids == "5f1c2a"
    assert parsed.error is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"SendStatus": "7"}, MessageStatus.SENT),
        ({"SendStatus": "5", "SendSuccess": "1"}, MessageStatus.DELIVERED),
        ({"SendStatus": "5", "SendSuccess": "1", "SendFailed": "1"}, MessageStatus.DELIVERED),
        ({"SendStatus": "5", "SendFailed": "1"}, MessageStatus.FAILED),
        ({"SendStatus": "4"}, MessageStatus.FAILED),
        ({"SendStatus": "5", "SendSuccess": "0", "SendFailed": "0"}, None),
        ({"SendStatus": "1"}, None),
        ({"SendStatus": "2"}, None),
        ({"SendStatus": "3"}, None),
        ({"SendStatus": ""}, None),
        ({}, None),
    ],
)
def test_target_status(params: dict[str, str], expected: MessageStatus | None) -> None:
    assert target_status(report(**params)) is expected


def test_failure_reasons_without_zalo_error() -> None:
    assert failure_reason(report(SendStatus="4")) == "eSMS rejected the message (SendStatus 4)"
    assert (
        failure_reason(report(SendStatus="5", SendFailed="1"))
        == "delivery failed (SendStatus 5, SendFailed 1)"
    )
    assert failure_reason(report(SendStatus="7")) is None


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(ERROR_JSON, id="raw JSON"),
        pytest.param(json.dumps(ERROR_JSON), id="quoted escaped JSON"),
        pytest.param(quote(quote(ERROR_JSON)) + "____26/11/2026 10:15:00", id="double URL-encoded"),
        pytest.param(quote(ERROR_JSON) + "____26/11/2026 10:15:00", id="double URL-encoded, decoded once"),
        pytest.param(ERROR_JSON + "____26/11/2026 10:15:00", id="JSON and stray text"),
        pytest.param(f'{{"error": "-114", "msg": "{ZALO_114}"}}', id="string code, msg"),
        pytest.param(f'{{"error_code": -114.0, "message": "{ZALO_114}"}}', id="error_code"),
        pytest.param(f'  {{"Code": " -114 ", "Message": "{ZALO_114}"}} ', id="code, any case"),
    ],
)
def test_error_info_encodings(raw: str) -> None:
    assert parse_error_info(raw) == ZaloError(code=-114, message=ZALO_114, raw=raw.strip())


def test_error_info_in_a_double_encoded_query() -> None:
    value = quote(quote(ERROR_JSON, safe=""), safe="") + quote("____26/11/2026 10:15:00", safe="")
    parsed = parse_delivery_report(query(f"SMSID=x1&SendStatus=5&SendFailed=1&error_info={value}"))

    assert parsed.error is not None
    assert (parsed.error.code, parsed.error.message) == (-114, ZALO_114)


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_empty_error_info(raw: str | None) -> None:
    assert parse_error_info(raw) is None


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '"just text"', "%7B%7D%7B", "[" * 5000, "x" * 20000])
def test_undecodable_error_info_keeps_the_text(raw: str) -> None:
    error = parse_error_info(raw)

    assert error is not None
    assert (error.code, error.message, error.description) == (None, "", None)
    assert error.raw == raw[:1000]


def test_undecodable_error_info_lands_in_history() -> None:
    fields = history_fields(report(SendStatus="5", SendFailed="1", error_info="garbled"))

    assert fields["error_info"] == "garbled"
    assert "error_code" not in fields
    assert failure_reason(report(SendStatus="5", SendFailed="1", error_info="garbled")) == (
        "delivery failed (SendStatus 5, SendFailed 1)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        (" 5 ", 5),
        ("0.0000", 0),
        ("2.000", 2),
        ("+3", 3),
        ("", 0),
        ("  ", 0),
        ("abc", 0),
        ("1.5", 0),
    ],
)
def test_lenient_counts(text: str, expected: int) -> None:
    assert report(SendSuccess=text, TotalReceiver=text).send_success == expected


def test_empty_values_become_defaults() -> None:
    parsed = report(**{name: "" for name in DOCUMENTED_NAMES if name != "SMSID"})

    assert parsed == DeliveryReport(sms_id="abc123")
    assert history_fields(parsed) == {}  # nothing the item does not hold, and counts of 0 left out


def test_names_are_case_insensitive_and_first_spelling_wins() -> None:
    parsed = parse_delivery_report(
        {"smsid": "id-1", "SMSId": "id-2", "SENDSTATUS": "7", "TelcoID": "3", "PhoneNumber": "0901888484"}
    )

    assert (parsed.sms_id, parsed.send_status, parsed.telco_id, parsed.phone) == ("id-1", 7, 3, "0901888484")


def test_unknown_parameters_are_ignored_and_never_stored() -> None:
    params = query(SAMPLE_QUERY) | {
        "token": "s3cret-token",
        "ApiKey": "key",
        "sms_id": "x",
        "error_code": "1",
    }
    fields = history_fields(parse_delivery_report(params))

    assert "s3cret-token" not in fields.values()
    assert "key" not in fields.values()
    # What the item holds already (the SMSID, the phone, OA and template it was sent with) is not kept
    # twice, nor are the counts that say no more than SendStatus, SendSuccess and SendFailed
    assert fields == {
        "send_status": "5",
        "send_failed": "1",
        "total_price": "0.0000",
        "type_id": "25",
        "telco_id": "2",
        "error_code": "-114",
        "error_message": ZALO_114,
    }


def test_history_values_are_bounded() -> None:
    fields = history_fields(report(partnerids="9" * 5000, error_info=json.dumps({"message": "m" * 5000})))

    assert max(len(value) for value in fields.values()) == 500


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "SMSID: Field required"),
        ({"SMSID": "   "}, "SMSID: is blank"),
        ({"SMSID": "a" * 101}, "SMSID: must be 1 to 100 printable ASCII"),
        ({"SMSID": "abc def"}, "SMSID: must be 1 to 100 printable ASCII"),
        ({"SMSID": "abc\x00"}, "SMSID: must be 1 to 100 printable ASCII"),
        ({"SMSID": "mã-số"}, "SMSID: must be 1 to 100 printable ASCII"),
        ({"SMSID": "abc", "SendStatus": "done"}, "SendStatus: must be an integer"),
        ({"SMSID": "abc", "SendStatus": "5.5"}, "SendStatus: must be an integer"),
    ],
)
def test_invalid_callbacks(params: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidCallback, match=message) as caught:
        parse_delivery_report(params)

    assert isinstance(caught.value, ZnsRelayError)
    assert isinstance(caught.value, ValueError)


def test_lone_surrogates_are_made_storable() -> None:
    error = parse_error_info('{"error": 1, "message": "a\\ud800b"}')

    assert error is not None
    assert error.message == "a?b"


def test_control_characters_never_reach_what_is_stored() -> None:
    # A terminal title escape, a screen clear, C1's CSI and NEL, in Zalo's message and in a plain field
    escapes = "\x1b]0;owned\x07\x1b[2J\x9b31m\x85"
    parsed = report(
        SendStatus="5",
        SendFailed="1",
        partnerids=f"p-1{escapes}",
        error_info=json.dumps({"error": -114, "message": f"User is inactive{escapes}"}),
    )

    fields = history_fields(parsed)
    reason = failure_reason(parsed)

    assert reason == "Zalo -114: User is inactive ]0;owned [2J 31m"
    assert fields["partner_ids"] == "p-1 ]0;owned [2J 31m"
    assert not CONTROL_CHARACTER.search("".join(fields.values()))


@pytest.mark.parametrize(
    ("type_id", "channels"),
    [
        ("24", {Channel.ZNS}),
        ("25", {Channel.ZNS}),
        ("27", {Channel.ZNS}),
        ("2", {Channel.SMS}),
        ("1", set()),  # advertising SMS: never sent here
        ("23", set()),  # Viber
        ("", {Channel.ZNS, Channel.SMS}),  # the status endpoints' answers name no TypeId
    ],
)
def test_a_reports_typeid_names_the_channels_it_can_be_about(type_id: str, channels: set[Channel]) -> None:
    assert report_channels(report(TypeId=type_id)) == channels


def test_sms_id_is_stripped() -> None:
    assert report(SMSID="  abc-1  ").sms_id == "abc-1"


values = st.one_of(
    st.text(),
    st.text(max_size=3000),
    st.sampled_from(["", " ", "0.0000", "5", "-114", "1e400", "nan", "٣", "\ud800", "9" * 5000]),
    st.from_regex(r"[\x21-\x7e]{1,120}", fullmatch=True),
)
names = st.one_of(
    st.sampled_from(DOCUMENTED_NAMES), st.sampled_from(DOCUMENTED_NAMES).map(str.upper), st.text()
)


@given(st.dictionaries(names, values, max_size=20))
def test_any_parameters_give_a_report_or_invalid_callback(params: dict[str, str]) -> None:
    try:
        parsed = parse_delivery_report(params)
    except InvalidCallback:
        return
    target_status(parsed)
    fields = history_fields(parsed)
    assert all(value and len(value) <= 500 for value in fields.values())
    fields_text = "".join(fields.values())
    assert fields_text.encode("utf-8").decode("utf-8") == fields_text
    assert not CONTROL_CHARACTER.search(fields_text + (failure_reason(parsed) or ""))


json_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children) | st.dictionaries(st.sampled_from(["error", "code", "msg", "x"]), children)
    ),
)


@given(
    st.one_of(
        st.none(),
        st.text(),
        json_documents.map(json.dumps),
        json_documents.map(lambda document: quote(quote(json.dumps(document))) + "____01/01/2026 00:00:00"),
    )
)
def test_parse_error_info_never_raises(raw: str | None) -> None:
    error = parse_error_info(raw)

    assert error is None or len(error.raw) <= 1000
