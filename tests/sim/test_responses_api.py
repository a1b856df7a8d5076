"""POST /v1/responses through the real openai client, and raw events checked against the package's types."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from agentcli.sim.script import parse_script
from agentcli.sim.server import SimServer
from tests.sim.helpers import client_for, parse_sse, post_raw

pytestmark = pytest.mark.anyio

SCRIPT = parse_script(
    {
        "turns": [
            {
                "match": "weather",
                "reply": [
                    {"tool_call": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                    {"text": "Here it is: {tool_output}"},
                ],
            },
            {
                "match": "both",
                "reply": [{"tool_calls": [{"name": "a"}, {"name": "b", "arguments": {"x": 1}}]}],
            },
            {"match": ".*", "reply": [{"text": "Turn {turn}: {input}"}]},
        ]
    }
)
TOOLS: list[Any] = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "strict": True,
    },
    *({"type": "function", "name": n, "parameters": {"type": "object", "properties": {}}} for n in "ab"),
]
EVENTS = TypeAdapter(ResponseStreamEvent)

TEXT_ORDER = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    *["response.output_text.delta"] * 4,
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


async def test_non_streamed_text() -> None:
    async with SimServer(SCRIPT) as sim, client_for(sim) as client:
        r = await client.responses.create(model="gpt-4.1-mini", input="hello there", instructions="Be brief.")
    assert r.output_text == "Turn 1: hello there"
    assert r.status == "completed" and r.model == "gpt-4.1-mini" and r.object == "response"
    assert r.usage is not None
    assert r.usage.input_tokens == 5 and r.usage.output_tokens == 5 and r.usage.total_tokens == 10
    assert sim.requests[0]["input"] == "hello there" and sim.request_paths == ["/v1/responses"]


async def test_streamed_text_events_are_typed_and_ordered() -> None:
    async with SimServer(SCRIPT) as sim, client_for(sim) as client:
        stream = await client.responses.create(model="m", input="say hi", stream=True)
        events = [e async for e in stream]
    assert [e.type for e in events] == TEXT_ORDER
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert deltas == ["Turn", " 1:", " say", " hi"]
    added = events[2]
    assert added.type == "response.output_item.added" and added.item.type == "message"
    item_id = added.item.id
    assert all(getattr(e, "item_id", item_id) == item_id for e in events)
    done = events[-1]
    assert done.type == "response.completed"
    assert done.response.output_text == "Turn 1: say hi"
    assert done.response.id == events[0].response.id and events[0].response.status == "in_progress"


async def test_raw_stream_validates_against_the_openai_types() -> None:
    async with SimServer(SCRIPT) as sim:
        for text in ["weather?", "both please", "plain"]:
            raw = await post_raw(sim, "/responses", {"model": "m", "input": text, "stream": True, "tools": TOOLS})
            assert raw.status_code == 200
            assert raw.headers["content-type"].startswith("text/event-stream")
            events = parse_sse(raw.text)
            for name, data in events:
                parsed = EVENTS.validate_python(json.loads(data))
                assert parsed.type == name  # the SSE event name matches the payload type
            final = EVENTS.validate_python(json.loads(events[-1][1]))
            Response.model_validate(final.response.model_dump())  # type: ignore[union-attr]
        plain = await post_raw(sim, "/responses", {"model": "m", "input": "plain", "tools": TOOLS})
        Response.model_validate(plain.json())
        assert plain.json()["tools"][0]["name"] == "get_weather"


async def test_tool_call_round_trip_streamed() -> None:
    async with SimServer(SCRIPT) as sim, client_for(sim) as client:
        stream = await client.responses.create(model="m", input="weather in Paris?", tools=TOOLS, stream=True)
        events = [e async for e in stream]
        types = [e.type for e in events]
        assert types[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
        assert "response.function_call_arguments.delta" in types
        args_done = next(e for e in events if e.type == "response.function_call_arguments.done")
        assert json.loads(args_done.arguments) == {"city": "Paris"}
        deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
        assert deltas == args_done.arguments
        final = events[-1].response
        [call] = final.output
        assert call.type == "function_call" and call.name == "get_weather" and call.status == "completed"
        # send the tool output back with the whole conversation: the next reply entry uses it
        follow_up = [
            {"role": "user", "content": "weather in Paris?"},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": "22C and sunny"},
        ]
        r2 = await client.responses.create(model="m", input=follow_up, tools=TOOLS)
        assert r2.output_text == "Here it is: 22C and sunny"
        # ... or only the new items, chained with previous_response_id
        r3 = await client.responses.create(
            model="m",
            previous_response_id=final.id,
            tools=TOOLS,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "rain"}],
        )
        assert r3.output_text == "Here it is: rain"


async def test_parallel_tool_calls_in_one_response() -> None:
    async with SimServer(SCRIPT) as sim, client_for(sim) as client:
        r = await client.responses.create(model="m", input="do both", tools=TOOLS)
        assert [(o.type, o.name) for o in r.output] == [("function_call", "a"), ("function_call", "b")]  # type: ignore[union-attr]
        stream = await client.responses.create(model="m", input="do both", stream=True, tools=TOOLS)
        events = [e async for e in stream]
        added = [e for e in events if e.type == "response.output_item.added"]
        assert [e.output_index for e in added] == [0, 1]
        assert len({e.item.id for e in added}) == 2


async def test_structured_output_gets_a_schema_instance() -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "ok": {"type": "boolean"}},
        "required": ["city", "ok"],
        "additionalProperties": False,
    }
    async with SimServer() as sim, client_for(sim) as client:
        r = await client.responses.create(
            model="m",
            input="report",
            text={"format": {"type": "json_schema", "name": "Report", "schema": schema, "strict": True}},
        )
    assert json.loads(r.output_text) == {"city": "example", "ok": False}
    assert r.text is not None and r.text.format is not None and r.text.format.type == "json_schema"


async def test_bad_requests_get_api_shaped_errors() -> None:
    import openai

    async with SimServer() as sim, client_for(sim) as client:
        raw = await post_raw(sim, "/responses", {"input": "x"})
        assert raw.status_code == 400
        assert raw.json() == {
            "error": {
                "message": "Missing required parameter: 'model'.",
                "type": "invalid_request_error",
                "param": "model",
                "code": "missing_required_parameter",
            }
        }
        with pytest.raises(openai.BadRequestError, match="previous_response_id|not found"):
            await client.responses.create(model="m", input="x", previous_response_id="resp_nope")
        bad_json = await post_raw(sim, "/responses", {"model": "m", "input": 3})
        assert bad_json.status_code == 400 and bad_json.json()["error"]["param"] == "input"
