"""The simulator's Gemini Live endpoint at the wire: snake_case as google-genai sends it, a tool call and
its response, errors as close frames, the key header; every server message validates against google-genai's
types."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentcli.realtime.gemini_wire import gemini_url, validate_message
from agentcli.sim.gemini.wire import camel
from agentcli.sim.script import parse_script
from agentcli.sim.server import SimServer

pytestmark = pytest.mark.anyio


async def _until(ws: Any, key: str) -> list[dict[str, Any]]:
    got = []
    while True:
        message = json.loads(await ws.recv())
        validate_message(message, "server")
        got.append(message)
        if key in message or key in message.get("serverContent", {}):
            return got


def test_camel_leaves_user_data_alone() -> None:
    assert camel({"tool_response": {"function_responses": [{"id": "c", "response": {"snake_key": 1}}]}}) == {
        "toolResponse": {"functionResponses": [{"id": "c", "response": {"snake_key": 1}}]}
    }


async def test_snake_case_tool_call_and_text() -> None:
    from websockets.asyncio.client import connect

    script = parse_script({"turns": [{"reply": [{"tool_call": {"name": "lookup", "arguments": {"q": "{input}"}}},
                                                "Found: {tool_output}"]}]})  # fmt: skip
    async with SimServer(script) as sim:
        url = gemini_url(sim.base_url, "v1alpha")
        async with connect(url, additional_headers={"x-goog-api-key": "sim"}) as ws:
            tools = [{"function_declarations": [{"name": "lookup", "parameters_json_schema": {"type": "object"}}]}]
            setup = {"model": "models/m", "generation_config": {"response_modalities": ["TEXT"]}, "tools": tools}
            await ws.send(json.dumps({"setup": setup}))
            assert json.loads(await ws.recv()) == {"setupComplete": {}}
            turn = {"role": "user", "parts": [{"text": "cats"}]}
            await ws.send(json.dumps({"client_content": {"turns": [turn], "turn_complete": True}}))
            call = (await _until(ws, "toolCall"))[-1]["toolCall"]["functionCalls"][0]
            assert call == {"id": "call_t1r0c0", "name": "lookup", "args": {"q": "cats"}}
            response = {"id": call["id"], "name": "lookup", "response": {"output": "3 cats"}}
            await ws.send(json.dumps({"tool_response": {"function_responses": [response]}}))
            got = await _until(ws, "turnComplete")
            turns = [m["serverContent"]["modelTurn"] for m in got if "modelTurn" in m.get("serverContent", {})]
            text = "".join(p["text"] for t in turns for p in t["parts"])
            assert text == "Found: 3 cats"
            assert got[-1]["usageMetadata"]["responseTokenCount"] > 0


async def test_first_message_must_be_setup_and_the_key_is_checked() -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    async with SimServer(parse_script({"api_key": "right"})) as sim:
        url = gemini_url(sim.base_url)
        with pytest.raises(InvalidStatus) as info:
            async with connect(url, additional_headers={"x-goog-api-key": "wrong"}):
                pass
        assert info.value.response.status_code == 401
        async with connect(url, additional_headers={"x-goog-api-key": "right"}) as ws:
            await ws.send(json.dumps({"client_content": {"turn_complete": True}}))
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007
            assert "the first message must be setup" in closed.value.rcvd.reason


@pytest.mark.parametrize("cut_in", ["client_content", "activity_start"])
async def test_cutting_in_takes_the_tool_call_back(cut_in: str) -> None:
    """New content or an activityStart before a toolCall's response: `toolCallCancellation` with its ids
    (as the API does on a barge-in); the call leaves the conversation, and the next turn is answered."""
    from websockets.asyncio.client import connect

    script = parse_script({"turns": [
        {"match": "archive", "reply": [{"tool_call": {"name": "lookup", "arguments": {"q": "x"}}}, "Found."]},
        {"reply": ["Turn {turn}: {input} ({tool_output})"]},
    ]})  # fmt: skip
    async with SimServer(script) as sim:
        async with connect(gemini_url(sim.base_url), additional_headers={"x-goog-api-key": "sim"}) as ws:
            tools = [{"function_declarations": [{"name": "lookup", "parameters_json_schema": {"type": "object"}}]}]
            setup = {"model": "models/m", "generation_config": {"response_modalities": ["TEXT"]}, "tools": tools,
                     "realtime_input_config": {"automatic_activity_detection": {"disabled": True}}}  # fmt: skip
            await ws.send(json.dumps({"setup": setup}))
            assert json.loads(await ws.recv()) == {"setupComplete": {}}
            turn = {"role": "user", "parts": [{"text": "search the archive"}]}
            await ws.send(json.dumps({"client_content": {"turns": [turn], "turn_complete": True}}))
            call = (await _until(ws, "toolCall"))[-1]["toolCall"]["functionCalls"][0]
            if cut_in == "client_content":
                turn = {"role": "user", "parts": [{"text": "never mind"}]}
                await ws.send(json.dumps({"client_content": {"turns": [turn], "turn_complete": True}}))
            else:
                await ws.send(json.dumps({"realtime_input": {"activity_start": {}}}))
            got = await _until(ws, "toolCallCancellation")
            assert got[-1] == {"toolCallCancellation": {"ids": [call["id"]]}}
            if cut_in == "activity_start":
                await ws.send(json.dumps({"realtime_input": {"activity_end": {}}}))
            got = await _until(ws, "turnComplete")
            turns = [m["serverContent"]["modelTurn"] for m in got if "modelTurn" in m.get("serverContent", {})]
            text = "".join(p["text"] for t in turns for p in t["parts"])
            heard = "never mind" if cut_in == "client_content" else "audio of 0.0 s"
            assert text == f"Turn 2: {heard} ()"  # no tool output: the call is out of the conversation
            assert not [m for m in got if "toolCallCancellation" in m]  # once only


async def test_parallel_calls_are_answered_once_every_response_is_in() -> None:
    """Two calls in one toolCall, their responses in two messages: one answer, after the second (no call
    is taken back by the first response)."""
    from websockets.asyncio.client import connect

    calls = [{"name": "lookup", "arguments": {"q": "a"}}, {"name": "lookup", "arguments": {"q": "b"}}]
    script = parse_script({"turns": [{"reply": [{"tool_calls": calls}, "Both: {tool_output}"]}]})
    async with SimServer(script) as sim:
        async with connect(gemini_url(sim.base_url), additional_headers={"x-goog-api-key": "sim"}) as ws:
            tools = [{"function_declarations": [{"name": "lookup", "parameters_json_schema": {"type": "object"}}]}]
            setup = {"model": "models/m", "generation_config": {"response_modalities": ["TEXT"]}, "tools": tools}
            await ws.send(json.dumps({"setup": setup}))
            assert json.loads(await ws.recv()) == {"setupComplete": {}}
            turn = {"role": "user", "parts": [{"text": "both"}]}
            await ws.send(json.dumps({"client_content": {"turns": [turn], "turn_complete": True}}))
            made = (await _until(ws, "toolCall"))[-1]["toolCall"]["functionCalls"]
            for call, out in zip(made, ["A", "B"], strict=True):
                response = {"id": call["id"], "name": "lookup", "response": {"output": out}}
                await ws.send(json.dumps({"tool_response": {"function_responses": [response]}}))
            got = await _until(ws, "turnComplete")
            assert not [m for m in got if "toolCallCancellation" in m or m.get("serverContent", {}).get("interrupted")]
            turns = [m["serverContent"]["modelTurn"] for m in got if "modelTurn" in m.get("serverContent", {})]
            assert "".join(p["text"] for t in turns for p in t["parts"]) == "Both: B"
