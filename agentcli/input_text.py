"""Text the user gives (stdin, `-m`) as valid Unicode, whatever bytes arrived.

Python hands undecodable bytes over as lone surrogates (argv always; stdin under surrogateescape) or
raises on read (stdin under strict errors). Either way the text could not be encoded for the model
call later ("UnicodeEncodeError ... surrogates not allowed") and the turn was lost. Here every invalid
byte becomes U+FFFD and one notice on stderr says so; valid text is passed on untouched.
"""

from __future__ import annotations

import re
import sys
from typing import BinaryIO, TextIO

NOTICE = "agent: notice: the input was not valid UTF-8; invalid bytes were replaced with \ufffd"
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_NOT_ESCAPED_BYTE = re.compile(r"[\ud800-\udc7f\udd00-\udfff]")  # surrogates surrogateescape never makes


def repair(text: str) -> tuple[str, bool]:
    """(text with undecodable bytes as U+FFFD, whether anything was replaced)."""
    if _SURROGATE.search(text) is None:
        return text, False
    # Bytes smuggled as U+DC80..U+DCFF go back to bytes, so a multi-byte character split by a bad byte
    # decodes as far as it can; any other lone surrogate is replaced outright.
    raw = _NOT_ESCAPED_BYTE.sub("\ufffd", text).encode("utf-8", "surrogateescape")
    return raw.decode("utf-8", "replace"), True


def repaired(text: str | None, *, err: TextIO | None = None) -> str | None:
    """`text` repaired, with the notice on stderr when something was replaced; None stays None."""
    if text is None:
        return None
    fixed, changed = repair(text)
    if changed:
        print(NOTICE, file=err or sys.stderr, flush=True)
    return fixed


def read_stdin_text(stdin: TextIO | None = None, *, err: TextIO | None = None) -> str:
    """All of stdin as text, read as bytes so no locale's error handler decides; notice when repaired."""
    stream = stdin or sys.stdin
    buffer: BinaryIO | None = getattr(stream, "buffer", None)
    if buffer is None:  # a text-only stream (tests, embedding): repair what it gives
        return repaired(stream.read(), err=err) or ""
    data = buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        print(NOTICE, file=err or sys.stderr, flush=True)
        return data.decode("utf-8", "replace")

def stdin_empty_from_start() -> bool:
    """Whether stdin holds nothing from the start: /dev/null (nohup, a service manager), an empty file, or
    none. A pipe cannot tell before it ends, so it is not: its end ends the session as before."""
    import os
    import stat

    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (AttributeError, OSError, ValueError):
        return True  # no usable stdin at all
    if stat.S_ISCHR(mode):
        return not sys.stdin.isatty()
    return stat.S_ISREG(mode) and os.fstat(sys.stdin.fileno()).st_size == 0
