"""Messages from the command line: a file (one JSON object, a JSON array of them, or JSON lines; `-`
for standard input) or flags, each message with the line it starts on, so that a mistake is reported
as `line 3: ...`."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zns_relay_cli.errors import UserError

_JSON = json.JSONDecoder()


@dataclass(frozen=True)
class InputMessage:
    line: int  # where the message starts in its file (1 for flags)
    document: dict[str, Any]


@dataclass(frozen=True)
class MessageFlags:
    """A message given by flags (eSMS's field names in the comments)."""

    phone: str | None = None  # Phone
    temp_id: str | None = None  # TempID
    data: Sequence[str] = ()  # TempData, KEY=VALUE each
    request_id: str | None = None  # RequestId
    oa_id: str | None = None  # OAID
    send_date: str | None = None  # SendDate
    campaign: str | None = None  # campaignid
    sandbox: str | None = None  # Sandbox
    sending_mode: str | None = None  # SendingMode
    valid_until: str | None = None  # ValidUntil


def messages_from(file: str | None, flags: MessageFlags) -> list[InputMessage]:
    """The messages of `file`, or the one of the flags (not both)."""
    if file is not None:
        if flags.phone or flags.data:
            raise UserError("give messages either in --file or by --phone/--data, not both")
        return read_file(file)
    return [InputMessage(1, message_from_flags(flags))]


def message_from_flags(flags: MessageFlags) -> dict[str, Any]:
    if not flags.phone or not flags.data:
        raise UserError("a message needs --phone and at least one --data KEY=VALUE (or give --file)")
    temp_data: dict[str, str] = {}
    for item in flags.data:
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise UserError(f"--data {item}: expected KEY=VALUE, e.g. --data customer_name=An")
        temp_data[key] = value
    optional = {
        "TempID": flags.temp_id,
        "RequestId": flags.request_id,
        "OAID": flags.oa_id,
        "SendDate": flags.send_date,
        "campaignid": flags.campaign,
        "Sandbox": flags.sandbox,
        "SendingMode": flags.sending_mode,
        "ValidUntil": flags.valid_until,
    }
    body = {"Phone": flags.phone, "TempData": temp_data}
    return body | {key: value for key, value in optional.items() if value is not None}


def read_file(file: str) -> list[InputMessage]:
    text = _read(file)
    stripped = text.lstrip()
    if not stripped:
        raise UserError(f"{file}: no message in it")
    if stripped.startswith("["):
        return _array(text, file)
    whole = _whole_object(text)
    if whole is not None:
        return [whole]
    return _lines(text, file)


def _read(file: str) -> str:
    if file == "-":
        return sys.stdin.read()
    path = Path(file)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{file}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{file}: is a folder, not a file") from None
    except UnicodeDecodeError:
        raise UserError(f"{file}: not UTF-8 text") from None
    except OSError as error:
        raise UserError(f"{file}: cannot be read ({error.strerror})") from None


def _whole_object(text: str) -> InputMessage | None:
    """The file as one JSON object (it may span lines), or None when it is not one."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    return InputMessage(_line_of(text, len(text) - len(text.lstrip())), document)


def _lines(text: str, file: str) -> list[InputMessage]:
    messages = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserError(f"{file} line {number}: not JSON ({error.msg} at column {error.colno})") from None
        messages.append(InputMessage(number, _object(document, file, number)))
    return messages


def _array(text: str, file: str) -> list[InputMessage]:
    """A JSON array, element by element, so each message keeps the line it starts on."""
    position = text.index("[") + 1
    messages: list[InputMessage] = []
    while True:
        position = _skip_space(text, position)
        if position < len(text) and text[position] == "]":
            return messages
        try:
            document, end = _JSON.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise UserError(
                f"{file} line {error.lineno}: not JSON ({error.msg} at column {error.colno})"
            ) from None
        line = _line_of(text, position)
        messages.append(InputMessage(line, _object(document, file, line)))
        position = _skip_space(text, end)
        if position < len(text) and text[position] == ",":
            position += 1
        elif position >= len(text) or text[position] != "]":
            raise UserError(f"{file} line {_line_of(text, position)}: expected , or ] between messages")


def _object(document: Any, file: str, line: int) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise UserError(f"{file} line {line}: a message must be a JSON object, not {type(document).__name__}")
    return document


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1
