"""Reconnecting after the socket drops: backoff with a bounded total time, and the history replay.

A fresh server session knows nothing, so the client configures it again and recreates the conversation
so far as text items (agentcli/realtime/items.py) before carrying on; the backoff also paces retries of
a refused first connection (5xx, 429).
"""

from __future__ import annotations

import os
import secrets
import time

GIVE_UP_ENV = "AGENT_REALTIME_GIVE_UP_S"
DEFAULT_GIVE_UP_S = 30.0
FIRST_DELAY_S = 0.1
MAX_DELAY_S = 3.0


def give_up_after() -> float:
    try:
        return max(0.0, float(os.environ.get(GIVE_UP_ENV) or DEFAULT_GIVE_UP_S))
    except ValueError:
        return DEFAULT_GIVE_UP_S


class Backoff:
    """Delays 0.1, 0.2, 0.4 ... capped at 3 s, until `give_up_s` have passed since the drop."""

    def __init__(self, give_up_s: float | None = None):
        self.give_up_s = give_up_after() if give_up_s is None else give_up_s
        self.started = time.monotonic()
        self.attempts = 0

    def next_delay(self) -> float | None:
        """Seconds to wait before the next attempt; None when it is time to give up."""
        left = self.give_up_s - (time.monotonic() - self.started)
        if left <= 0:
            return None
        delay = min(MAX_DELAY_S, FIRST_DELAY_S * (2**self.attempts))
        self.attempts += 1
        return min(delay, left)


def new_item_id() -> str:
    """A client-chosen item id (the API takes up to 32 characters)."""
    return "item_ac" + secrets.token_hex(8)
