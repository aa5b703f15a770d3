"""Zalo's rules in the simulator: eSMS accepts the ZNS (100), then reports Zalo's refusal (the night
window on a Vietnam clock, the OA's and the template's daily quotas, a person's refusal, the template's
status) in every encoding of its delivery report; sandbox sends never meet them; defaults refuse nothing."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
import requests

from local.esms_sim import DEFAULT_TEMPLATES, EsmsSimulator, SimulatorConfig, ZnsTemplate
from tests.support.esms_simulator_kit import (
    CREDENTIALS,
    OA_ID,
    CallbackReceiver,
    FakeClock,
    get_callback,
    post,
    query_status,
    send_body,
)

OTHER_OA = "4097311281936189049"
NIGHT_TEMPLATE = "2056446"
OTHER_TEMPLATE = "205644"
OTP = [{"key": "otp", "value": "4829"}]
DAY_SECONDS = 24 * 3600
VIETNAM_UTC_OFFSET_SECONDS = 7 * 3600


def at_vietnam_time(http: requests.Session, sim: EsmsSimulator, clock: FakeClock, hms: str) -> None:
    """Put the simulator's Vietnam clock at `hms` (HH:MM:SS) today, over the control API."""
    hours, minutes, seconds = (int(part) for part in hms.split(":"))
    today = (clock.now + VIETNAM_UTC_OFFSET_SECONDS) % DAY_SECONDS
    offset = hours * 3600 + minutes * 60 + seconds - today
    answer = http.post(f"{sim.control_url}/config", json={"vietnam_clock_offset_seconds": offset}, timeout=5)
    assert answer.status_code == 200, answer.text


class Sender:
    """Sends ZNS with fresh RequestIds, a CallbackUrl each, and reads back every encoding of the report."""

    def __init__(self, http: requests.Session, sim: EsmsSimulator, receiver: CallbackReceiver) -> None:
        self.http, self.sim, self.receiver = http, sim, receiver
        self._count = 0

    def send(self, **changes: Any) -> dict[str, Any]:
        """The send's answer; eSMS's record of it once its reports have happened."""
        self._count += 1
        request_id = f"zr-{self._count}"
        body = send_body(RequestId=request_id, CallbackUrl=self.receiver.url(request_id), **changes)
        answer: dict[str, Any] = post(self.http, self.sim, body).json()
        assert self.sim.wait_for_callbacks_idle(5)
        return answer

    def error(self, **changes: Any) -> int | None:
        """Zalo's code for a ZNS sent now (None: delivered), the same in all three encodings."""
        answer = self.send(**changes)
        assert answer["CodeResult"] == "100", answer
        sms_id = answer["SMSID"]
        [callback] = [query for query in self.receiver.queries() if query["SMSID"] == sms_id]
        [item] = get_callback(self.http, self.sim, [sms_id], OAId=changes.get("OAID", OA_ID))["Data_callback"]
        data = query_status(self.http, self.sim, sms_id)["Data"]
        if not callback["error_info"]:
            assert (callback["SendSuccess"], item["ErrorInfo"], data["ErrorInfo"]) == ("1", "", "0")
            return None
        error = json.loads(json.loads(callback["error_info"]))
        assert json.loads(item["ErrorInfo"]) == error
        assert data["ErrorInfo"] == str(error["error"])
        report = (callback["SendStatus"], callback["SendFailed"], callback["TotalPrice"])
        assert report == ("5", "1", "0.0000")
        code: int = error["error"]
        assert error["message"]
        return code

    def remaining_quota(self, oa_id: str = OA_ID) -> int:
        body = {**CREDENTIALS, "OAID": oa_id}
        remaining: int = self.http.post(f"{self.sim.url}/ZNS/GetQuota/", json=body, timeout=5).json()[
            "RemainingQuota"
        ]
        return remaining


