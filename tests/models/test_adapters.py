"""The Responses and Chat Completions adapters: request shapes and streamed events."""

from __future__ import annotations

import json

import pytest

from agentcli.models import chat_completions, responses
from agentcli.models.base import ModelCompleted, ModelRequest, ModelTextDelta, ModelToolCall, ToolSchema
from agentcli.spec.model import ModelSettings

from .conftest import collect, sim_model, with_sim

TOOL = ToolSchema(
    "get_weather", "Weather for a city.", {"type": "object", "properties": {"city": {"type": "string"}}}
)
ITEMS = [
    {"type": "message", "role": "user", "content": "weather?"},
    {"type": "message", "role": "assistant", "content": "Let me look.", "_agent": "a"},
    {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
    {"type": "function_call", "call_id": "c2", "name": "get_weather", "arguments": '{"city":"Rome"}'},
    {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
    {"type": "function_call_output", "call_id": "c2", "output": "rain"},
]
SETTINGS = ModelSettings(
    temperature=0.2,
    top_p=0.9,
    max_tokens=50,
    tool_choice="get_weather",
    parallel_tool_calls=False,
    reasoning_effort="low",
)
SCHEMA = {"type": "object", "properties": {"x": {"type": "integer"}}}


def request(**kw) -> ModelRequest:  # type: ignore[no-untyped-def]
    return ModelRequest(
        model="m", instructions="Be brief.", items=ITEMS, tools=[TOOL], settings=SETTINGS, **kw
    )


def test_responses_params() -> None:
    params = responses.build_params(request(output_schema=SCHEMA))
    assert params["input"][1] == {"type": "message", "role": "assistant", "content": "Let me look."}
    assert params["instructions"] == "Be brief." and params["stream"] is True
    assert params["tools"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather for a city.",
            "parameters": TOOL.parameters,
            "strict": False,
        }
    ]
    assert params["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert params["parallel_tool_calls"] is False
    assert (params["temperature"], params["top_p"], params["max_output_tokens"]) == (0.2, 0.9, 50)
    assert params["reasoning"] == {"effort": "low"}
    assert params["text"] == {
        "format": {"type": "json_schema", "name": "output", "schema": SCHEMA, "strict": False}
    }


def test_chat_params_and_messages() -> None:
    params = chat_completions.build_params(request(output_schema=SCHEMA))
    assert params["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "c2", "content": "rain"},
    ]
    assert params["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert params["max_completion_tokens"] == 50 and params["reasoning_effort"] == "low"
    assert params["stream_options"] == {"include_usage": True}
    assert params["response_format"]["json_schema"] == {"name": "output", "schema": SCHEMA, "strict": False}


def test_tool_settings_are_only_sent_with_tools() -> None:
    bare = ModelRequest(model="m", instructions="", items=[], settings=SETTINGS)
    for params in (responses.build_params(bare), chat_completions.build_params(bare)):
        assert "tool_choice" not in params and "parallel_tool_calls" not in params and "tools" not in params
    assert "instructions" not in responses.build_params(bare)
    assert chat_completions.build_params(bare)["messages"] == []


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_streams_text_deltas_and_usage(api: str) -> None:
    async def body(sim):  # type: ignore[no-untyped-def]
        req = ModelRequest(
            model="m",
            instructions="x",
            items=[{"type": "message", "role": "user", "content": "one two three"}],
        )
        return await collect(sim_model(sim, api), req), sim.requests[-1]

    events, sent = with_sim(None, body)
    deltas = [e.text for e in events if isinstance(e, ModelTextDelta)]
    assert len(deltas) > 1 and "".join(deltas) == "You said: one two three"
    assert isinstance(events[-1], ModelCompleted)
    assert events[-1].usage.input_tokens > 0 and events[-1].usage.output_tokens > 0
    assert sent["model"] == "m"


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_streams_parallel_tool_calls_and_sends_history(api: str) -> None:
    script = {
        "turns": [
            {
                "match": "weather",
                "reply": [
                    {
                        "tool_calls": [
                            {"name": "get_weather", "arguments": {"city": "Paris"}},
                            {"name": "get_weather", "arguments": {"city": "Rome"}},
                        ]
                    }
                ],
            }
        ]
    }

    async def body(sim):  # type: ignore[no-untyped-def]
        events = await collect(
            sim_model(sim, api), ModelRequest(model="m", instructions="", items=ITEMS[:1], tools=[TOOL])
        )
        later = await collect(
            sim_model(sim, api), ModelRequest(model="m", instructions="", items=ITEMS, tools=[TOOL])
        )
        return events, later, sim.requests

    events, later, sent = with_sim(script, body)
    calls = [e for e in events if isinstance(e, ModelToolCall)]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Rome"}),
    ]
    assert len({c.call_id for c in calls}) == 2
    assert isinstance(events[-1], ModelCompleted)
    # with tool outputs in the history the script moves on; "_agent" never reaches the wire
    assert "_agent" not in json.dumps(sent[1])
    assert any(isinstance(e, ModelTextDelta) for e in later)
