"""The duplicate fingerprint: a MAC of who gets which template with which parameters, under a key."""

from __future__ import annotations

from dataclasses import replace

import pytest

from zns_relay.models.contract import TemplateParam
from zns_relay.models.esms import ZaloSendRequest
from zns_relay.models.state import KEYED_FINGERPRINT_PREFIX
from zns_relay.sender.fingerprint import fingerprint

KEY = b"fingerprint-key-0123456789abcdefghijklmnopqrstuv"
OTP = ZaloSendRequest(
    phone="0901888484",
    oa_id="1397492183140006179",
    temp_id="2056446",
    temp_data=(TemplateParam(key="otp", value="482913"), TemplateParam(key="customer_name", value="An")),
    request_id="otp-7f3a9c-login",
    sandbox=False,
)


def test_it_depends_on_the_key() -> None:
    assert fingerprint(KEY, OTP) == fingerprint(KEY, OTP)
    assert fingerprint(KEY, OTP) != fingerprint(KEY + b"x", OTP)
    assert fingerprint(KEY, OTP).startswith(KEYED_FINGERPRINT_PREFIX)


def test_the_same_message_has_one_fingerprint_whatever_the_order_of_its_parameters() -> None:
    reordered = replace(OTP, temp_data=tuple(reversed(OTP.temp_data)), request_id="another", sandbox=True)
    assert fingerprint(KEY, reordered) == fingerprint(KEY, OTP)


@pytest.mark.parametrize(
    "change",
    [
        {"phone": "0901888485"},
        {"oa_id": "4097311281936189049"},
        {"temp_id": "2056447"},
        {
            "temp_data": (
                TemplateParam(key="otp", value="482914"),
                TemplateParam(key="customer_name", value="An"),
            )
        },
    ],
)
def test_a_different_message_has_another(change: dict[str, object]) -> None:
    assert fingerprint(KEY, replace(OTP, **change)) != fingerprint(KEY, OTP)  # type: ignore[arg-type]
