"""Tools for agent_specs/weather.yaml: deterministic fake weather, so demos and tests repeat exactly."""

from __future__ import annotations

_CONDITIONS = ("sunny", "cloudy", "rainy", "windy", "foggy", "snowy")


def get_weather(city: str, units: str = "metric") -> str:
    """Get the current weather for a city.

    Args:
        city: The city name, e.g. "Paris".
        units: "metric" (Celsius) or "imperial" (Fahrenheit).
    """
    key = sum(ord(c) for c in city.strip().lower())  # same city, same weather, on every machine
    celsius = key % 35 - 5
    condition = _CONDITIONS[key % len(_CONDITIONS)]
    if units == "imperial":
        return f"{city}: {condition}, {round(celsius * 9 / 5 + 32)}°F"
    return f"{city}: {condition}, {celsius}°C"
