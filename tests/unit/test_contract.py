"""The producer contract: every field rule, both TempData forms, envelopes, and the committed schema."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

import pytest

from tests.support.contracts import SCHEMA_FOLDER
from zns_relay.models.contract import (
    is_valid_request_id,
    message_json_schema,
    normalise_phone,
    parse_message_body,
    rejection_key,
)
from zns_relay.models.errors import ContractViolation
from zns_relay_client.schema import CONTRACT_FILES, render_contract

VALID = {"Phone": "0901888484", "TempID": "2056446", "TempData": {"customer_name": "An"}}


def body(**changes: Any) -> str:
    document = {**VALID, **changes}
    return json.dumps({key: value for key, value in document.items() if value is not None})


def violation(text: str) -> str:
    with pytest.raises(ContractViolation) as caught:
        parse_message_body(text)
    return caught.value.reason


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0901888484", "0901888484"),
        ("84901888484", "0901888484"),
        ("+84901888484", "0901888484"),
        ("+84 90 188 8484", "0901888484"),
        ("090.188.8484", "0901888484"),
        ("090-188-8484", "0901888484"),
        ("(+84) 912 345 678", "0912345678"),
        ("0084 912 345 678", "0912345678"),
        ("0356123456", "0356123456"),
        ("0523456789", "0523456789"),
        ("0779123456", "0779123456"),
        ("0868123456", "0868123456"),
    ],
)
def test_vietnamese_mobile_forms_normalise_to_local_form(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "0090188848",  # 00 is an international prefix, not a mobile number
        "00901888484",
        "090188848",  # nine digits
        "09018884841",  # eleven digits
        "0201888484",  # a landline prefix
        "01688848484",  # pre-2018 eleven-digit mobile
        "+85 90 188 8484",  # another country
        "849018884",
        "09O1888484",  # letter O
        "",
        "+",
    ],
)
def test_non_mobile_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="not a Vietnamese mobile number"):
        normalise_phone(raw)


def test_temp_data_object_and_list_forms_give_the_same_parameters() -> None:
    from_object = parse_message_body(body(TempData={"name": "An", "code": "X1"}))
    from_list = parse_message_body(
        body(TempData=[{"key": "name", "value": "An"}, {"key": "code", "value": "X1"}])
    )
    assert from_object.template_params() == from_list.template_params()
    assert [(param.key, param.value) for param in from_list.template_params()] == [
        ("name", "An"),
        ("code", "X1"),
    ]


@pytest.mark.parametrize(
    ("temp_data", "reason"),
    [
        ({}, "TempData: must hold at least one template parameter"),
        ([], "TempData: must hold at least one template parameter"),
        (
            [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}],
            "TempData: parameter names must be unique",
        ),
        ({"name": 5}, "TempData"),
        ([{"key": "a"}], "TempData"),
        ("name=An", "TempData"),
    ],
)
def test_bad_temp_data_is_a_violation_naming_temp_data(temp_data: Any, reason: str) -> None:
    assert reason in violation(body(TempData=temp_data))


@pytest.mark.parametrize("field", ["Phone", "TempID", "TempData"])
def test_required_fields_are_named_when_missing(field: str) -> None:
    assert f"{field}: Field required" in violation(body(**{field: None}))


def test_temp_id_must_be_digits() -> None:
    assert "TempID: must be a template id: digits only" in violation(body(TempID="tmpl-1"))


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"TempID": "tmpl-1"}, "TempID: must be a template id: digits only, 1 to 20 of them"),
        ({"OAID": "40973 11281"}, "OAID: must be an OA id, without spaces"),
        ({"RequestId": "order 1"}, "RequestId: must be up to 50 of A-Z a-z 0-9 . _ : -"),
        (
            {"Fallback": {"Brandname": "Shop!", "Content": "Ma OTP 1"}},
            "Fallback.Brandname: must be a registered brandname: letters, digits, spaces and . _ - only",
        ),
    ],
)
def test_a_field_that_breaks_its_pattern_is_told_what_it_expects_never_the_regex(
    changes: dict[str, Any], said: str
) -> None:
    reason = violation(body(**changes))

    assert said in reason
    assert "pattern" not in reason
    assert "^" not in reason


@pytest.mark.parametrize("send_date", ["2026-12-01 08:30:00", "2028-02-29 23:59:59"])
def test_real_send_dates_are_kept(send_date: str) -> None:
    assert parse_message_body(body(SendDate=send_date)).send_date == send_date


@pytest.mark.parametrize(
    ("send_date", "reason"),
    [
        ("2026-02-30 08:00:00", "SendDate: is not a real calendar date and time"),
        ("2027-02-29 08:00:00", "SendDate: is not a real calendar date and time"),
        ("2026-12-01 24:00:00", "SendDate: is not a real calendar date and time"),
        ("2026-12-01T08:00:00", "SendDate: must be formatted yyyy-mm-dd hh:MM:ss"),
        ("01/12/2026 08:00:00", "SendDate: must be formatted yyyy-mm-dd hh:MM:ss"),
    ],
)
def test_impossible_or_misformatted_send_dates_are_violations(send_date: str, reason: str) -> None:
    assert reason in violation(body(SendDate=send_date))


def test_empty_send_date_means_send_now() -> None:
    assert parse_message_body(body(SendDate="")).send_date is None


@pytest.mark.parametrize("request_id", ["a", "order-123_x.y:z", "A" * 50, "..a", "-1-", ":7"])
def test_request_ids_of_the_allowed_charset_and_length_pass(request_id: str) -> None:
    assert parse_message_body(body(RequestId=request_id)).request_id == request_id


@pytest.mark.parametrize("request_id", ["A" * 51, "order 123", "đơn-hàng", "a/b", ""])
def test_request_ids_outside_the_charset_or_too_long_are_violations(request_id: str) -> None:
    assert "RequestId" in violation(body(RequestId=request_id))


@pytest.mark.parametrize("request_id", [".", "..", "-", "._:-", "." * 50])
def test_request_ids_without_a_letter_or_digit_are_violations_recorded_apart(request_id: str) -> None:
    # Given a RequestId of punctuation only ("." and ".." vanish from a CallbackUrl's path)
    with pytest.raises(ContractViolation) as caught:
        parse_message_body(body(RequestId=request_id))
    # Then it is refused, saying why, and recorded under the key derived from it
    assert caught.value.reason == "RequestId: must hold at least one letter or digit"
    assert caught.value.request_id == rejection_key(request_id)


def test_violation_keeps_a_valid_request_id_for_recording() -> None:
    with pytest.raises(ContractViolation) as caught:
        parse_message_body(body(Phone="123", RequestId="order-77"))
    assert caught.value.request_id == "order-77"


def test_a_request_id_that_breaks_the_rule_is_recorded_under_a_key_derived_from_it() -> None:
    # Given a body whose RequestId is too long (the producer will look for exactly this id)
    given = "order-2026-11-27-customer-0901888484-confirmation-x"
    # When it is parsed
    with pytest.raises(ContractViolation) as caught:
        parse_message_body(body(RequestId=given))
    # Then the rejection is recorded under a valid RequestId derived from the given one, stable and
    # distinct per given id, which a look-up by the given id computes the same way
    assert caught.value.request_id == rejection_key(given)
    assert rejection_key(given).startswith("rejected:")
    assert len(rejection_key(given)) <= 50
    assert rejection_key(given) != rejection_key(given + "x")


def test_a_request_id_ending_like_an_sms_fallback_is_refused_and_kept_apart_from_it() -> None:
    # Given a producer's RequestId shaped as the SMS fallback of "order-77" would be
    with pytest.raises(ContractViolation) as caught:
        parse_message_body(body(RequestId="order-77:sms"))

    # Then it is refused, and its rejection is not recorded where that SMS would live
    assert "reserved for SMS fallbacks" in caught.value.reason
    assert caught.value.request_id == rejection_key("order-77:sms")


@pytest.mark.parametrize("request_id", ["order-77.z2", "order-77.z10"])
def test_a_request_id_ending_like_a_deferred_messages_attempt_is_refused(request_id: str) -> None:
    # (eSMS's 124 for it could then be taken for one of our attempts, and the attempt never sent)
    with pytest.raises(ContractViolation) as caught:
        parse_message_body(body(RequestId=request_id))

    assert "kept for deferred attempts" in caught.value.reason
    assert parse_message_body(body(RequestId="order-77.z")).request_id == "order-77.z"
    assert parse_message_body(body(RequestId="v1.zone2")).request_id == "v1.zone2"


@pytest.mark.parametrize("request_id", [None, "", 12345])
def test_violation_without_a_string_request_id_has_none(request_id: object) -> None:
    with pytest.raises(ContractViolation) as caught:
        parse_message_body(body(Phone="123", RequestId=request_id))
    assert caught.value.request_id is None


@pytest.mark.parametrize(
    "snake_case",
    [
        {"phone": "0901888484", "TempID": "2056446", "TempData": {"name": "An"}},
        {"Phone": "0901888484", "temp_id": "2056446", "TempData": {"name": "An"}},
        {"Phone": "0901888484", "TempID": "2056446", "temp_data": {"name": "An"}},
        {**VALID, "request_id": "order-1"},
        {**VALID, "campaign_id": "autumn"},
    ],
)
def test_only_the_documented_field_names_are_read_not_snake_case(snake_case: dict[str, Any]) -> None:
    # Given a body using the model's Python names instead of eSMS's (the schema forbids them)
    # When it is parsed, Then it is refused, naming the field the producer got wrong
    reason = violation(json.dumps(snake_case))
    assert next(name for name in snake_case if name not in VALID) in reason


@pytest.mark.parametrize(
    "temp_data",
    [{"customer_name": ""}, {"customer_name": "An", "order_code": "   "}, [{"key": "otp", "value": ""}]],
)
def test_an_empty_temp_data_value_is_refused_before_it_reaches_esms(temp_data: object) -> None:
    reason = violation(body(TempData=temp_data))
    assert "TempData" in reason and "empty value" in reason


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"Sandbox": "2"}, "Sandbox"),
        ({"Sandbox": 1}, "Sandbox"),
        ({"SendingMode": "2"}, "SendingMode"),
        ({"campaignid": "c" * 255}, "campaignid"),
        ({"OAID": "has space"}, "OAID"),
    ],
)
def test_optional_field_rules(changes: dict[str, Any], field: str) -> None:
    assert field in violation(body(**changes))


def test_exceed_quota_mode_cannot_be_scheduled() -> None:
    reason = violation(body(SendingMode="3", SendDate="2026-12-01 08:00:00"))
    assert "SendingMode 3 (exceed quota) cannot be scheduled" in reason


@pytest.mark.parametrize(
    ("valid_until", "utc"),
    [
        ("2026-11-27T18:00:00+07:00", "2026-11-27T11:00:00+00:00"),
        ("2026-11-27T11:00:00Z", "2026-11-27T11:00:00+00:00"),
        ("2026-11-27T11:00:00.250+00:00", "2026-11-27T11:00:00.250000+00:00"),
    ],
)
def test_valid_until_takes_iso_times_with_an_offset(valid_until: str, utc: str) -> None:
    message = parse_message_body(body(ValidUntil=valid_until))
    assert message.valid_until is not None
    assert message.valid_until.astimezone(UTC).isoformat() == utc


@pytest.mark.parametrize("valid_until", ["2026-11-27T18:00:00", "2026-11-27", "tomorrow", 1795680000])
def test_valid_until_without_an_offset_or_not_a_time_is_a_violation(valid_until: Any) -> None:
    assert violation(body(ValidUntil=valid_until)).startswith("ValidUntil:")


def test_send_date_is_read_in_vietnam_time_against_valid_until() -> None:
    # 08:00 in Hanoi is 01:00 UTC: scheduled exactly at the end of validity is still in time
    parse_message_body(body(SendDate="2026-12-01 08:00:00", ValidUntil="2026-12-01T01:00:00Z"))
    reason = violation(body(SendDate="2026-12-01 08:00:01", ValidUntil="2026-12-01T01:00:00Z"))
    assert "SendDate is later than ValidUntil" in reason


@pytest.mark.parametrize("field", ["ApiKey", "SecretKey", "CallbackUrl"])
def test_system_owned_fields_are_refused(field: str) -> None:
    assert f"{field} must not be sent: zns-relay supplies them" in violation(body(**{field: "x"}))


def test_unknown_fields_are_refused_so_typos_surface() -> None:
    assert "Tempdata: Extra inputs are not permitted" in violation(body(Tempdata={"a": "b"}))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "body is not JSON"),
        ("[1, 2]", "body must be a JSON object, got list"),
        ('"text"', "body must be a JSON object, got str"),
    ],
)
def test_bodies_that_are_not_json_objects(text: str, reason: str) -> None:
    assert violation(text).startswith(reason)


def test_sns_notification_is_unwrapped() -> None:
    notification = {"Type": "Notification", "MessageId": "m-1", "Message": body(RequestId="from-sns")}
    assert parse_message_body(json.dumps(notification)).request_id == "from-sns"


def test_eventbridge_event_is_unwrapped() -> None:
    event = {"detail-type": "OrderPaid", "source": "shop", "detail": json.loads(body(RequestId="from-eb"))}
    assert parse_message_body(json.dumps(event)).request_id == "from-eb"


def test_sns_notification_with_non_json_message_is_a_violation() -> None:
    notification = {"Type": "Notification", "Message": "hello"}
    assert violation(json.dumps(notification)).startswith("the SNS notification's Message is not JSON")


@pytest.mark.parametrize("name", CONTRACT_FILES)
def test_each_committed_contract_file_matches_the_models(name: str) -> None:
    committed = (SCHEMA_FOLDER / name).read_text(encoding="utf-8")
    assert committed == render_contract(name), "run `make schema` and commit the result"


def test_schema_uses_the_contract_field_names() -> None:
    schema = message_json_schema()
    assert set(schema["properties"]) == {
        "Phone", "TempID", "TempData", "OAID", "RequestId",
        "SendDate", "campaignid", "Sandbox", "SendingMode", "ValidUntil", "Fallback",
    }  # fmt: skip
    assert set(schema["required"]) == {"Phone", "TempID", "TempData"}
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 20_000 + "]" * 20_000, "body nests too deeply to be a ZNS message"),
        (
            json.dumps({**VALID, "TempData": {"k": "v" * 70_000}}),
            "body is larger than 64 KB: not a ZNS message",
        ),
        (
            json.dumps({"Type": "Notification", "Message": "[" * 20_000 + "]" * 20_000}),
            "the SNS notification's Message nests too deeply to be a ZNS message",
        ),
    ],
    ids=["deep", "huge", "deep-in-sns"],
)
def test_hostile_bodies_are_violations_with_a_short_reason(text: str, reason: str) -> None:
    assert violation(text) == reason


def test_a_huge_template_key_gives_a_bounded_reason_that_names_the_field() -> None:
    reason = violation(body(TempData={"k" * 50_000: "v"}))
    assert reason.startswith("TempData.")
    assert "at most 100 characters" in reason
    assert len(reason) <= 500


@pytest.mark.parametrize(
    "temp_data",
    [
        {"k" * 101: "v"},
        [{"key": "k" * 101, "value": "v"}],
        {"name": "v" * 501},
        {f"p{index}": "v" for index in range(41)},
    ],
    ids=["long-key-object", "long-key-list", "long-value", "too-many"],
)
def test_template_data_is_bounded_in_both_forms(temp_data: Any) -> None:
    assert violation(body(TempData=temp_data)).startswith("TempData")


@pytest.mark.parametrize(
    ("field", "value"),
    [("Phone", "09\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667"), ("TempID", "\u0661\u0662\u0663")],
    ids=["arabic-indic-phone", "arabic-indic-template"],
)
def test_digits_are_ascii_digits(field: str, value: str) -> None:
    assert violation(body(**{field: value})).startswith(field)


REFUSED = "must not contain control characters"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"campaignid": "autumn\x1b]0;owned\x07"}, f"campaignid: {REFUSED} (U+001B)"),
        ({"campaignid": "autumn\x9b2J"}, f"campaignid: {REFUSED} (U+009B)"),
        ({"campaignid": "a\nb"}, f"campaignid: {REFUSED} (U+000A)"),
        ({"OAID": "42\x00"}, f"OAID: {REFUSED} (U+0000)"),
        ({"TempData": {"otp\x1b[2J": "1"}}, f"TempData: parameter names {REFUSED}"),
        ({"TempData": [{"key": "otp", "value": "1\x7f"}]}, f"TempData: otp: {REFUSED} (U+007F)"),
        (
            {"Fallback": {"Content": "OTP {otp}\x1b[8m", "Brandname": "Baotri"}, "TempData": {"otp": "1"}},
            f"Fallback.Content: {REFUSED} (U+001B)",
        ),
    ],
    ids=["esc-campaign", "csi-campaign", "newline-campaign", "nul-oaid", "esc-key", "del-value", "esc-sms"],
)
def test_control_characters_are_refused_in_free_text_naming_the_field(
    changes: dict[str, Any], reason: str
) -> None:
    assert violation(body(**changes)) == reason


def test_line_breaks_are_kept_in_message_text() -> None:
    # Given an SMS and a template parameter spanning lines (GSM 03.38 has LF and CR)
    message = parse_message_body(
        body(
            TempData={"address": "12 Ly Thuong Kiet\r\nHa Noi"},
            Fallback={"Content": "Dia chi:\n{address}", "Brandname": "Baotrixemay"},
        )
    )
    # Then they are kept
    assert message.template_values() == {"address": "12 Ly Thuong Kiet\r\nHa Noi"}
    assert message.fallback is not None and message.fallback.content == "Dia chi:\n{address}"


def test_reasons_are_never_longer_than_500_characters() -> None:
    many = {f"{'k' * 99}{index}": "v" * 501 for index in range(30)}
    assert len(violation(body(TempData=many, Phone="bad", TempID="x"))) <= 500


@pytest.mark.parametrize("candidate", ["otp-1\n", ".", "..", "-:-", "a" * 51, ""])
def test_what_is_not_a_request_id(candidate: str) -> None:
    assert not is_valid_request_id(candidate)


@pytest.mark.parametrize("candidate", ["otp-1", "a" * 50, ".a", "2024-01-01:otp.7"])
def test_what_is_a_request_id(candidate: str) -> None:
    assert is_valid_request_id(candidate)
