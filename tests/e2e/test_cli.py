"""The `zns-relay` command against the local stack: every subcommand, its `--json` output parsed, its
exit codes, and a user's mistakes answered with one line (never a traceback). One stack for the module;
the command finds it through its state folder, as it finds a running `up`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local.esms_sim import SimulatorConfig
from local.stack import LocalStack, StackInfo
from tests.support.waiting import wait_for
from zns_relay_cli.app import main
from zns_relay_cli.local_state import STATE_ENV, hold
from zns_relay_cli.redrive import queue_depth

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
NO_ZALO_PHONE = "0901000118"
REFUSING_PHONE = "0901000141"  # the person refused ZNS from the OA (Zalo -141)
TEMPLATE = "2056446"


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Cli = Callable[..., Ran]


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    folder = tmp_path_factory.mktemp("state")
    config = SimulatorConfig(
        phone_outcomes={NO_ZALO_PHONE: "failed_118"}, refusing_phones={REFUSING_PHONE: -141}
    )
    # The functions' log lines go to a file, as `up` sends them elsewhere than the command's output
    log = folder / "functions.log"
    with (
        hold(folder),
        LocalStack(simulator_config=config, function_output=log) as running,
        pytest.MonkeyPatch.context() as environment,
    ):
        assert running.info is not None
        running.info.save(folder)
        environment.setenv(STATE_ENV, str(folder))
        yield running


@pytest.fixture(scope="module")
def stack(local: LocalStack) -> StackInfo:
    assert local.info is not None
    return local.info


@pytest.fixture
def cli(stack: StackInfo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("COLUMNS", "200")  # Rich's tables unwrapped

    def run(*arguments: str) -> Ran:
        capsys.readouterr()
        code = main(list(arguments))
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


def body(otp: str, **fields: str) -> dict[str, Any]:
    """A message to the simulator's example template, with the given OTP and fields."""
    return {"Phone": "0901888484", "TempID": TEMPLATE, "TempData": {"otp": otp}, **fields}


def status_of(stack: StackInfo, request_id: str, wanted: str) -> bool:
    return stack.statuses().get(request_id) == wanted


def test_send_by_flags_and_status_shows_the_message_with_its_timeline(stack: StackInfo, cli: Cli) -> None:
    # Given a message sent by flags, found without --local (the running stack is found by itself)
    sent = cli(
        "send",
        "--phone",
        "0901888484",
        "--temp-id",
        TEMPLATE,
        "--data",
        "otp=4829",
        "--request-id",
        "cli-1",
        "--campaign",
        "cli",
        "--json",
    )
    assert sent.code == 0, sent.err
    [message] = sent.json()["messages"]
    assert (message["requestId"], message["requestIdGenerated"], message["error"]) == ("cli-1", False, None)
    assert message["messageId"]
    assert wait_for(lambda: status_of(stack, "cli-1", "DELIVERED"), 30)

    # When its status is asked, for a script and for a person
    as_json = cli("status", "cli-1", "--json")
    shown = cli("status", "cli-1")

    # Then both tell where it stands and how it got there
    assert as_json.code == 0
    answer = as_json.json()
    assert (answer["status"], answer["isFinal"], answer["channel"], answer["error"]) == (
        "DELIVERED",
        True,
        "zns",
        None,
    )
    # (on a busy machine a send may time out and be RETRYING until a retry or eSMS's callback proves it
    # accepted: the timeline says so)
    timeline = [entry["status"] for entry in answer["history"]]
    assert (timeline[0], timeline[-1]) == ("SENDING", "DELIVERED"), timeline
    assert set(timeline) <= {"SENDING", "RETRYING", "ACCEPTED", "DELIVERED"}, timeline
    assert shown.code == 0
    assert "DELIVERED (final)" in shown.out
    assert "history" in shown.out
    assert all(status in shown.out for status in timeline)
    assert "accepted by eSMS" in shown.out or "RETRYING" in timeline


def test_send_without_a_request_id_makes_one_and_says_so(stack: StackInfo, cli: Cli) -> None:
    ran = cli("send", "--phone", "0901888484", "--temp-id", TEMPLATE, "--data", "otp=1")

    assert ran.code == 0, ran.err
    assert "(made)" in ran.out
    assert "RequestId made" in ran.err


