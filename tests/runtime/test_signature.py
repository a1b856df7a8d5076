"""Tool schemas from Python signatures and docstrings."""

from __future__ import annotations

from typing import Literal, Optional

from agentcli.runtime.tools.signature import function_schema, parse_docstring


def weather(city: str, days: int = 3, unit: Literal["c", "f"] = "c", verbose: bool = False) -> str:
    """Get the weather forecast.

    Uses a made-up service.

    Args:
        city (str): The city,
            with its country.
        days: How many days ahead.

    Returns:
        The forecast.
    """
    return city


def collect(tags: list[str], scores: dict[str, float], ratio: float, maybe: Optional[int] = None) -> None:  # noqa: UP045
    """:param tags: labels to keep
    :param float ratio: a fraction
    """


def test_types_required_defaults_and_docs() -> None:
    description, schema = function_schema(weather)
    assert description == "Get the weather forecast."
    assert schema["required"] == ["city"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["city"] == {"type": "string", "description": "The city, with its country."}
    assert props["days"] == {"type": "integer", "description": "How many days ahead.", "default": 3}
    assert props["unit"] == {"enum": ["c", "f"], "type": "string", "default": "c"}
    assert props["verbose"] == {"type": "boolean", "default": False}


def test_containers_optional_and_sphinx_docs() -> None:
    description, schema = function_schema(collect)
    assert description == ""  # the docstring is only param docs
    props = schema["properties"]
    assert props["tags"] == {"type": "array", "items": {"type": "string"}, "description": "labels to keep"}
    assert props["scores"] == {"type": "object", "additionalProperties": {"type": "number"}}
    assert props["ratio"] == {"type": "number", "description": "a fraction"}
    assert props["maybe"] == {"type": ["integer", "null"], "default": None}
    assert schema["required"] == ["tags", "scores", "ratio"]


def test_async_function_and_no_docstring() -> None:
    async def lookup(q, limit: int | None = 5):  # type: ignore[no-untyped-def]
        return q

    description, schema = function_schema(lookup)
    assert description == ""
    assert schema["properties"] == {"q": {}, "limit": {"type": ["integer", "null"], "default": 5}}
    assert schema["required"] == ["q"]


def test_parse_docstring_stops_args_at_next_section() -> None:
    _, params = parse_docstring("Do it.\n\nArgs:\n    x: the x\n\nReturns:\n    y: not a param\n")
    assert params == {"x": "the x"}
