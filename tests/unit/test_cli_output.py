"""The CLI prints what came from a message or a report with its control characters escaped, on every
path: tables, label/value lines, plain lines, notes, errors, and JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rich.text import Text

from zns_relay_cli.commands.status import show_message
from zns_relay_cli.commands.watch import event_line
from zns_relay_cli.output import Output, printable, status_text

# An OSC sequence that retitles the terminal, a CSI (8-bit) that clears it, a bell.
HOSTILE = "autumn\x1b]0;owned\x07\x9b2J"


def terminal_text(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    return captured.out + captured.err


def assert_shown_not_run(printed: str) -> None:
    # (Rich drops BEL, BS and CR from a Text made of raw text: those never reach the terminal either.)
    assert "autumn\\x1b]0;owned" in printed and "\\x9b2J" in printed
    assert not any(character in printed for character in "\x1b\x07\x9b")


def test_printable_escapes_control_characters_and_keeps_the_styles() -> None:
    # Given styled text with a control character inside a styled span
    text = Text("ok ", style="bold")
    text.append("a\x1bb", style="red")
    text.append(" end")

    # When it is made printable
    shown = printable(text)

    # Then the character is escaped and each style still covers its own words
    assert shown.plain == "ok a\\x1bb end"
    assert shown.style == "bold"
    assert [(shown.plain[span.start : span.end], span.style) for span in shown.spans] == [("a\\x1bb", "red")]
    assert printable("plain") == Text("plain")


@pytest.mark.parametrize(
    "prints",
    [
        lambda output: output.table(["campaign"], [[HOSTILE], [Text(HOSTILE, style="red")]]),
        lambda output: output.fields({"campaign": HOSTILE, HOSTILE: "label from eSMS"}),
        lambda output: output.line(HOSTILE),
        lambda output: output.note(HOSTILE),
        lambda output: output.error(HOSTILE),
    ],
    ids=["table", "fields", "line", "note", "error"],
)
def test_every_printing_path_shows_control_characters_escaped(
    prints: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    prints(Output(json_mode=False))
    assert_shown_not_run(terminal_text(capsys))


def test_a_message_and_its_history_are_shown_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a message whose campaign, error and a report's text in its history carry terminal escapes
    message = {
        "requestId": "order-1",
        "status": "FAILED",
        "isFinal": True,
        "campaign": HOSTILE,
        "error": HOSTILE,
        "history": [{"at": "2026-11-27T17:26:23.545Z", "status": "FAILED", "detail": HOSTILE}],
    }

    # When `zns-relay status` shows it
    show_message(message, Output(json_mode=False))

    # Then every one is shown, none run
    printed = terminal_text(capsys)
    assert printed.count("autumn\\x1b]0;owned") == 3
    assert_shown_not_run(printed)


def test_a_followed_event_line_is_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a status event whose reason (a report's text) carries terminal escapes
    detail = {"time": "2026-11-27T17:26:23Z", "requestId": "order-1", "status": "FAILED", "reason": HOSTILE}
    # When `zns-relay events` prints it
    Output(json_mode=False).line(event_line({"detail": detail}))
    # Then it is shown, not run
    assert_shown_not_run(terminal_text(capsys))


def test_json_output_escapes_c1_characters_and_keeps_the_values(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a document whose text holds C0, DEL and C1 characters (JSON itself escapes only C0)
    document = {"campaign": HOSTILE + "\x7f", "status": status_text("FAILED").plain}

    # When it is printed as JSON, in both forms
    output = Output(json_mode=True)
    output.json(document)
    output.json_line(document)

    # Then no control character reaches the terminal, and each line reads back as the same values
    printed = capsys.readouterr().out
    assert not any(character in printed.replace("\n", "") for character in "\x1b\x07\x7f\x9b")
    whole, line = printed[: printed.rindex("{")], printed[printed.rindex("{") :]
    assert json.loads(whole) == json.loads(line) == document


LONG_ID = "order-2026-11-27-customer-0901888484-confirmation"  # 50 characters, the most a RequestId has
LIST_COLUMNS = ["RequestId", "channel", "status", "since", "error"]
LIST_ROW = [
    LONG_ID,
    f"SMS (fallback of {LONG_ID})",
    "FAILED",
    "2026-11-27T17:26:23.545Z",
    "eSMS 146: the template's content does not match the registered one " * 2,
]


def test_on_an_80_column_terminal_no_id_is_cut_and_free_text_wraps(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a terminal 80 columns wide
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    output = Output(json_mode=False)
    assert output.out.is_terminal and output.out.width == 80

    # When `list` prints a row with the longest RequestId and a long error
    output.table(LIST_COLUMNS, [LIST_ROW], wrap={"error"})

    # Then the ids are whole (the table grows past 80 columns for them), and the error wraps, word by word
    printed = capsys.readouterr().out
    assert LONG_ID in printed and f"(fallback of {LONG_ID})" in printed
    assert "…" not in printed
    assert len([line for line in printed.splitlines() if "eSMS 146" in line]) == 2


def test_off_a_terminal_a_row_stays_on_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given output to a pipe (no terminal width: Rich would assume 80 columns)
    monkeypatch.delenv("COLUMNS", raising=False)
    output = Output(json_mode=False)
    assert not output.out.is_terminal

    # When the same row is printed
    output.table(LIST_COLUMNS, [LIST_ROW], wrap={"error"})

    # Then it is one line, whole, that grep finds
    [row] = [line for line in capsys.readouterr().out.splitlines() if LONG_ID in line]
    assert LIST_ROW[-1].strip() in row and f"(fallback of {LONG_ID})" in row