@pytest.fixture
def sender(sim: EsmsSimulator, http: requests.Session, receiver: CallbackReceiver) -> Sender:
    return Sender(http, sim, receiver)


def test_the_defaults_refuse_nothing_at_any_hour(
    sim: EsmsSimulator, http: requests.Session, clock: FakeClock, sender: Sender
) -> None:
    # Given the rules' defaults: no night templates, no template limits, no refusing numbers
    defaults = SimulatorConfig()
    assert (defaults.vietnam_clock_offset_seconds, defaults.night_restricted_templates) == (0.0, ())
    assert (defaults.template_daily_limits, defaults.refusing_phones) == ({}, {})

    # When ZNS are sent at midnight and at 23:00 Vietnam time
    at_vietnam_time(http, sim, clock, "00:00:00")
    midnight = sender.error()
    at_vietnam_time(http, sim, clock, "23:00:00")
    night = sender.error()

    # Then both are delivered
    assert (midnight, night) == (None, None)


def test_the_vietnam_clock_is_the_simulators_clock_plus_the_offset(
    sim: EsmsSimulator, http: requests.Session, clock: FakeClock
) -> None:
    # The fake clock's 1000 s after the epoch is 07:16:40 in Vietnam (UTC+7)
    assert sim.vietnam_time().isoformat() == "1970-01-01T07:16:40+07:00"

    at_vietnam_time(http, sim, clock, "21:59:00")
    assert sim.vietnam_time().strftime("%H:%M:%S") == "21:59:00"
    clock.advance(120)
    assert sim.vietnam_time().strftime("%H:%M:%S") == "22:01:00"
    assert http.get(f"{sim.control_url}/config", timeout=5).json()["vietnam_clock_offset_seconds"] == 52940


def test_a_night_restricted_template_is_refused_133_from_22_00_to_06_00(
    sim: EsmsSimulator, http: requests.Session, clock: FakeClock, sender: Sender
) -> None:
    # Given a template Zalo may not send at night, and the clock at 21:59:59 Vietnam time
    sim.configure(night_restricted_templates=[NIGHT_TEMPLATE])
    at_vietnam_time(http, sim, clock, "21:59:59")

    # When ZNS are sent as the clock crosses 22:00, then 06:00
    before_night = sender.error()
    clock.advance(1)
    at_night = sender.error()
    other_template = sender.error(TempID=OTHER_TEMPLATE, TempData=OTP)
    at_vietnam_time(http, sim, clock, "05:59:59")
    end_of_night = sender.error()
    clock.advance(1)
    morning = sender.error()

    # Then only those in the window are refused, and only that template
    assert (before_night, at_night, other_template, end_of_night, morning) == (None, -133, None, -133, None)


def test_an_oa_over_its_daily_quota_is_refused_144_until_midnight(
    sim: EsmsSimulator, http: requests.Session, clock: FakeClock, sender: Sender
) -> None:
    # Given an OA quota of 2 ZNS a day, late in the Vietnam day
    sim.configure(daily_quota=2)
    at_vietnam_time(http, sim, clock, "23:59:58")

    # When three ZNS are sent from the OA and one from another OA
    codes = [sender.error() for _ in range(3)]
    other_oa = sender.error(OAID=OTHER_OA)

    # Then the third is refused, and GetQuota counts what Zalo took
    assert codes == [None, None, -144]
    assert other_oa is None
    assert (sender.remaining_quota(), sender.remaining_quota(OTHER_OA)) == (0, 1)

    # And at 00:00 Vietnam time the quota starts again
    clock.advance(2)
    assert sender.remaining_quota() == 2
    assert sender.error() is None
    assert sender.remaining_quota() == 1


