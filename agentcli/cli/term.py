"""Terminal facts every renderer asks; imports nothing heavy (the trace commands use it on their fast path)."""

from __future__ import annotations

import os
import sys
from typing import Any


def color_allowed(stream: Any = None) -> bool:
    """Colour and live rendering only on a TTY and without NO_COLOR (or TERM=dumb)."""
    stream = stream or sys.stdout
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
