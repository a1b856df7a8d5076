"""POST /v1/chat/completions through the real openai client, and raw chunks checked against its types."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

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
                "reply": [
                    {"tool_calls": [{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"x": 1}}]},
                    {"text": "done"},
                ],
            },
            {"match": ".*", "reply": [{"text": "Turn {turn}: {input}"}]},
        ]
    }
)
TOOLS: list[Any] = [
    {"type": "function", "function": {"name": n, "parameters": {"type": "object", "properties": {}}}}
    for n in ("get_weather", "a", "b")
]
SYSTEM: dict[str, Any] = {"role": "system", "content": "You talk about the weather."}


async def test_non_streamed_text() -> None:
    async with SimServer(SCRIPT) as sim, client_for(sim) as client:
        r = await client.chat.completions.create(
            model="gpt-4.1-mini", messages=[SYSTEM, {"role": "user", "content": "hello there"}]
        )
    assert r.choices[0].message.content == "Turn 1: hello there"
    assert r.choices[0].finish_reason == "stop" and r.object == "chat.completion"
    assert r.usage is not None and r.usage.completion_tokens == 5
    assert r.usage.prompt_tokens == 8 and r.usage.total_tokens == 13


async def test_streamed_text_with_usage() -> None:
    async with SimServer(SCRIPT) as sim, client_for(sim) as client:
        stream = await client.chat.completions.create(
            model="m", tools=TOOLS,
            messages=[{"role": "user", "content": "say hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    contents = [c.choices[0].delta.content for c in chunks[1:] if c.choices and c.choices[0].delta.content]
    assert contents == ["Turn", " 1:", " say", " hi"]
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
    assert all(c.usage is None for c in chunks[:-1])
    assert len({c.id for c in chunks}) == 1


async def test_no_usage_chunk_unless_asked() -> None:
    async with SimServer(SCRIPT) as sim, client_for(sim) as client:
        stream = await client.chat.completions.create(
            model="m", tools=TOOLS, messages=[{"role": "user", "content": "x"}], stream=True
        )
        chunks = [c async for c in stream]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)


async def test_tool_call_loop_streamed() -> None:
    async with SimServer(SCRIPT) as sim, client_for(sim) as client:
        messages: list[Any] = [{"role": "user", "content": "weather in Paris?"}]
        stream = await client.chat.completions.create(model="m", tools=TOOLS, messages=messages, stream=True)
        chunks = [c async for c in stream]
        first = chunks[0].choices[0].delta
        assert first.role == "assistant" and first.tool_calls is not None
        assert first.tool_calls[0].id == "call_t1r0c0" and first.tool_calls[0].function.name == "get_weather"  # type: ignore[union-attr]
        args = "".join(
            tc.function.arguments or ""
            for c in chunks
            if c.choices
            for tc in c.choices[0].delta.tool_calls or []
            if tc.function
        )
        assert json.loads(args) == {"city": "Paris"}
        assert chunks[-1].choices[0].finish_reason == "tool_calls"
        messages += [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_t1r0c0",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": args},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_t1r0c0", "content": "18C, cloudy"},
        ]
        r = await client.chat.completions.create(model="m", tools=TOOLS, messages=messages)
        assert r.choices[0].message.content == "Here it is: 18C, cloudy"


async def test_parallel_tool_calls() -> None:
    async with SimServer(SCRIPT) as sim, client_for(sim) as client:
        r = await client.chat.completions.create(model="m", tools=TOOLS, messages=[{"role": "user", "content": "both"}])
        calls = r.choices[0].message.tool_calls or []
        assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [  # type: ignore[union-attr]
            ("call_t1r0c0", "a", "{}"),
            ("call_t1r0c1", "b", '{"x": 1}'),
        ]
        assert r.choices[0].finish_reason == "tool_calls" and r.choices[0].message.content is None
        stream = await client.chat.completions.create(
            model="m", tools=TOOLS, messages=[{"role": "user", "content": "both"}], stream=True
        )
        indexes = [
            (tc.index, tc.id)
            for c in [c async for c in stream]
            if c.choices
            for tc in c.choices[0].delta.tool_calls or []
            if tc.id
        ]
        assert indexes == [(0, "call_t1r0c0"), (1, "call_t1r0c1")]


async def test_raw_chunks_validate_against_the_openai_types() -> None:
    async with SimServer(SCRIPT) as sim:
        for text in ["weather?", "both", "plain"]:
            body = {
                "model": "m",
                "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
                "stream": True,
                "tools": TOOLS,
                "stream_options": {"include_usage": True},
            }
            raw = await post_raw(sim, "/chat/completions", body)
            events = parse_sse(raw.text)
            assert events[-1] == (None, "[DONE]")
            for _name, data in events[:-1]:
                ChatCompletionChunk.model_validate(json.loads(data))
            plain = await post_raw(sim, "/chat/completions", {**body, "stream": False})
            ChatCompletion.model_validate(plain.json())


async def test_structured_output() -> None:
    schema = {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}}
    async with SimServer() as sim, client_for(sim) as client:
        r = await client.chat.completions.create(
            model="m", tools=TOOLS,
            messages=[{"role": "user", "content": "tags?"}],
            response_format={"type": "json_schema", "json_schema": {"name": "Tags", "schema": schema}},
        )
    assert json.loads(r.choices[0].message.content or "") == {"tags": ["example"]}


async def test_bad_messages_are_400() -> None:
    async with SimServer() as sim:
        raw = await post_raw(sim, "/chat/completions", {"model": "m"})
        assert raw.status_code == 400 and raw.json()["error"]["param"] == "messages"
        raw = await post_raw(sim, "/chat/completions", {"model": "m", "messages": [{"role": "robot"}]})
        assert raw.status_code == 400 and "robot" in raw.json()["error"]["message"]
