"""`zns-relay`: send, look up, follow and redrive ZNS messages, and ask eSMS about the account and its
templates, against a deployed stack or the local one."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import typer
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from zns_relay.esms.http import EsmsQueryFailed
from zns_relay_cli import examples
from zns_relay_cli.commands import (
    balance,
    check,
    quota,
    redrive,
    send,
    status,
    suppressions,
    templates,
    watch,
)
from zns_relay_cli.commands import list as list_command
from zns_relay_cli.errors import FAILED, INTERRUPTED, OK, USAGE, CliError
from zns_relay_cli.options import Commands
from zns_relay_cli.output import Output

# In the order `--help` lists them.
COMMANDS = (send, status, list_command, watch, redrive, suppressions, balance, quota, templates, check)

app = typer.Typer(
    cls=Commands,
    name="zns-relay",
    help=__doc__,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=examples.ROOT,
)
for command in COMMANDS:
    app.add_typer(command.app)


def main(argv: Sequence[str] | None = None, defaults: Mapping[str, Any] | None = None) -> int:
    """The console script: run one command; a mistake is one line on stderr and an exit code.

    `defaults` are Click's default map: a command's name to its options' defaults (`python -m local send`
    names the simulator's example template)."""
    arguments = list(sys.argv[1:] if argv is None else argv) or ["--help"]
    output = Output(json_mode="--json" in arguments)
    command = typer.main.get_command(app)
    try:
        result = command.main(
            args=arguments, prog_name="zns-relay", standalone_mode=False, default_map=defaults
        )
    except typer.Exit as finished:
        return finished.exit_code
    except typer.TyperException as mistake:  # a usage error: an unknown option, a missing argument, ...
        output.error(mistake.format_message())
        return mistake.exit_code
    except (typer.Abort, KeyboardInterrupt):
        return INTERRUPTED
    except CliError as error:
        output.error(error.message)
        return error.exit_code
    except EsmsQueryFailed as refused:
        return _fail(output, f"eSMS: {refused}")
    except NoCredentialsError:
        output.error("no AWS credentials: pass --profile, or configure the AWS CLI (aws configure)")
        return USAGE
    except ClientError as error:
        details = error.response.get("Error", {})
        return _fail(output, f"AWS {details.get('Code', 'error')}: {details.get('Message', error)}")
    except BotoCoreError as error:
        return _fail(output, f"AWS: {error}")
    return result if isinstance(result, int) else OK


def _fail(output: Output, message: str) -> int:
    output.error(message)
    return FAILED
