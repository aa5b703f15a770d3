"""The command's failures, each a one-line message and an exit code a script can act on."""

from __future__ import annotations

# Exit codes (docs/cli.md).
OK = 0
FAILED = 1  # the operation failed, or found problems (some messages unpublished, a check failed, ...)
USAGE = 2  # the command line or its input is wrong: nothing was done
NOT_FOUND = 3  # what was asked for does not exist (a message, a stack, a template)
INTERRUPTED = 130


class CliError(Exception):
    exit_code = FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UserError(CliError):
    exit_code = USAGE


class NotFound(CliError):
    exit_code = NOT_FOUND
