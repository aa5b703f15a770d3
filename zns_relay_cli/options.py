"""The options every command understands, before or after its name (as the AWS CLI's), declared once,
and the one invocation they describe.

Click parses an option only on the command whose name it follows, so the root group and every command
carry the same global options (their classes below add them); each records what the command line gave
it in the context's `GlobalOptions`, the last one given winning. Nothing rewrites the command line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from zns_relay_cli.deployment import DEFAULT_CONFIG_ENV, Choice, Deployment, resolve
from zns_relay_cli.output import Output

GLOBAL_PANEL = "Global options (before or after the command)"


@dataclass
class GlobalOptions:
    """What the command line gave of the global options."""

    choice: Choice = field(default_factory=Choice)
    json_mode: bool = False

    def take(self, name: str, value: Any) -> None:
        if name == "json_mode":
            self.json_mode = value
        else:
            self.choice = dataclasses.replace(self.choice, **{name: value})


def _remember(ctx: typer.Context, option: TyperOption, value: Any) -> None:
    options = ctx.ensure_object(GlobalOptions)  # on the root: every command after it shares the object
    name = option.name or ""
    source = ctx.get_parameter_source(name)
    if source is not None and source.name == "COMMANDLINE":  # a default never undoes a given value
        options.take(name, value)


def _declared(
    *,
    stack: Annotated[
        str | None,
        typer.Option(help="the deployed stack's name (default: samconfig.toml's stack_name)"),
    ] = None,
    config_env: Annotated[
        str, typer.Option(help="samconfig.toml's environment to read")
    ] = DEFAULT_CONFIG_ENV,
    profile: Annotated[str | None, typer.Option(help="AWS profile, as the AWS CLI takes it")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region, as the AWS CLI takes it")] = None,
    local: Annotated[
        bool, typer.Option("--local", help="the local stack (found by itself when one runs)")
    ] = False,
    json_mode: Annotated[bool, typer.Option("--json", help="JSON on stdout, for scripts")] = False,
) -> None:
    """The global options' declaration: Typer makes them into Click options from this signature."""


def _global_options(panel: str | None) -> list[Any]:
    """The global options, made afresh: each recorded in `GlobalOptions`, none passed to a command."""
    declaring = typer.Typer(add_completion=False)
    declaring.command()(_declared)
    options: list[Any] = typer.main.get_command(declaring).params
    for option in options:
        option.callback = _remember
        option.expose_value = False
        option.rich_help_panel = panel
    return options


def _flags_by_name(params: list[Any]) -> list[Any]:
    """A flag (`--local`, `--help`) shown in help by its name alone: Typer shows `--local <bool>`, as if
    it took a value, unless the flag has a metavar."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
    return params


class Commands(TyperGroup):
    """The root: the global options before a command's name."""

    global_options = _global_options(panel=None)

    def get_params(self, ctx: Any) -> list[Any]:
        own = super().get_params(ctx)  # ends with --help
        return _flags_by_name([*own[:-1], *self.global_options, own[-1]])


class Command(TyperCommand):
    """A command: its own options, then the global ones after its name."""

    global_options = _global_options(panel=GLOBAL_PANEL)

    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_by_name([*super().get_params(ctx), *self.global_options])


@dataclass
class Session:
    """One invocation: the options that choose the deployment, and the output mode."""

    choice: Choice
    output: Output = field(repr=False)

    @cached_property
    def deployment(self) -> Deployment:
        deployment = resolve(self.choice)
        if deployment.local and not self.choice.local:
            self.output.note("using the local stack (--stack NAME for a deployed one)")
        return deployment


def session(ctx: typer.Context) -> Session:
    given = ctx.ensure_object(GlobalOptions)
    return Session(given.choice, Output(given.json_mode))


# Message options shared by send and check.
FileOption = Annotated[
    str | None,
    typer.Option("--file", "-f", help="messages: a JSON object, a JSON array, or JSON lines; - for stdin"),
]
PhoneOption = Annotated[str | None, typer.Option(help="Phone (any Vietnamese mobile form)")]
TempIdOption = Annotated[str | None, typer.Option(help="TempID, the ZNS template")]
DataOption = Annotated[
    list[str] | None, typer.Option("--data", "-d", help="a TempData entry, KEY=VALUE (repeat)")
]
RequestIdOption = Annotated[str | None, typer.Option(help="RequestId (default: one is made and shown)")]
OaIdOption = Annotated[str | None, typer.Option(help="OAID (default: the stack's DefaultOaId)")]
