"""The simulator as third-party clients see it: models list, stored responses, no undeclared tool calls,
json_object, n > 1, response objects without undeclared fields, scripted refusals and failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.responses import Response

from agentcli.sim.script import load_script, parse_script
from agentcli.sim.server import SimServer
from tests.sim.helpers import client_for, parse_sse, post_raw

pytestmark = pytest.mark.anyio

TOOL: dict[str, Any] = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}


async def test_models_list_and_one_model() -> None:
    async with SimServer() as sim, client_for(sim) as client:
        models = [m.id async for m in client.models.list()]
        assert "gpt-4.1-mini" in models and "whisper-1" in models
        one = await client.models.retrieve("my-own-model")
        assert (one.id, one.object) == ("my-own-model", "model")
        assert sim.request_paths == ["/v1/models", "/v1/models/my-own-model"]


async def test_stored_responses_can_be_fetched_and_continued() -> None:
    script = parse_script({"turns": [{"reply": ["Turn {turn}: {input}"]}]})
    async with SimServer(script) as sim, client_for(sim) as client:
        first = await client.responses.create(model="m", input="one")
        fetched = await client.responses.retrieve(first.id)
        assert fetched.id == first.id and fetched.output_text == "Turn 1: one"
        second = await client.responses.create(model="m", input="two", previous_response_id=first.id)
        assert second.output_text == "Turn 2: two"  # the stored conversation counts
        unstored = await client.responses.create(model="m", input="x", store=False)
        with pytest.raises(openai.NotFoundError):
            await client.responses.retrieve(unstored.id)
        with pytest.raises(openai.BadRequestError, match="not found"):
            await client.responses.create(model="m", input="x", previous_response_id="resp_nope")


async def test_the_response_object_has_no_undeclared_fields() -> None:
    async with SimServer() as sim:
        raw = (await post_raw(sim, "/responses", {"model": "m", "input": "hi"})).json()
        assert "store" not in raw and raw["reasoning"] is None
        assert set(raw) <= set(Response.model_fields)
        body = {"model": "m", "input": "hi", "reasoning": {"effort": "low"}}
        asked = (await post_raw(sim, "/responses", body)).json()
        assert asked["reasoning"] == {"effort": "low", "summary": None}


async def test_a_script_tool_call_is_refused_when_the_request_offers_no_such_tool(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("turns:\n  - match: weather\n    reply:\n      - tool_call: {name: get_weather}\n")
    async with SimServer(load_script(path)) as sim, client_for(sim) as client:
        for call in (
            lambda: client.responses.create(model="m", input="weather?"),
            lambda: client.chat.completions.create(model="m", messages=[{"role": "user", "content": "weather?"}]),
        ):
            with pytest.raises(openai.BadRequestError) as info:
                await call()
            assert f"tool 'get_weather' ({path}:4 (turns[0].reply[0].tool_call))" in info.value.message
            assert "it offers no tools" in info.value.message
        ok = await client.responses.create(model="m", input="weather?", tools=[TOOL])  # type: ignore[list-item]
        assert ok.output[0].type == "function_call"


async def test_json_object_and_several_choices() -> None:
    async with SimServer() as sim, client_for(sim) as client:
        chat = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], response_format={"type": "json_object"}, n=2
        )
        assert [c.index for c in chat.choices] == [0, 1]
        assert json.loads(chat.choices[1].message.content or "") == {"text": "You said: hi"}
        r = await client.responses.create(model="m", input="hi", text={"format": {"type": "json_object"}})
        assert json.loads(r.output_text) == {"text": "You said: hi"}
        stream = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], n=3,
                                                      stream=True)
        indexes = {c.index async for chunk in stream for c in chunk.choices}
        assert indexes == {0, 1, 2}


async def test_scripted_refusal_incomplete_failed_and_error_on_the_wire() -> None:
    script = parse_script({"turns": [
        {"match": "refuse", "reply": [{"refusal": "No."}]},
        {"match": "cut", "reply": [{"text": "Half an", "incomplete": {"reason": "max_output_tokens"}}]},
        {"match": "fail", "reply": [{"failed": {"message": "Boom.", "code": "server_error"}}]},
        {"match": "error", "reply": [{"text": "Hm", "error": "Broken stream."}]},
        {"match": "think", "reply": [{"reasoning": "Thinking.", "text": "Done."}]},
    ]})
    async with SimServer(script) as sim, client_for(sim) as client:
        refused = await client.responses.create(model="m", input="refuse")
        assert refused.output[0].content[0].type == "refusal"  # type: ignore[union-attr]
        cut = await client.responses.create(model="m", input="cut")
        assert cut.status == "incomplete" and cut.incomplete_details.reason == "max_output_tokens"  # type: ignore[union-attr]
        assert cut.output_text == "Half an"
        chat_cut = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "cut"}])
        assert chat_cut.choices[0].finish_reason == "length"
        chat_refused = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "refuse"}])
        assert chat_refused.choices[0].message.refusal == "No." and chat_refused.choices[0].message.content is None
        events = parse_sse((await post_raw(sim, "/responses", {"model": "m", "input": "fail", "stream": True})).text)
        failed = json.loads(events[-1][1])
        assert failed["type"] == "response.failed" and failed["response"]["error"]["message"] == "Boom."
        events = parse_sse((await post_raw(sim, "/responses", {"model": "m", "input": "error", "stream": True})).text)
        assert json.loads(events[-1][1]) == {"type": "error", "code": "server_error", "message": "Broken stream.",
                                             "param": None, "sequence_number": len(events) - 1}
        thought = await client.responses.create(model="o4-mini", input="think", store=False,
                                                include=["reasoning.encrypted_content"])
        reasoning = thought.output[0]
        assert reasoning.type == "reasoning" and reasoning.encrypted_content == "sim-encrypted:Thinking."


def test_the_client_key_follows_the_script() -> None:
    assert SimServer().client_key == "sim"
    assert SimServer(parse_script({"api_key": "sk-script"})).client_key == "sk-script"


def test_script_fault_entries_are_checked() -> None:
    from agentcli.errors import UsageError

    for bad, message in [
        ({"refusal": "x", "text": "y"}, "give exactly one of"),
        ({"incomplete": {"reason": "tired"}}, "must be max_output_tokens or content_filter"),
        ({"failed": {"message": 3}}, "must be strings"),
        ({"reasoning": "only"}, "give exactly one of"),
    ]:
        with pytest.raises(UsageError, match=message):
            parse_script({"turns": [{"reply": [bad]}]})
