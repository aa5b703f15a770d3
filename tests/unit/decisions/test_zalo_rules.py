"""Zalo's refusals classed once: what waits, what is the person's choice, what is the message's fault."""

from __future__ import annotations

import pytest

from zns_relay.models.zalo_rules import BY_THE_PERSON, REFUSALS, ZaloRefusal, classify


@pytest.mark.parametrize(
    ("code", "refusal"),
    [
        (-133, ZaloRefusal.NIGHT_WINDOW),
        (-144, ZaloRefusal.OA_QUOTA),
        (-147, ZaloRefusal.TEMPLATE_QUOTA),
        (-141, ZaloRefusal.REFUSED_OA),
        (-139, ZaloRefusal.REFUSED_TYPE),
        (-131, ZaloRefusal.TEMPLATE_UNAVAILABLE),
        (-146, ZaloRefusal.TEMPLATE_UNAVAILABLE),
        (-124, ZaloRefusal.TRANSIENT),
        (-100, ZaloRefusal.TRANSIENT),
        # The message's own fault: FAILED as before
        (-108, None),
        (-114, None),
        (-118, None),
        (0, None),
        (None, None),
    ],
)
def test_each_zalo_code_is_classed(code: int | None, refusal: ZaloRefusal | None) -> None:
    assert classify(code) is refusal


def test_only_the_persons_refusals_are_theirs() -> None:
    assert {refusal for code, refusal in REFUSALS.items() if refusal in BY_THE_PERSON} == {
        ZaloRefusal.REFUSED_OA,
        ZaloRefusal.REFUSED_TYPE,
    }
    assert {code for code, refusal in REFUSALS.items() if refusal in BY_THE_PERSON} == {-141, -139}
