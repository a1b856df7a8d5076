"""Tools for the realtime test specs: deterministic, fast."""

from __future__ import annotations


def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city name.
    """
    return f"{city}: sunny, 21°C"


def secret_code() -> str:
    """A secret code (for approval tests)."""
    return "code 1234"


CANCELLED: list[str] = []  # slow_lookup calls cancelled before they finished (in-process tests read it)


async def slow_lookup(topic: str) -> str:
    """Look a topic up in the slow archive (a minute; for the tests of calls taken back).

    Args:
        topic: What to look up.
    """
    import asyncio

    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        CANCELLED.append(topic)
        raise
    return f"{topic}: found"


GATE: list[object] = []  # gated_lookup waits for an asyncio.Event the test puts here


async def gated_lookup(topic: str) -> str:
    """Look a topic up in the archive (it answers when the test opens the gate).

    Args:
        topic: What to look up.
    """
    import asyncio

    gate = GATE[0] if GATE else None
    if isinstance(gate, asyncio.Event):
        await gate.wait()
    return f"{topic}: found"