def test_a_file_with_a_bad_line_sends_nothing_and_names_the_line(
    stack: StackInfo, cli: Cli, tmp_path: Path
) -> None:
    # Given JSON lines whose second uses the snake_case names the published schema forbids
    good = body("1", RequestId="file-good")
    bad = {"phone": "0901888484", "temp_id": TEMPLATE, "TempData": {"otp": "1"}, "RequestId": "file-bad"}
    path = tmp_path / "messages.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")

    # When it is sent
    ran = cli("send", "--file", str(path), "--json")

    # Then the command says which line breaks the contract, exits 2, and sends nothing
    assert ran.code == 2
    assert [problem["line"] for problem in ran.json()["invalid"]] == [2]
    assert "line 2:" in ran.err
    assert "nothing was sent" in ran.err
    assert "Traceback" not in ran.err


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (("send", "--file", "no-such-file.jsonl"), "no-such-file.jsonl: no such file"),
        (("send", "--phone", "0901888484", "--data", "foo"), "--data foo: expected KEY=VALUE"),
        (("send", "--phone", "0901888484"), "needs --phone and at least one --data"),
        (("list",), "exactly one of --status, --phone or --campaign"),
        (("list", "--status", "FAILED", "--since", "yesterday"), "--since yesterday"),
        (("send", "--no-such-option"), "No such option"),
    ],
)
def test_a_user_mistake_is_one_line_and_exit_2(cli: Cli, arguments: tuple[str, ...], says: str) -> None:
    ran = cli(*arguments)

    assert ran.code == 2
    assert says in ran.err
    assert len(ran.err.strip().splitlines()) == 1
    assert "Traceback" not in ran.err