def test_a_template_over_its_daily_limit_is_refused_147_until_midnight(
    sim: EsmsSimulator, http: requests.Session, clock: FakeClock, sender: Sender
) -> None:
    # Given a template limited to one ZNS a day
    sim.configure(template_daily_limits={OTHER_TEMPLATE: 1})
    at_vietnam_time(http, sim, clock, "23:59:59")

    # When it is sent twice, another template once, and it again after midnight
    first, second = (sender.error(TempID=OTHER_TEMPLATE, TempData=OTP) for _ in range(2))
    other = sender.error()
    clock.advance(1)
    next_day = sender.error(TempID=OTHER_TEMPLATE, TempData=OTP)

    # Then only the second is refused; the refused one used none of the OA's quota
    assert (first, second, other, next_day) == (None, -147, None, None)
    assert sender.remaining_quota() == 4999


@pytest.mark.parametrize(("code", "phone"), [(-141, "0901888484"), (-139, "84901888484")])
def test_a_person_who_refused_gets_their_code(
    code: int, phone: str, sim: EsmsSimulator, sender: Sender
) -> None:
    # Given a number whose person refused ZNS (configured in either form)
    sim.configure(refusing_phones={phone: code})

    # When a ZNS goes to that number (in the other form) and one to another number
    refused = sender.error(Phone="84901888484" if phone.startswith("0") else "0901888484")
    other = sender.error(Phone="0912345678")

    # Then the first is refused with the person's code
    assert (refused, other) == (code, None)


@pytest.mark.parametrize(("status", "code"), [("PENDING_REVIEW", -131), ("REJECT", -131), ("DISABLE", -146)])
def test_a_template_not_enabled_is_refused_and_reported_so(
    status: str, code: int, sim: EsmsSimulator, http: requests.Session, sender: Sender
) -> None:
    # Given a template in that status
    template = dataclasses.replace(DEFAULT_TEMPLATES[NIGHT_TEMPLATE], status=status)
    sim.configure(templates={**DEFAULT_TEMPLATES, NIGHT_TEMPLATE: template})

    # When a ZNS of it is sent, and the template is asked for
    refused = sender.error()
    query = {**CREDENTIALS, "TemplateId": NIGHT_TEMPLATE, "OAId": OA_ID}
    info = http.get(f"{sim.url}/GetZnsTemplateInfo", params=query, timeout=5).json()

    # Then Zalo refuses it with the status's code, and GetZnsTemplateInfo reports that status
    assert refused == code
    assert info["Data"]["Status"] == status


def test_a_deleted_template_is_refused_at_send_time_with_789(sim: EsmsSimulator, sender: Sender) -> None:
    deleted = dataclasses.replace(DEFAULT_TEMPLATES[NIGHT_TEMPLATE], status="DELETE")
    sim.configure(templates={**DEFAULT_TEMPLATES, NIGHT_TEMPLATE: deleted})

    assert sender.send()["CodeResult"] == "789"
    assert sender.send(Sandbox="1")["CodeResult"] == "789"


def test_the_first_rule_in_zalos_order_is_the_refusal(
    sim: EsmsSimulator, http: requests.Session, clock: FakeClock, sender: Sender
) -> None:
    # Given a refusing number, a night template over its limit and an OA at its quota, at night
    sim.configure(
        daily_quota=1,
        night_restricted_templates=[NIGHT_TEMPLATE],
        template_daily_limits={NIGHT_TEMPLATE: 1},
        refusing_phones={"0901888484": -141},
    )
    at_vietnam_time(http, sim, clock, "12:00:00")
    assert sender.error(Phone="0912345678") is None  # uses the OA's quota and the template's limit

    # When ZNS are sent as, one by one, the earlier rules are lifted
    disabled = dataclasses.replace(DEFAULT_TEMPLATES[NIGHT_TEMPLATE], status="DISABLE")
    sim.configure(templates={**DEFAULT_TEMPLATES, NIGHT_TEMPLATE: disabled})
    at_vietnam_time(http, sim, clock, "23:00:00")
    codes = [sender.error()]
    sim.configure(templates=DEFAULT_TEMPLATES)
    codes.append(sender.error())
    sim.configure(night_restricted_templates=[])
    codes.append(sender.error())
    sim.configure(daily_quota=5000)
    codes.append(sender.error())
    sim.configure(template_daily_limits={})
    codes.append(sender.error())

    # Then the template's state wins, then the night, the OA's quota, the template's, and the person
    assert codes == [-146, -133, -144, -147, -141]


