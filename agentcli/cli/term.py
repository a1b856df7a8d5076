"""Terminal facts every renderer asks; imports nothing heavy (the trace commands use it on their fast path)."""

from __future__ import annotations

import os
import sys
from typing import Any


def color_allowed(stream: Any = None) -> bool:
    """Colour and live rendering only on a TTY and without NO_COLOR (or TERM=dumb)."""
    stream = stream or sys.stdout
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def hyperlinks_supported(env: Any = None) -> bool:
    """Whether the terminal shows OSC-8 hyperlinks (else a link's URL is printed after its text).
    AGENT_HYPERLINKS=1/0 overrides; otherwise only terminals known to support them, and never inside
    tmux or screen, which may swallow them and leave an underlined word with no URL."""
    env = os.environ if env is None else env
    forced = env.get("AGENT_HYPERLINKS")
    if forced in ("0", "1"):
        return forced == "1"
    if env.get("TMUX") or env.get("STY") or env.get("TERM", "").startswith(("screen", "tmux")):
        return False
    if env.get("TERM_PROGRAM") in ("iTerm.app", "WezTerm", "vscode", "ghostty", "Hyper"):
        return True
    if env.get("KITTY_WINDOW_ID") or env.get("WT_SESSION") or env.get("DOMTERM"):
        return True
    try:
        return int(env.get("VTE_VERSION", "0")) >= 5000  # GNOME Terminal, Tilix, ...
    except ValueError:
        return False
