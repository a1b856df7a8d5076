"""Reconnecting after the socket drops: backoff with a bounded total time, and the history replay.

A fresh server session knows nothing, so the client configures it again and recreates the conversation
so far as text items (agentcli/realtime/items.py) before carrying on; the backoff also paces retries of
a refused first connection (5xx, 429).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentcli import events as ev
from agentcli.errors import ModelError
from agentcli.realtime.connection import HandshakeRefused
from agentcli.realtime.items import replay_entries

if TYPE_CHECKING:
    from agentcli.realtime.model import Connect, RealtimeModel
    from agentcli.realtime.state import History, Link

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


async def connect_first(
    connect: Connect, give_up_s: float | None, retries: int, emit: Callable[[ev.Event], None]
) -> RealtimeModel:
    """Connect; a refusal worth retrying (5xx, 429) is retried `retries` times."""
    backoff = Backoff(give_up_s)
    while True:
        try:
            return await connect()
        except HandshakeRefused as e:
            delay = backoff.next_delay() if e.transient and backoff.attempts < retries else None
            if delay is None:
                raise
            emit(ev.Retrying(attempt=backoff.attempts, reason=str(e)))
            await asyncio.sleep(delay)


async def reconnect(connect: Connect, give_up_s: float | None) -> RealtimeModel:
    """Connect again after a drop, with backoff; ModelError once `give_up_s` have passed."""
    backoff = Backoff(give_up_s)
    last = "connection lost"
    while (delay := backoff.next_delay()) is not None:
        await asyncio.sleep(delay)
        try:
            return await connect()
        except ModelError as e:
            last = str(e)
    raise ModelError(f"lost the realtime connection and could not reconnect within {backoff.give_up_s:g} s ({last})")


async def replay_history(link: Link, history: History) -> None:
    """Recreate the conversation so far on a fresh server session, noting each entry's new item."""
    link.replayed = []
    for entry in replay_entries(history.conversation.items):
        item_id = new_item_id()
        history.own_ids.add(item_id)
        link.replayed.append((entry, item_id))
        await link.send(lambda m, i=item_id, x=entry: m.add_item(i, x))


async def rewrite_replayed(link: Link, history: History, entry: dict[str, Any]) -> None:
    """A replayed history entry changed after the replay: a barge-in cut an answer that was still
    playing from the dropped connection, so the server holds all of its text while the user heard a
    part. Swap the server's copy for the entry as it is now, at the same place in the conversation."""
    replayed = link.replayed
    index = next((i for i, (e, _) in enumerate(replayed) if e is entry), None)
    if index is None:
        return
    await link.soft(lambda m: m.delete_item(replayed[index][1]))
    if not replay_entries([entry]):  # nothing was heard: the answer leaves the conversation
        del replayed[index]
        return
    item_id = new_item_id()
    history.own_ids.add(item_id)
    previous = replayed[index - 1][1] if index else "root"
    replayed[index] = (entry, item_id)
    await link.soft(lambda m: m.add_item(item_id, entry, previous))
