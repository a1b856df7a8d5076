"""The one tool both sides call in the chat scenario (agentcli via its spec, the peer via function_tool)."""


def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
        city: The city name.
    """
    return f"sunny, 21 C in {city}"
