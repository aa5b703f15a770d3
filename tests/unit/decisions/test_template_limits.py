"""TempData against a template's registered limits, as eSMS checks it: the pure check, eSMS's answer read
into a template, and the sender's cache of templates (a fake clock, a fake eSMS: no sleeping, no socket)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pydantic import SecretStr

from tests.support import esms_documented as documented
from zns_relay.esms.http import EsmsQueryFailed
from zns_relay.esms.templates import template_from_info
from zns_relay.models.contract import TemplateParam
from zns_relay.models.errors import ConfigurationError
from zns_relay.models.esms import EsmsCredentials, ZaloSendRequest
from zns_relay.models.template import Template, TemplateParameter, template_problems
from zns_relay.sender.template_limits import FAILURE_CACHE_SECONDS, TemplateLimits

OTP = TemplateParameter("otp", "STRING", max_length=6, min_length=4, required=True, accept_null=False)
NOTE = TemplateParameter("note", "STRING", max_length=20, required=False, accept_null=True)
AMOUNT = TemplateParameter("amount", "NUMBER", max_length=12, required=False)
DATE = TemplateParameter("date", "DATE", max_length=10, required=False)
TEMPLATE = Template("205644", "otp", (OTP, NOTE, AMOUNT, DATE), status="ENABLE")
CREDENTIALS = EsmsCredentials(api_key=SecretStr("key"), secret_key=SecretStr("secret"))


def params(**values: str) -> tuple[TemplateParam, ...]:
    return tuple(TemplateParam(key=key, value=value) for key, value in values.items())


@pytest.mark.parametrize(
    ("values", "problems"),
    [
        ({"otp": "123456"}, []),
        ({"otp": "1234", "note": "", "amount": "430800000000", "date": "27/11/2026"}, []),
        ({}, ["otp: required by the template, missing"]),
        ({"otp": "1234567"}, ["otp: 7 characters, at most 6"]),
        ({"otp": "123"}, ["otp: 3 characters, at least 4"]),
        ({"otp": ""}, ["otp: empty, which the template does not accept"]),
        (
            {"otp": "1234", "name": "An"},
            ["name: not a parameter of template 205644 (it has otp, note, amount, date)"],
        ),
        ({"otp": "1234", "amount": "4.308"}, ["amount: a number, digits only (at most 12)"]),
        ({"otp": "1234", "amount": "-1"}, ["amount: a number, digits only (at most 12)"]),
        ({"otp": "1234", "date": "2026-11-27"}, ["date: a date, dd/MM/yyyy"]),
        ({"otp": "1234", "date": "1/2/2026"}, ["date: a date, dd/MM/yyyy"]),  # two digits each
        ({"otp": "1234", "date": "31/02/2026"}, ["date: a date, dd/MM/yyyy"]),
        (
            {"otp": "12345678", "extra": "x"},
            [
                "extra: not a parameter of template 205644 (it has otp, note, amount, date)",
                "otp: 8 characters, at most 6",
            ],
        ),
    ],
)
def test_the_check_names_every_problem_esms_would_refuse(values: dict[str, str], problems: list[str]) -> None:
    assert template_problems(TEMPLATE, params(**values)) == problems


def test_the_problems_name_parameters_and_lengths_never_a_value() -> None:
    secret = "98765432"
    found = template_problems(TEMPLATE, params(otp=secret, amount=secret + "x", unknown=secret))
    assert len(found) == 3
    assert not any(secret in problem for problem in found)


@pytest.mark.parametrize("status", ["PENDING_REVIEW", "DISABLE", "REJECT", "DELETE"])
def test_a_template_not_enabled_is_a_problem_whatever_its_data(status: str) -> None:
    template = Template("205644", "otp", (OTP,), status=status)
    assert template_problems(template, params(otp="1234")) == [f"template 205644 is {status}, not ENABLE"]


def test_what_a_template_does_not_say_is_not_enforced() -> None:
    # Given GetTemplate's summary of a parameter: no Require, AcceptNull or MinLength
    summary = Template("1", "t", (TemplateParameter("otp", "STRING", max_length=6),))
    assert template_problems(summary, params()) == []
    assert template_problems(summary, params(otp="")) == []


def test_the_documented_answer_reads_as_its_template() -> None:
    template = template_from_info(documented.GET_ZNS_TEMPLATE_INFO)

    assert template.temp_id == "267247" and template.status == "ENABLE" and template.enabled
    assert template.parameters[0] == TemplateParameter(
        "customer_name", "STRING", max_length=100, min_length=0, required=True, accept_null=False
    )
    assert [parameter.name for parameter in template.parameters] == [
        "customer_name", "product_name", "order_code", "date",
    ]  # fmt: skip


def test_flags_and_counts_written_as_strings_read_as_what_they_say() -> None:
    # Given the English page's table, which types every ListParams field as a string
    answer = _answer(
        {"Name": "otp", "Type": "STRING", "MaxLength": "10", "Require": "false", "AcceptNull": "true"}
    )

    [parameter] = template_from_info(answer).parameters

    assert parameter == TemplateParameter("otp", "STRING", max_length=10, required=False, accept_null=True)


def test_a_flag_written_any_other_way_is_unknown_so_never_enforced() -> None:
    answer = _answer({"Name": "otp", "Type": "STRING", "MaxLength": 10, "Require": "yes", "AcceptNull": 0})

    [parameter] = template_from_info(answer).parameters

    assert parameter.required is None and parameter.accept_null is None


@pytest.mark.parametrize(
    "answer",
    [
        {"Data": None, "Error": 789, "Message": "TemplateId is not config"},
        {"Error": "101", "Message": "Authorize Failed"},
        {"CodeResult": "100"},
        {"Data": {"Status": "ENABLE"}, "Error": 0},  # no ListParams: the parameters are unknown
        {"Data": {"ListParams": [{"Type": "STRING"}]}, "Error": 0},  # a parameter without a name
    ],
)
def test_any_other_answer_is_a_failure_to_learn_the_template(answer: dict[str, Any]) -> None:
    with pytest.raises(EsmsQueryFailed):
        template_from_info(answer)


def _answer(*listed: dict[str, Any]) -> dict[str, Any]:
    return {"Data": {"ListParams": list(listed), "Status": "ENABLE", "TemplateId": 1}, "Error": "0"}


# The sender's cache


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeEsms:
    """GetZnsTemplateInfo: answers `template`, or raises `failure`; counts the calls."""

    def __init__(self, template: Template | None = TEMPLATE, failure: Exception | None = None) -> None:
        self.template_answer = template
        self.failure = failure
        self.calls: list[tuple[str, str]] = []
        self.release = threading.Event()
        self.release.set()
        self._lock = threading.Lock()

    def template(self, credentials: EsmsCredentials, oa_id: str, temp_id: str) -> Template:
        with self._lock:
            self.calls.append((oa_id, temp_id))
        self.release.wait(10)
        if self.failure is not None:
            raise self.failure
        assert self.template_answer is not None
        return self.template_answer


def request(temp_id: str = "205644", oa_id: str = "oa-1", **values: str) -> ZaloSendRequest:
    return ZaloSendRequest(
        phone="0901888484",
        oa_id=oa_id,
        temp_id=temp_id,
        temp_data=params(**(values or {"otp": "1234"})),
        request_id="r-1",
        sandbox=False,
    )


def limits(esms: FakeEsms, clock: FakeClock, ttl: float = 600) -> TemplateLimits:
    return TemplateLimits(esms, lambda: CREDENTIALS, ttl_seconds=ttl, clock=clock)


def test_a_message_that_fits_has_no_problem_and_one_that_does_not_is_told_why() -> None:
    checker = limits(FakeEsms(), FakeClock())

    assert checker.problem(request(otp="1234")) is None
    assert checker.problem(request(otp="1234567", note="x" * 21)) == (
        "TempData does not fit template 205644 as eSMS has it: otp: 7 characters, at most 6; "
        "note: 21 characters, at most 20"
    )


def test_a_template_not_enabled_is_no_reason_to_reject_its_messages() -> None:
    # Zalo judges them (-131, -146 in the delivery report): the template may be enabled again soon
    checker = limits(FakeEsms(Template("205644", "otp", (OTP,), status="DISABLE")), FakeClock())

    assert checker.problem(request(otp="1234")) is None
    assert checker.problem(request(otp="1234567")) is None


def test_a_template_is_asked_once_per_oa_and_temp_id_until_it_expires() -> None:
    esms, clock = FakeEsms(), FakeClock()
    checker = limits(esms, clock, ttl=600)

    for _ in range(3):
        checker.problem(request())
    checker.problem(request(oa_id="oa-2"))
    checker.problem(request(temp_id="267247"))
    clock.now += 599
    checker.problem(request())
    assert esms.calls == [("oa-1", "205644"), ("oa-2", "205644"), ("oa-1", "267247")]

    clock.now += 1
    checker.problem(request())
    assert esms.calls[-1] == ("oa-1", "205644") and len(esms.calls) == 4


@pytest.mark.parametrize(
    "failure",
    [
        EsmsQueryFailed("eSMS did not answer in time"),
        EsmsQueryFailed("eSMS 789: TemplateId is not config", "789"),
        ConfigurationError("could not read the secret (ClientError)"),
    ],
)
def test_a_failed_look_up_sends_unchecked_and_is_not_repeated_for_a_minute(failure: Exception) -> None:
    esms, clock = FakeEsms(failure=failure), FakeClock()
    checker = limits(esms, clock)

    # A message that would not fit goes out unchecked: eSMS's 790 stays the backstop
    assert checker.problem(request(otp="1234567")) is None
    clock.now += FAILURE_CACHE_SECONDS - 1
    assert checker.problem(request(otp="1234567")) is None
    assert len(esms.calls) == 1

    # After a minute it is asked again, and now that eSMS answers, the message is checked
    esms.failure = None
    clock.now += 1
    assert checker.problem(request(otp="1234567")) is not None
    assert len(esms.calls) == 2


def test_a_batch_needing_one_template_at_once_asks_esms_once() -> None:
    # Given eSMS slow to answer the first look-up
    esms, clock = FakeEsms(), FakeClock()
    esms.release.clear()
    checker = limits(esms, clock, ttl=600)

    # When ten threads need the template at once
    with ThreadPoolExecutor(10) as pool:
        results = [pool.submit(checker.problem, request(otp="1234567")) for _ in range(10)]
        esms.release.set()
        problems = [result.result(timeout=10) for result in results]

    # Then one look-up served them all
    assert esms.calls == [("oa-1", "205644")]
    assert set(problems) == {
        "TempData does not fit template 205644 as eSMS has it: otp: 7 characters, at most 6"
    }