def test_sandbox_sends_never_meet_zalos_rules(
    sim: EsmsSimulator, http: requests.Session, clock: FakeClock, sender: Sender
) -> None:
    # Given every rule against the send, at night
    disabled = dataclasses.replace(DEFAULT_TEMPLATES[NIGHT_TEMPLATE], status="DISABLE")
    sim.configure(
        templates={**DEFAULT_TEMPLATES, NIGHT_TEMPLATE: disabled},
        night_restricted_templates=[NIGHT_TEMPLATE],
        daily_quota=0,
        refusing_phones={"0901888484": -141},
    )
    at_vietnam_time(http, sim, clock, "23:00:00")

    # When a sandbox ZNS is sent
    answer = sender.send(Sandbox="1")

    # Then eSMS accepts it as any sandbox send: nothing stored, reported or counted
    assert answer["CodeResult"] == "100"
    assert query_status(http, sim, answer["SMSID"])["CodeResult"] == "854"
    assert sim.callbacks() == []


def test_refused_messages_are_logged_with_their_refusal(
    sim: EsmsSimulator, http: requests.Session, clock: FakeClock, sender: Sender
) -> None:
    sim.configure(night_restricted_templates=[NIGHT_TEMPLATE])
    at_vietnam_time(http, sim, clock, "22:30:00")

    sender.error()

    [logged] = sim.requests("zns_send")
    assert (logged["accepted"], logged["outcome"]) == (True, "refused_133")
    assert [callback["outcome"] for callback in sim.callbacks()] == ["refused_133"]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"vietnam_clock_offset_seconds": "soon"}, "vietnam_clock_offset_seconds"),
        ({"night_restricted_templates": "2056446"}, "night_restricted_templates"),
        ({"night_restricted_templates": ["tmpl"]}, "night_restricted_templates"),
        ({"template_daily_limits": {"205644": -1}}, "template_daily_limits[205644]"),
        ({"template_daily_limits": {"x": 1}}, "template_daily_limits"),
        ({"refusing_phones": {"0901888484": -114}}, "not -141 or -139"),
        ({"refusing_phones": {"12": -141}}, "refusing_phones"),
    ],
)
def test_invalid_rule_knobs_are_refused(
    changes: dict[str, Any], error: str, sim: EsmsSimulator, http: requests.Session
) -> None:
    answer = http.post(f"{sim.control_url}/config", json=changes, timeout=5)

    assert answer.status_code == 400 and error in answer.json()["error"], answer.text


def test_the_rule_knobs_round_trip_through_the_config_json(
    sim: EsmsSimulator, http: requests.Session
) -> None:
    knobs: dict[str, Any] = {
        "vietnam_clock_offset_seconds": -3600.5,
        "night_restricted_templates": ["2056446"],
        "template_daily_limits": {"205644": 10},
        "refusing_phones": {"0901888484": -139},
    }
    http.post(f"{sim.control_url}/config", json=knobs, timeout=5)
    shown = http.get(f"{sim.control_url}/config", timeout=5).json()

    assert {key: shown[key] for key in knobs} == knobs
    assert SimulatorConfig(**knobs).night_restricted_templates == ("2056446",)
    assert isinstance(sim.config.templates[NIGHT_TEMPLATE], ZnsTemplate)


def test_a_reset_forgets_the_days_counts(sim: EsmsSimulator, sender: Sender) -> None:
    sim.configure(daily_quota=1)
    assert sender.error() is None
    assert sender.remaining_quota() == 0

    sim.reset()

    assert sender.remaining_quota() == 1
    assert sender.error() is None
