"""The command line as docs/cli.md and each `--help` write it: every command module registered, and every
documented form parsed to the command, options and global options it means, wherever the global
options stand."""

from __future__ import annotations

import dataclasses
import pkgutil
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import typer

from local import cli as local_cli
from zns_relay_cli import commands, examples
from zns_relay_cli.app import COMMANDS, app, main
from zns_relay_cli.commands import suppressions
from zns_relay_cli.options import GlobalOptions


def as_given(options: GlobalOptions) -> dict[str, Any]:
    return {**dataclasses.asdict(options.choice), "json_mode": options.json_mode}


DEFAULTS = as_given(GlobalOptions())


@dataclass(frozen=True)
class Parsed:
    code: int
    command: str | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    global_options: dict[str, Any] = dataclasses.field(default_factory=dict)


@pytest.fixture
def parse(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Parsed]:
    """`main` as the console script runs it, each command stopped where it starts its work (its session),
    with what it was given."""
    seen: list[Parsed] = []

    def stop(ctx: typer.Context) -> None:
        given = as_given(ctx.ensure_object(GlobalOptions))
        changed = {name: value for name, value in given.items() if value != DEFAULTS[name]}
        seen.append(Parsed(0, ctx.command.name, dict(ctx.params), changed))
        raise typer.Exit(0)

    for module in COMMANDS:
        monkeypatch.setattr(module, "session", stop)

    def run(*arguments: str, entry: Callable[[list[str]], int] = main) -> Parsed:
        seen.clear()
        code = entry(list(arguments))
        return seen[0] if seen else Parsed(code)

    return run


def test_every_command_module_is_registered_once_in_the_order_help_lists_them() -> None:
    # Given the modules of the commands package
    modules = {info.name for info in pkgutil.iter_modules(commands.__path__)}

    # When the root command is built
    registered = list(getattr(typer.main.get_command(app), "commands", {}))

    # Then each module is registered, and holds exactly one command, or one group of them (its name)
    assert {module.__name__.rsplit(".", 1)[1] for module in COMMANDS} == modules
    assert all(
        len(module.app.registered_commands) == 1 or module.app.info.name is not None for module in COMMANDS
    )
    assert [command.name for command in suppressions.app.registered_commands] == ["list", "clear"]
    assert registered == [
        "send",
        "status",
        "list",
        "watch",
        "redrive",
        "suppressions",
        "balance",
        "quota",
        "templates",
        "check",
    ]


SEND_FLAGS = ("--phone", "0901888484", "--temp-id", "2056446", "--data", "customer_name=An")
# The forms docs/cli.md shows: (arguments, command, some of its options, the global options given).
DOCUMENTED_FORMS = [
    (
        ("send", *SEND_FLAGS, "--request-id", "hello-1", "--campaign", "autumn-sale"),
        "send",
        {
            "phone": "0901888484",
            "temp_id": "2056446",
            "data": ["customer_name=An"],
            "campaign": "autumn-sale",
        },
        {},
    ),
    (("status", "hello-1"), "status", {"request_id": "hello-1"}, {}),
    (("send", "--file", "messages.jsonl"), "send", {"file": "messages.jsonl"}, {}),
    (
        (
            "check",
            "--temp-id",
            "267247",
            "--phone",
            "0901888484",
            "--data",
            "a=1",
            "--data",
            "date=27/11/2026",
        ),
        "check",
        {"temp_id": "267247", "data": ["a=1", "date=27/11/2026"]},
        {},
    ),
    (("balance",), "balance", {}, {}),
    (
        ("suppressions", "list", "--oa", "4097311281936189049", "--phone", "0901888484"),
        "list",
        {"oa": "4097311281936189049", "phone": "0901888484"},
        {},
    ),
    (
        ("suppressions", "clear", "--oa", "4097311281936189049", "--phone", "0901888484", "--local"),
        "clear",
        {"oa": "4097311281936189049", "phone": "0901888484", "temp_id": None},
        {"local": True},
    ),
    (
        ("list", "--status", "FAILED", "--since", "2h", "--json"),
        "list",
        {"status": "FAILED", "since": "2h", "limit": 50},
        {"json_mode": True},
    ),
    (("--stack", "NAME", "redrive"), "redrive", {"rate": None}, {"stack": "NAME"}),
    (("redrive",), "redrive", {}, {}),
    (("quota", "--oa-id", "4097311281936189049"), "quota", {"oa_id": "4097311281936189049"}, {}),
    (("templates", "267247"), "templates", {"temp_id": "267247"}, {}),
    (("templates",), "templates", {"temp_id": None}, {}),
    (("--local", "watch"), "watch", {"final": False}, {"local": True}),
]


