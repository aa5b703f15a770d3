"""The sender's template check and the simulator agree: the simulator's send answers 790 to exactly the
TempData the check refuses, the check reading the template from the simulator's GetZnsTemplateInfo."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from local.esms_sim import TemplateParam as SimulatedParam
from local.esms_sim import ZnsTemplate, answers
from zns_relay.esms.templates import template_from_info
from zns_relay.models.contract import TemplateParam
from zns_relay.models.template import template_problems

SIMULATED = ZnsTemplate(
    "limits",
    (
        SimulatedParam("otp", min_length=4, max_length=6),
        SimulatedParam("note", max_length=8, require=False, accept_null=True),
        SimulatedParam("amount", "NUMBER", max_length=12, require=False),
        SimulatedParam("date", "DATE", max_length=10, require=False),
    ),
)
NAMES = ("otp", "note", "amount", "date", "other")
# Characters that sit near the rules' edges: ASCII and other digits, the date's separator, spaces, signs
ARABIC_INDIC = "".join(chr(0x660 + digit) for digit in range(10))
VALUES = st.text(alphabet="0123456789/ -.a" + ARABIC_INDIC[3], max_size=13)


@given(st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=5))
@example({"otp": "1234", "date": " 1/02/2026"})  # a space-padded day: strptime reads it, eSMS wants dd
@example({"otp": "1234", "date": "01/02/2026".translate(str.maketrans("0123456789", ARABIC_INDIC))})
@example({"otp": "1234", "amount": ARABIC_INDIC[1:3]})
def test_the_simulator_refuses_what_the_check_refuses(values: dict[str, str]) -> None:
    template = template_from_info(answers.template_info_answer("205644", SIMULATED))
    params = tuple(TemplateParam(key=key, value=value) for key, value in values.items())

    refused_by_check = template_problems(template, params)
    refused_by_simulator = SIMULATED.problem(values.items())

    assert bool(refused_by_check) == (refused_by_simulator is not None), (
        refused_by_check,
        refused_by_simulator,
    )
