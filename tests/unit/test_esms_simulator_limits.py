"""eSMS's rate limits in the simulator: a token bucket per account for sends, GetCallback's 20 calls a second
and 200 SMSIDs a call, QueryZnsStatus's 100 calls a second; each violation counted, on an injected clock."""

from __future__ import annotations

import requests

from local.esms_sim import EsmsSimulator
from tests.support import esms_documented as documented
from tests.support.esms_simulator_kit import (
    FakeClock,
    assert_documented_shape,
    get_callback,
    post,
    post_sms,
    query_status,
    send_body,
    sms_body,
)

NO_VIOLATIONS = {"send_tps": 0, "get_callback_tps": 0, "get_callback_ids": 0, "query_zns_status_tps": 0}


def codes(http: requests.Session, sim: EsmsSimulator, *request_ids: str) -> list[str]:
    return [
        post(http, sim, send_body(RequestId=request_id)).json()["CodeResult"] for request_id in request_ids
    ]


def test_sends_are_limited_by_a_token_bucket_on_the_simulator_clock(
    sim: EsmsSimulator, http: requests.Session, clock: FakeClock
) -> None:
    # Given 2 sends a second with bursts of 3
    sim.configure(tps_limit=2, tps_burst=3)

    # When sends come faster than that, then slower
    burst = codes(http, sim, "a", "b", "c", "d")
    clock.advance(0.5)  # one token back
    half_second_later = codes(http, sim, "d", "e")
    clock.advance(60)  # the bucket refills to its burst, not beyond
    after_a_minute = codes(http, sim, "e", "f", "g", "h")

    # Then each send that found the bucket empty heard 160 and was not accepted
    assert burst == ["100", "100", "100", "160"]
    assert half_second_later == ["100", "160"]
    assert after_a_minute == ["100", "100", "100", "160"]
    assert sim.accepted_count_by_request_id() == dict.fromkeys("abcdefg", 1)
    assert sim.limit_violations() == NO_VIOLATIONS | {"send_tps": 3}
    throttled = next(record for record in sim.requests() if record["code_result"] == "160")
    assert throttled["error_message"] == "Exceed TPS"


def test_the_160_answer_has_the_send_answer_shape(sim: EsmsSimulator, http: requests.Session) -> None:
    sim.configure(tps_limit=1)

    post(http, sim, send_body(RequestId="a"))
    answer = post(http, sim, send_body(RequestId="b")).json()

    assert_documented_shape(answer, documented.SEND_UNAUTHORIZED)
    assert (answer["CodeResult"], answer["CountRegenerate"]) == ("160", 0)


def test_zns_and_sms_sends_share_the_bucket(sim: EsmsSimulator, http: requests.Session) -> None:
    # Given one send a second
    sim.configure(tps_limit=1, tps_burst=1)

    # When a ZNS and an SMS go out at once
    zns = post(http, sim, send_body()).json()
    sms = post_sms(http, sim, sms_body()).json()

    # Then the second hears 160
    assert (zns["CodeResult"], sms["CodeResult"]) == ("100", "160")


def test_without_a_tps_limit_nothing_is_throttled(sim: EsmsSimulator, http: requests.Session) -> None:
    # Given the default tps_limit 0 and a still clock
    # When many sends arrive in the same instant
    answers = codes(http, sim, *(f"r{index}" for index in range(40)))

    # Then all are accepted
    assert set(answers) == {"100"}
    assert sim.limit_violations() == NO_VIOLATIONS
    assert sim.stats()["peak_calls_per_second"]["zns_send"] == 40


def test_get_callback_allows_20_calls_in_any_second(
    sim: EsmsSimulator, http: requests.Session, clock: FakeClock
) -> None:
    # When GetCallback is called 21 times in an instant, again just under a second later, then at a second
    at_once = [get_callback(http, sim, [])["Code"] for _ in range(21)]
    clock.advance(0.999)
    still_within_the_second = get_callback(http, sim, [])
    clock.advance(0.001)
    a_second_later = get_callback(http, sim, [])

    # Then the calls beyond 20 in a second were refused, each counted
    assert at_once == [100] * 20 + [160]
    assert still_within_the_second == {"Code": 160, "Message": "Exceed TPS", "Data_callback": []}
    assert a_second_later["Code"] == 100
    assert sim.limit_violations() == NO_VIOLATIONS | {"get_callback_tps": 2}
    # And the stats show the client's peak rate, refused calls included
    assert sim.stats()["peak_calls_per_second"]["get_callback"] == 22


def test_get_callback_answers_for_the_first_200_sms_ids_only(
    sim: EsmsSimulator, http: requests.Session, clock: FakeClock
) -> None:
    # Given two messages sent with a CallbackUrl
    first = post(http, sim, send_body(RequestId="a", CallbackUrl="http://127.0.0.1:9/cb/a/s")).json()["SMSID"]
    last = post(http, sim, send_body(RequestId="b", CallbackUrl="http://127.0.0.1:9/cb/b/s")).json()["SMSID"]

    # When GetCallback gets 201 SMSIDs, the second message's last; then exactly 200
    too_many = get_callback(http, sim, [first, *(f"x{index}" for index in range(199)), last])
    enough = get_callback(http, sim, [first, *(f"x{index}" for index in range(198)), last])

    # Then, as eSMS documents, it answers for the first 200 only, and the violation is counted once
    assert [item["SMSID"] for item in too_many["Data_callback"]] == [first]
    assert [item["SMSID"] for item in enough["Data_callback"]] == [first, last]
    assert sim.limit_violations() == NO_VIOLATIONS | {"get_callback_ids": 1}
    assert "only the first 200" in sim.requests("get_callback")[0]["detail"]


def test_query_zns_status_allows_100_calls_in_any_second(
    sim: EsmsSimulator, http: requests.Session, clock: FakeClock
) -> None:
    # When QueryZnsStatus is called 101 times in an instant, then a second later
    at_once = [query_status(http, sim, "unknown")["CodeResult"] for _ in range(101)]
    clock.advance(1)
    later = query_status(http, sim, "unknown")

    # Then only the 101st is refused with 160
    assert at_once == ["854"] * 100 + ["160"]
    assert later["CodeResult"] == "854"
    assert sim.limit_violations() == NO_VIOLATIONS | {"query_zns_status_tps": 1}


def test_status_limits_are_configurable(sim: EsmsSimulator, http: requests.Session) -> None:
    # Given GetCallback without a rate limit and with at most 2 SMSIDs a call
    sim.configure(get_callback_tps_limit=0, get_callback_max_ids=2)

    # When it is called often, with 3 SMSIDs
    answers = [get_callback(http, sim, ["a", "b", "c"])["Code"] for _ in range(30)]

    # Then every call is answered, and each counts as too many SMSIDs
    assert set(answers) == {100}
    assert sim.limit_violations() == NO_VIOLATIONS | {"get_callback_ids": 30}


def test_stats_over_http(sim: EsmsSimulator, http: requests.Session) -> None:
    sim.configure(tps_limit=1)
    codes(http, sim, "a", "b")
    get_callback(http, sim, [])

    stats = http.get(f"{sim.control_url}/stats").json()

    assert stats == sim.stats()
    assert stats["requests"]["zns_send"] == 2
    assert stats["requests"]["get_callback"] == 1
    assert stats["limit_violations"] == NO_VIOLATIONS | {"send_tps": 1}
    assert stats["callbacks"] == {"attempts": 0, "lost": 0}
