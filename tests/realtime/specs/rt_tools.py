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
