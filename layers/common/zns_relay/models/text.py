"""Control characters: refused in what producers send, escaped wherever text is printed.

ESC (U+001B) and CSI (U+009B) start the escape sequences that retitle, recolour or rewrite an
operator's terminal; the other C0 and C1 characters and DEL have no place in an id or a label either.
"""

from __future__ import annotations

import re

# C0 (U+0000 to U+001F), DEL (U+007F) and C1 (U+0080 to U+009F).
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")
# A message's text (an SMS, a template parameter) may span lines: GSM 03.38 has LF and CR, no TAB.
LINE_BREAKS = "\n\r"


def control_character_problem(text: str, allowed: str = "") -> str | None:
    """Why `text` is refused, if it holds a control character other than those in `allowed`."""
    for match in CONTROL_CHARACTERS.finditer(text):
        if match.group() not in allowed:
            return f"must not contain control characters (U+{ord(match.group()):04X})"
    return None


def escape_control_characters(text: str) -> str:
    """`text` with each control character shown as `\\xNN`, so that printing it moves no terminal."""
    return CONTROL_CHARACTERS.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
