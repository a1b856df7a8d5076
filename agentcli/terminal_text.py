"""Text from a model, a tool or a server made safe for a terminal.

Such text may carry escape sequences that clear the screen, retitle the window, plant a clickable
hyperlink, recolour everything after it, or move the cursor to overwrite what the user reads (terminal
injection). `clean()` removes every control sequence (CSI, OSC, DCS/SOS/PM/APC strings, two-byte ESC
sequences, their 8-bit C1 forms) and every other C0/C1 control character and DEL, keeping newline and
tab. A carriage return goes too: a lone one lets later text overwrite a line (CRLF becomes LF).

Removing every ESC and C1 character is what makes the result safe; matching whole sequences first
only keeps their parameters from showing up as junk (a string sequence such as OSC ends at its
terminator or at the end of the line, so an unterminated one cannot hide the rest of an answer).
A sequence split across two streamed chunks loses its ESC in the first chunk and shows its harmless
tail as text in the second.

`--json`/`--jsonl` do not use this: they keep the exact text, which JSON escaping already makes inert.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

# A whole escape sequence, 7-bit (ESC ...) or 8-bit (a C1 introducer):
_SEQUENCE = re.compile(
    r"""
      (?:\x1b\[|\x9b) [\x30-\x3f]* [\x20-\x2f]* [\x40-\x7e]?           # CSI: params, intermediates, final
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]) [^\x07\x1b\x9c\n]* (?:\x07|\x1b\\|\x9c)?  # OSC, DCS, SOS, PM, APC
    | \x1b [\x20-\x2f]* [\x30-\x7e]?                                   # ESC (intermediates) final
    """,
    re.VERBOSE,
)
# Any control left: C0 except \t and \n, DEL, C1.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_MARKUP_CHARS = ("[", "\\")

T = TypeVar("T")


def clean(text: str) -> str:
    """`text` without control sequences or control characters, except newline and tab."""
    if _CONTROL.search(text) is None:  # the common case: one scan, no copy
        return text
    return _CONTROL.sub("", _SEQUENCE.sub("", text.replace("\r\n", "\n")))


def show_controls(text: str) -> str:
    """`text` with each control character (but newline and tab) written out as `\\xNN`: for error
    lines, where the reader should see what a bad value held rather than have it vanish."""
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def escape_markup(text: str) -> str:
    """`text` for a Rich markup string: "[bold]" prints as written instead of styling the rest."""
    if not any(c in text for c in _MARKUP_CHARS):
        return text
    from rich.markup import escape  # lazy: plain output never needs Rich

    return escape(text)


def clean_markup(text: str) -> str:
    """`clean()` then `escape_markup()`: for text interpolated into a Rich markup string."""
    return escape_markup(clean(text))


def clean_value(value: T) -> T:
    """Every string inside `value` (str, list, tuple, dict values and keys) cleaned; other values as they are."""
    if isinstance(value, str):
        return clean(value)  # type: ignore[return-value]
    if isinstance(value, list):
        return [clean_value(v) for v in value]  # type: ignore[return-value]
    if isinstance(value, tuple):
        return tuple(clean_value(v) for v in value)  # type: ignore[return-value]
    if isinstance(value, dict):
        return {clean_value(k): clean_value(v) for k, v in value.items()}  # type: ignore[return-value]
    return value


def clean_event(event: T) -> T:
    """A copy of an event (any dataclass) whose text fields are cleaned, for a human-facing renderer.
    The same object when nothing needed cleaning, so the common case costs one scan per field."""
    if not dataclasses.is_dataclass(event) or isinstance(event, type):
        return event
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(event):
        if not f.init:
            continue
        value = getattr(event, f.name)
        if isinstance(value, str | list | tuple | dict):
            cleaned = clean_value(value)
            if cleaned != value:
                changes[f.name] = cleaned
    return dataclasses.replace(event, **changes) if changes else event  # type: ignore[type-var]


_JSON_RAW = re.compile(r"[\x7f-\x9f\u2028\u2029]")


def json_inert(dumped: str) -> str:
    """JSON text (from json.dumps with ensure_ascii=False) with DEL, C1 controls and line/paragraph
    separators \\u-escaped too; json.dumps escapes only C0. Still the same JSON value, exactly: such
    characters can only occur inside strings."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)