def test_the_console_script_answers_a_mistake_without_a_traceback(stack: StackInfo, tmp_path: Path) -> None:
    ran = subprocess.run(  # noqa: S603
        [str(Path(sys.executable).parent / "zns-relay"), "send", "--file", str(tmp_path / "missing.json")],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert ran.returncode == 2
    assert ran.stderr.strip() == f"error: {tmp_path / 'missing.json'}: no such file"


def test_an_unknown_message_is_exit_3(cli: Cli) -> None:
    ran = cli("status", "never-sent")

    assert ran.code == 3
    assert "no message never-sent" in ran.err


def test_a_message_rejected_for_its_over_long_request_id_is_found_by_it(stack: StackInfo, cli: Cli) -> None:
    # Given a message published by another client, with a RequestId longer than the contract allows
    long_id = "order-" + "x" * 60
    stack.publish([body("1", RequestId=long_id)])

    # When it is looked up by the RequestId it was given
    def found() -> Ran | None:
        ran = cli("status", long_id, "--json")
        return ran if ran.code == 0 else None

    ran = wait_for(found, 30)

    # Then it is there, REJECTED, with the reason
    assert ran is not None
    assert ran.json()["status"] == "REJECTED"
    assert "RequestId" in ran.json()["error"]
    assert "not a valid RequestId" in cli("status", long_id).err


def test_a_message_without_a_request_id_is_found_by_its_sqs_message_id(stack: StackInfo, cli: Cli) -> None:
    message_id = stack.client("sqs").send_message(
        QueueUrl=stack.queue_url, MessageBody=json.dumps(body("2"))
    )["MessageId"]

    assert wait_for(lambda: status_of(stack, message_id, "DELIVERED"), 30)
    assert cli("status", message_id, "--json").json()["requestId"] == message_id


def test_list_by_status_phone_and_campaign(stack: StackInfo, cli: Cli) -> None:
    # Given a delivered message of a campaign
    cli(
        "send",
        "--phone",
        "0901777111",
        "--temp-id",
        TEMPLATE,
        "--data",
        "otp=3",
        "--request-id",
        "list-1",
        "--campaign",
        "list",
    )
    assert wait_for(lambda: status_of(stack, "list-1", "DELIVERED"), 30)

    # When messages are listed each way
    by_campaign = cli("list", "--campaign", "list", "--json")
    by_phone = cli("list", "--phone", "+84 901 777 111", "--since", "1h", "--json")
    by_status = cli("list", "--status", "delivered", "--since", "1h", "--limit", "200", "--json")
    table = cli("list", "--campaign", "list")

    # Then each finds it
    assert [m["requestId"] for m in by_campaign.json()] == ["list-1"]
    assert [m["requestId"] for m in by_phone.json()] == ["list-1"]
    assert "list-1" in {m["requestId"] for m in by_status.json()}
    assert table.code == 0
    assert "list-1" in table.out
    assert "1 message" in table.err


def test_an_sms_fallback_shows_its_channel_and_both_links(stack: StackInfo, cli: Cli, tmp_path: Path) -> None:
    # Given a message with an SMS fallback, to a number without Zalo
    message = {
        "Phone": NO_ZALO_PHONE,
        "TempID": TEMPLATE,
        "TempData": {"otp": "7"},
        "RequestId": "fallback-1",
        "campaignid": "fallback",
        "Fallback": {"Content": "Ma OTP {otp}", "Brandname": "Baotrixemay"},
    }
    path = tmp_path / "fallback.json"
    path.write_text(json.dumps(message, indent=2))
    assert cli("send", "--file", str(path)).code == 0
    assert wait_for(lambda: status_of(stack, "fallback-1:sms", "DELIVERED"), 30)

    # When both are listed and the original is shown
    listed = {m["requestId"]: m for m in cli("list", "--campaign", "fallback", "--json").json()}
    table = cli("list", "--campaign", "fallback").out
    shown = cli("status", "fallback-1").out

    # Then the SMS names the message it stands in for, and the message names its SMS
    assert (listed["fallback-1"]["channel"], listed["fallback-1"]["status"]) == ("zns", "FAILED")
    assert (listed["fallback-1:sms"]["channel"], listed["fallback-1:sms"]["fallbackFor"]) == (
        "sms",
        "fallback-1",
    )
    assert "SMS (fallback of fallback-1)" in table
    assert "fallback-1:sms" in shown


def test_watch_follows_the_events_of_a_message_sent_meanwhile(stack: StackInfo, cli: Cli) -> None:
    # Given a message sent once the watch's rule is on the bus
    events = stack.client("events")

    def send_once_watching() -> None:
        wait_for(
            lambda: events.list_rules(EventBusName=stack.event_bus_name, NamePrefix="zns-relay-watch-")[
                "Rules"
            ],
            30,
        )
        stack.publish([body("5", RequestId="watch-1")])

    sender = threading.Thread(target=send_once_watching)
    sender.start()

    # When the watch waits for its final event
    ran = cli("watch", "--request-id", "watch-1", "--final", "--count", "1", "--idle", "60", "--json")
    sender.join()

    # Then it prints that one event as a JSON line, and leaves no rule behind
    assert ran.code == 0, ran.err
    [event] = [json.loads(line) for line in ran.out.splitlines()]
    assert (event["detail"]["requestId"], event["detail"]["status"]) == ("watch-1", "DELIVERED")
    assert events.list_rules(EventBusName=stack.event_bus_name, NamePrefix="zns-relay-watch-")["Rules"] == []


def test_redrive_moves_the_dlq_back_and_never_sends_an_accepted_message_again(
    local: LocalStack, stack: StackInfo, cli: Cli
) -> None:
    # Given SendDLQ holding a message already delivered and one never sent
    sqs = stack.client("sqs")
    sent = body("8", RequestId="redrive-old")
    stack.publish([sent])
    assert wait_for(lambda: status_of(stack, "redrive-old", "DELIVERED"), 30)
    fresh = {**sent, "RequestId": "redrive-new"}
    for message in (sent, fresh):
        sqs.send_message(QueueUrl=stack.dlq_url, MessageBody=json.dumps(message))

    # When it is redriven
    ran = cli("redrive", "--json")

    # Then both went back to SendQueue: the new one is delivered, the old one not sent again
    assert ran.code == 0, ran.err
    assert ran.json() == {"status": "COMPLETED", "moved": 2, "toMove": 2, "failure": None}
    assert wait_for(lambda: status_of(stack, "redrive-new", "DELIVERED"), 30)
    assert wait_for(lambda: queue_empty(sqs, stack.queue_url), 30)
    accepted = local.simulator.accepted_count_by_request_id()
    assert (accepted.get("redrive-old"), accepted.get("redrive-new")) == (1, 1)
    assert cli("redrive").out.strip() == "SendDLQ is empty: nothing to move"


def queue_empty(sqs: Any, queue_url: str) -> bool:
    return queue_depth(sqs, queue_url) == 0


def test_balance_and_quota_as_the_simulated_esms_account_has_them(cli: Cli) -> None:
    balance = cli("balance", "--json")
    quota = cli("quota", "--json")

    assert (balance.code, balance.json()["balance"]) == (0, 36693)
    assert quota.code == 0
    assert quota.json()["DailyQuota"] == 5000
    assert "36,693 VND" in cli("balance").out


def test_templates_lists_every_template_and_shows_one_in_full(cli: Cli) -> None:
    listed = cli("templates", "--json")
    one = cli("templates", "267247", "--json")
    table = cli("templates", "267247")

    assert {"2056446", "205644", "267247"} <= {template["tempId"] for template in listed.json()}
    [template] = one.json()
    assert {p["name"]: p["required"] for p in template["parameters"]} == dict.fromkeys(
        ["customer_name", "product_name", "order_code", "date"], True
    )
    assert "customer_name" in table.out
    assert cli("templates", "999999").code == 3


def test_check_finds_what_the_template_would_refuse_before_anything_is_sent(cli: Cli, tmp_path: Path) -> None:
    # Given two messages for template 267247: one complete, one missing a required parameter
    complete = {"customer_name": "An", "product_name": "Ao", "order_code": "DH1", "date": "27/11/2026"}
    messages = [
        {"Phone": "0901888484", "TempID": "267247", "TempData": complete},
        {
            "Phone": "0901888484",
            "TempID": "267247",
            "TempData": {"customer_name": "An", "date": "27/11/2026"},
        },
    ]
    path = tmp_path / "check.jsonl"
    path.write_text("".join(json.dumps(message) + "\n" for message in messages))

    # When they are checked
    ran = cli("check", "--file", str(path), "--json")

    # Then the second is named by its line, with the reason, and the exit status says so
    assert ran.code == 1
    results = ran.json()
    assert [(r["line"], r["problems"]) for r in results] == [
        (1, []),
        (
            2,
            [
                "product_name: required by the template, missing",
                "order_code: required by the template, missing",
            ],
        ),
    ]
    fits = cli(
        "check",
        "--temp-id",
        "267247",
        "--phone",
        "0901888484",
        *[f"--data={k}={v}" for k, v in complete.items()],
    )
    assert fits.code == 0
    assert "fits" in fits.out


def test_a_refusal_suppresses_the_next_message_and_the_cli_lists_and_clears_it(
    local: LocalStack, stack: StackInfo, cli: Cli
) -> None:
    # Given a first message to a person who refused ZNS from the OA: Zalo refuses it (-141)
    assert cli("send", "--phone", REFUSING_PHONE, "--temp-id", TEMPLATE, "--data", "otp=1",
               "--request-id", "refused-1").code == 0  # fmt: skip
    assert wait_for(lambda: status_of(stack, "refused-1", "FAILED"), 30)

    # Then the relay remembers it, as the CLI lists
    listed = cli("suppressions", "list", "--phone", REFUSING_PHONE, "--json")
    assert listed.code == 0, listed.err
    [suppression] = listed.json()
    assert (suppression["phone"], suppression["zaloCode"], suppression["requestId"]) == (
        REFUSING_PHONE, -141, "refused-1",
    )  # fmt: skip

    # And a second message to them fails without reaching eSMS, saying why
    assert cli("send", "--phone", REFUSING_PHONE, "--temp-id", TEMPLATE, "--data", "otp=2",
               "--request-id", "refused-2").code == 0  # fmt: skip
    assert wait_for(lambda: status_of(stack, "refused-2", "FAILED"), 30)
    answer = cli("status", "refused-2", "--json").json()
    assert answer["error"].startswith("not sent: the person refused ZNS from this OA (Zalo -141) on ")
    sent = [request["request_id"] for request in local.simulator.requests("zns_send")]
    assert "refused-1" in sent and "refused-2" not in sent

    # When the suppression is cleared, the list is empty again
    oa_id = suppression["oaId"]
    assert cli("suppressions", "clear", "--oa", oa_id, "--phone", REFUSING_PHONE).code == 0
    assert cli("suppressions", "list", "--phone", REFUSING_PHONE, "--json").json() == []