@pytest.mark.parametrize(("arguments", "command", "options", "global_options"), DOCUMENTED_FORMS)
def test_the_documented_forms_parse_to_their_command_and_options(
    parse: Callable[..., Parsed],
    arguments: tuple[str, ...],
    command: str,
    options: dict[str, Any],
    global_options: dict[str, Any],
) -> None:
    parsed = parse(*arguments)

    assert (parsed.code, parsed.command) == (0, command)
    assert {name: parsed.params[name] for name in options} == options
    assert parsed.global_options == global_options


GLOBALS = ("--stack", "s", "--config-env", "prod", "--profile", "ops", "--region", "ap-southeast-1")
GIVEN = {"stack": "s", "config_env": "prod", "profile": "ops", "region": "ap-southeast-1"}


@pytest.mark.parametrize(
    "arguments",
    [
        (*GLOBALS, "--local", "--json", "status", "x"),
        ("status", "x", *GLOBALS, "--local", "--json"),
        ("--json", "--stack=s", "status", "--config-env=prod", "x", "--local", *GLOBALS[4:]),
    ],
    ids=["before", "after", "mixed"],
)
def test_global_options_mean_the_same_before_or_after_the_command(
    parse: Callable[..., Parsed], arguments: tuple[str, ...]
) -> None:
    parsed = parse(*arguments)

    assert parsed.command == "status"
    assert parsed.params == {"request_id": "x"}
    assert parsed.global_options == {**GIVEN, "local": True, "json_mode": True}


def test_the_last_given_global_option_wins_and_a_default_undoes_none(parse: Callable[..., Parsed]) -> None:
    assert parse("--stack", "a", "status", "x", "--stack", "b").global_options == {"stack": "b"}
    assert parse("--json", "--region", "r", "balance").global_options == {"json_mode": True, "region": "r"}


def test_a_global_option_short_of_its_value_after_the_command_is_named(
    parse: Callable[..., Parsed], capsys: pytest.CaptureFixture[str]
) -> None:
    assert parse("status", "x", "--stack").code == 2
    assert capsys.readouterr().err.strip() == "error: Option '--stack' requires an argument."


def test_a_mistyped_global_option_after_the_command_is_suggested(
    parse: Callable[..., Parsed], capsys: pytest.CaptureFixture[str]
) -> None:
    assert parse("status", "x", "--jsn").code == 2
    assert capsys.readouterr().err.strip() == "error: No such option: --jsn (Possible options: --json)"


def _help_examples() -> list[list[str]]:
    """Each `zns-relay ...` line the commands' --help ends with, up to a pipe or a comment."""
    texts = "\n".join(value for name, value in vars(examples).items() if name.isupper())
    lines = re.findall(r"zns-relay [^\n|#]+", texts)
    return [shlex.split(line)[1:] for line in lines]


@pytest.mark.parametrize("arguments", _help_examples(), ids=" ".join)
def test_every_help_example_parses(parse: Callable[..., Parsed], arguments: list[str]) -> None:
    parsed = parse(*arguments)

    assert parsed.code == 0
    assert parsed.command in arguments


@pytest.mark.parametrize(
    ("arguments", "command", "options"),
    [
        (("send", "--phone", "0901888484", "--data", "customer_name=An"), "send", {"temp_id": "2056446"}),
        (("send", "--phone", "0901888484", "--data", "a=b", "--temp-id", "1"), "send", {"temp_id": "1"}),
        (("send", "--file", "messages.jsonl"), "send", {"file": "messages.jsonl"}),
        (("status", "hello-1"), "status", {"request_id": "hello-1"}),
        (("events", "--json"), "watch", {"final": False}),
    ],
)
def test_the_local_stacks_send_status_and_events_are_the_commands_on_the_local_stack(
    parse: Callable[..., Parsed], arguments: tuple[str, ...], command: str, options: dict[str, Any]
) -> None:
    parsed = parse(*arguments, entry=local_cli.main)

    assert parsed.command == command
    assert {name: parsed.params[name] for name in options} == options
    assert parsed.global_options["local"] is True
