"""The eSMS client against a real HTTP server on loopback, and the result-code policy."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from pydantic import SecretStr

from tests.support.esms_stub import EsmsStub, Reply, accepted, refused
from zns_relay.config.settings import DEFAULT_ESMS_BASE_URL
from zns_relay.esms.client import EsmsClient
from zns_relay.esms.http import MAX_ANSWER_BYTES, MAX_ANSWER_DEPTH, EsmsQueryFailed
from zns_relay.esms.status import EsmsStatusClient
from zns_relay.models.contract import TemplateParam
from zns_relay.models.esms import CODE_MEANINGS, EsmsCredentials, ResultClass, ZaloSendRequest, classify_code
from zns_relay_client.esms_account import EsmsAccountClient

CREDENTIALS = EsmsCredentials(
    api_key=SecretStr("api-key-value"),
    secret_key=SecretStr("secret-key-value"),
)
REQUEST = ZaloSendRequest(
    phone="0901888484",
    oa_id="1397492183140006179",
    temp_id="2056446",
    temp_data=(
        TemplateParam(key="customer_name", value="Nguyễn Văn An"),
        TemplateParam(key="otp", value="4829"),
    ),
    request_id="otp-1",
    sandbox=False,
    callback_url="https://example.test/callbacks/esms/otp-1/signature-of-otp-1xx",
)


@pytest.fixture
def stub() -> Iterator[EsmsStub]:
    with EsmsStub() as server:
        yield server


@pytest.fixture
def client(stub: EsmsStub) -> EsmsClient:
    return EsmsClient(stub.base_url, connect_timeout=5, read_timeout=5)  # ample: a timeout test hangs


def test_request_body_is_exactly_the_seed_with_string_values(client: EsmsClient, stub: EsmsStub) -> None:
    client.send(REQUEST, CREDENTIALS)

    assert stub.paths == ["/MainService.svc/json/SendZaloMessage_V5_post/"]
    assert stub.bodies == [
        {
            "ApiKey": "api-key-value",
            "SecretKey": "secret-key-value",
            "OAID": "1397492183140006179",
            "Phone": "0901888484",
            "TempData": [{"key": "customer_name", "value": "Nguyễn Văn An"}, {"key": "otp", "value": "4829"}],
            "SendDate": "",
            "TempID": "2056446",
            "campaignid": "",
            "Sandbox": "0",
            "CallbackUrl": "https://example.test/callbacks/esms/otp-1/signature-of-otp-1xx",
            "RequestId": "otp-1",
            "SendingMode": "1",
        }
    ]


def test_default_base_url_is_esms_production() -> None:
    client = EsmsClient(DEFAULT_ESMS_BASE_URL)
    assert client.send_url == "https://rest.esms.vn/MainService.svc/json/SendZaloMessage_V5_post/"


def test_accepted_answer_carries_the_smsid(client: EsmsClient, stub: EsmsStub) -> None:
    stub.responder = lambda body: accepted("d8e0f1f0702544b2acb456ca9ccfd111250")

    result = client.send(REQUEST, CREDENTIALS)

    assert result.result_class is ResultClass.ACCEPTED
    assert result.code == "100"
    assert result.sms_id == "d8e0f1f0702544b2acb456ca9ccfd111250"
    assert result.latency_ms > 0


def test_error_answer_keeps_code_and_message(client: EsmsClient, stub: EsmsStub) -> None:
    stub.responder = lambda body: refused("789", "TemplateId is not config")

    result = client.send(REQUEST, CREDENTIALS)

    assert result.result_class is ResultClass.PERMANENT
    assert result.sms_id is None
    assert result.description == "eSMS 789: template not configured for this OA (TemplateId is not config)"


@pytest.mark.parametrize(
    ("reply", "message", "possibly_accepted"),
    [
        (Reply(status=500, body="oops"), "eSMS answered HTTP 500", True),
        (Reply(status=502, body=""), "eSMS answered HTTP 502", True),
        (Reply(status=504, body=""), "eSMS answered HTTP 504", True),
        (Reply(status=503, body=""), "eSMS answered HTTP 503", False),
        (Reply(status=404, body="<html>"), "eSMS answered HTTP 404", False),
        (Reply(body="<html>maintenance</html>"), "eSMS answered with a body that is not JSON", True),
        (Reply(body='{"CountRegenerate": 0}'), "eSMS answered without a CodeResult", True),
        (Reply(body="[]"), "eSMS answered without a CodeResult", True),
        (Reply(hang=True), "eSMS did not answer in time", True),
    ],
    ids=["500", "502", "504", "503", "404", "html", "no-code", "list", "timeout"],
)
def test_unusable_answers_are_transient_and_say_whether_esms_may_hold_the_message(
    client: EsmsClient, stub: EsmsStub, reply: Reply, message: str, possibly_accepted: bool
) -> None:
    stub.responder = lambda body: reply

    result = client.send(REQUEST, CREDENTIALS)

    assert result.result_class is ResultClass.TRANSIENT
    assert result.code is None
    assert result.description == message
    # Only an answer that shows eSMS did not take the request counts as a certain refusal: a gateway's
    # error or a garbled answer may hide an acceptance, and such a message is never FAILED for it
    assert result.possibly_accepted is possibly_accepted


def test_esms_documented_invalid_request_answer_is_a_permanent_refusal(
    client: EsmsClient, stub: EsmsStub
) -> None:
    stub.responder = lambda body: Reply(body='{"error": "Invalid request"}')

    result = client.send(REQUEST, CREDENTIALS)

    assert result.result_class is ResultClass.PERMANENT
    assert result.description == "eSMS refused the request: Invalid request"


def test_a_connection_dropped_after_the_request_may_have_been_accepted(
    client: EsmsClient, stub: EsmsStub
) -> None:
    stub.responder = lambda body: Reply(drop=True)

    result = client.send(REQUEST, CREDENTIALS)

    assert result.result_class is ResultClass.TRANSIENT
    assert result.possibly_accepted is True
    assert stub.sends_for("otp-1") == 1


def test_unreachable_esms_is_transient_certainly_not_sent_and_names_no_secret() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = EsmsClient(f"http://127.0.0.1:{port}/MainService.svc/json", connect_timeout=0.5)

    result = client.send(REQUEST, CREDENTIALS)

    assert result.result_class is ResultClass.TRANSIENT
    assert result.description == "could not reach eSMS (ConnectionError)"
    assert result.possibly_accepted is False


def test_a_redirect_is_never_followed_with_the_keys(client: EsmsClient, stub: EsmsStub) -> None:
    # Given an answer that redirects to another host
    with EsmsStub() as elsewhere:
        location = f"{elsewhere.base_url}/SendZaloMessage_V5_post/"
        stub.responder = lambda body: Reply(status=307, headers=(("Location", location),))

        result = client.send(REQUEST, CREDENTIALS)

        # Then the keys go nowhere else, and the answer counts as a failure to retry
        assert elsewhere.bodies == []
    assert result.result_class is ResultClass.TRANSIENT
    assert result.description == "eSMS answered HTTP 307"


def ask_balance(base_url: str) -> object:
    return EsmsAccountClient(base_url).balance(CREDENTIALS)


def ask_zns_status(base_url: str) -> object:
    return EsmsStatusClient(base_url, base_url).query_zns_status("sms-1", "24", CREDENTIALS)


@pytest.mark.parametrize("ask", [ask_balance, ask_zns_status])
def test_the_account_and_status_clients_never_follow_a_redirect_either(
    stub: EsmsStub, ask: Callable[[str], object]
) -> None:
    # Given an answer that redirects to another host
    with EsmsStub() as elsewhere:
        stub.responder = lambda body: Reply(status=307, headers=(("Location", elsewhere.base_url),))

        # Then the call fails on the redirect itself, and the keys go nowhere else
        with pytest.raises(EsmsQueryFailed, match="eSMS answered HTTP 307"):
            ask(stub.base_url)
        assert elsewhere.bodies == []


# Answers that would hold a thread for ever, fill its memory, or blow its stack.
TRICKLING = Reply(body=accepted("x").body + " " * 1000, trickle_seconds=0.2)
OVERSIZE = Reply(body='{"CodeResult": "100", "Pad": "' + "x" * MAX_ANSWER_BYTES + '"}')
RECURSIVE = Reply(body="[" * 100_000 + "]" * 100_000)
TOO_DEEP = Reply(
    body='{"CodeResult": "100", "Data": ' + "[" * MAX_ANSWER_DEPTH + "]" * MAX_ANSWER_DEPTH + "}"
)
HARMFUL_ANSWERS = {
    "trickling": (TRICKLING, "eSMS did not answer in time"),
    "oversize": (OVERSIZE, f"eSMS answered with more than {MAX_ANSWER_BYTES} bytes"),
    "recursive": (RECURSIVE, "eSMS answered with JSON nested too deep"),
    "too-deep": (TOO_DEEP, "eSMS answered with JSON nested too deep"),
}


@pytest.mark.parametrize(("reply", "message"), HARMFUL_ANSWERS.values(), ids=HARMFUL_ANSWERS.keys())
def test_a_send_whose_answer_cannot_be_read_whole_may_have_been_accepted(
    stub: EsmsStub, reply: Reply, message: str
) -> None:
    # Given an answer that trickles (each byte well within the read timeout), or is too large, or too deep
    stub.responder = lambda body: reply
    client = EsmsClient(stub.base_url, connect_timeout=0.5, read_timeout=1)

    result = client.send(REQUEST, CREDENTIALS)

    # Then the send ends (the timeouts bound the whole call) as one eSMS may have taken: retried, never FAILED
    assert result.result_class is ResultClass.TRANSIENT
    assert result.description == message
    assert result.possibly_accepted is True


@pytest.mark.parametrize(("reply", "message"), HARMFUL_ANSWERS.values(), ids=HARMFUL_ANSWERS.keys())
def test_a_status_answer_that_cannot_be_read_whole_is_a_failed_query(
    stub: EsmsStub, reply: Reply, message: str
) -> None:
    stub.responder = lambda body: reply
    status = EsmsStatusClient(stub.base_url, stub.base_url, connect_timeout=0.5, read_timeout=1)

    with pytest.raises(EsmsQueryFailed, match=message):
        status.query_zns_status("sms-1", "24", CREDENTIALS)


def test_an_answer_nested_as_deep_as_allowed_is_read(client: EsmsClient, stub: EsmsStub) -> None:
    depth = MAX_ANSWER_DEPTH - 1
    stub.responder = lambda body: Reply(
        body='{"CodeResult": "100", "SMSID": "x", "Data": ' + "[" * depth + "]" * depth + "}"
    )

    assert client.send(REQUEST, CREDENTIALS).result_class is ResultClass.ACCEPTED


def test_numeric_code_result_is_read_as_text(client: EsmsClient, stub: EsmsStub) -> None:
    stub.responder = lambda body: Reply(body='{"CodeResult": 100, "SMSID": "abc"}')

    assert client.send(REQUEST, CREDENTIALS).result_class is ResultClass.ACCEPTED


def test_client_is_safe_to_share_between_threads(stub: EsmsStub) -> None:
    client = EsmsClient(stub.base_url, read_timeout=10, pool_size=10)
    stub.responder = lambda body: Reply(body=accepted("x").body, delay_seconds=0.05)
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda _: client.send(REQUEST, CREDENTIALS), range(20)))

    assert [result.result_class for result in results] == [ResultClass.ACCEPTED] * 20
    assert len(stub.bodies) == 20


POLICY = {
    ResultClass.ACCEPTED: {"100"},
    ResultClass.DUPLICATE: {"124"},
    ResultClass.PERMANENT: {
        "99", "104", "108", "110", "118", "146", "201", "204", "210",
        "789", "790", "791", "799", "801", "802",
    },
    ResultClass.ACCOUNT: {"101", "102", "103", "140", "143", "177"},
    ResultClass.TRANSIENT: {"105", "120", "160"},
}  # fmt: skip


def test_every_documented_code_has_a_policy_class() -> None:
    classified = set().union(*POLICY.values())
    assert classified == set(CODE_MEANINGS)
    for result_class, codes in POLICY.items():
        assert {code: classify_code(code) for code in codes} == dict.fromkeys(codes, result_class)


@pytest.mark.parametrize("code", ["788", "0", "999", "-1", "abc"])
def test_unknown_codes_are_transient(code: str) -> None:
    assert classify_code(code) is ResultClass.TRANSIENT


def test_credentials_never_print() -> None:
    assert "api-key-value" not in repr(CREDENTIALS)
    assert "secret-key-value" not in str(CREDENTIALS)
