"""The simulator's realtime endpoint over a raw websocket: every server event it sends validates against
the openai package's realtime server-event types (strictly: no undeclared keys)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from agentcli.realtime.protocol import event_types, validate_server_event
from agentcli.sim.realtime.session import CLIENT_EVENTS
from agentcli.sim.script import parse_script
from agentcli.sim.server import SimServer
from tests.realtime.harness import pcm16, tone

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


class RawClient:
    def __init__(self, ws: Any):
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def send(self, event: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(event))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        event = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        validate_server_event(event)  # the point of this file
        self.seen.append(event)
        return event

    async def until(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            event = await self.recv(timeout)
            if event["type"] == kind:
                return event

    async def speak(self, seconds: float = 0.4, silence: float = 0.7) -> None:
        audio = np.concatenate([tone(seconds), np.zeros(int(24000 * silence), np.float32)])
        pcm = pcm16(audio)
        for i in range(0, len(pcm), 960):
            await self.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm[i : i + 960]).decode()})

    def kinds(self) -> list[str]:
        return [e["type"] for e in self.seen]


@asynccontextmanager
async def client(
    script: dict[str, Any] | None = None, session: dict[str, Any] | None = None, sim: SimServer | None = None
) -> AsyncIterator[RawClient]:
    async def run(server: SimServer) -> AsyncIterator[RawClient]:
        url = server.base_url.replace("http://", "ws://") + "/realtime?model=gpt-realtime"
        async with connect(url, additional_headers={"Authorization": "Bearer sim"}) as ws:
            c = RawClient(ws)
            created = await c.recv()
            assert created["type"] == "session.created"
            if session is not None:
                await c.send({"type": "session.update", "session": {"type": "realtime", **session}})
                await c.until("session.updated")
            yield c

    if sim is not None:
        async for c in run(sim):
            yield c
        return
    async with SimServer(parse_script(script)) as server:
        async for c in run(server):
            yield c


def test_sim_knows_every_client_event_type() -> None:
    assert set(CLIENT_EVENTS) == set(event_types("client"))


async def test_spoken_turn_full_event_sequence() -> None:
    script = {"hear": ["what is the time"], "turns": [{"match": "time", "reply": ["It is noon."]}]}
    transcription = {"audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}}}
    async with client(script, transcription) as c:
        await c.speak()
        done = await c.until("response.done")
        await asyncio.sleep(0.05)
        while True:  # drain what is left (transcription events may trail the response)
            try:
                await c.recv(0.2)
            except TimeoutError:
                break
        kinds = c.kinds()
        for kind in (
            "input_audio_buffer.speech_started",
            "input_audio_buffer.speech_stopped",
            "input_audio_buffer.committed",
            "conversation.item.added",
            "response.created",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_audio.delta",
            "response.output_audio_transcript.delta",
            "response.output_audio.done",
            "response.output_audio_transcript.done",
            "response.content_part.done",
            "response.output_item.done",
            "conversation.item.done",
            "conversation.item.input_audio_transcription.completed",
        ):
            assert kind in kinds, kind
        assert kinds.index("input_audio_buffer.speech_started") < kinds.index("input_audio_buffer.speech_stopped")
        assert kinds.index("input_audio_buffer.committed") < kinds.index("response.created")
        completed = next(e for e in c.seen if e["type"].endswith("transcription.completed"))
        assert completed["transcript"] == "what is the time"
        assert done["response"]["status"] == "completed"
        assert done["response"]["output"][0]["content"][0]["transcript"] == "It is noon."
        usage = done["response"]["usage"]
        assert usage["output_tokens"] == 4 and usage["total_tokens"] == usage["input_tokens"] + 4
        audio = b"".join(base64.b64decode(e["delta"]) for e in c.seen if e["type"] == "response.output_audio.delta")
        assert len(audio) > 24000 * 2 * 0.3  # espeak (or the synthetic voice) said it
        started = next(e for e in c.seen if e["type"] == "input_audio_buffer.speech_started")
        stopped = next(e for e in c.seen if e["type"] == "input_audio_buffer.speech_stopped")
        assert stopped["audio_end_ms"] - started["audio_start_ms"] >= 400


async def test_a_transcription_session_transcribes_turns_and_never_answers() -> None:
    """What openai-agents' StreamedAudioInput opens (`?intent=transcription`, session.type transcription)."""
    script = {"hear": ["what is the time"], "turns": [{"match": ".*", "reply": ["It is noon."]}]}
    session = {"type": "transcription", "audio": {"input": {
        "transcription": {"model": "gpt-4o-transcribe"}, "turn_detection": {"type": "semantic_vad"}}}}
    async with client(script, session) as c:
        await c.speak()
        completed = await c.until("conversation.item.input_audio_transcription.completed")
        assert completed["transcript"] == "what is the time"
        with pytest.raises(TimeoutError):
            await c.until("response.created", timeout=0.5)
        assert "input_audio_buffer.committed" in c.kinds()


async def test_vad_honours_silence_duration() -> None:
    async with client(
        None, {"audio": {"input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 900}}}}
    ) as c:
        await c.speak(0.3, silence=0.6)  # less silence than needed: the turn is still open
        await c.until("input_audio_buffer.speech_started")
        with pytest.raises(TimeoutError):
            await c.until("input_audio_buffer.speech_stopped", timeout=0.3)
        await c.speak(0.0, silence=0.5)
        await c.until("input_audio_buffer.speech_stopped")


async def test_function_call_and_output_continue() -> None:
    script = {
        "turns": [
            {
                "match": ".*",
                "reply": [{"tool_call": {"name": "lookup", "arguments": {"q": "x"}}}, {"text": "Found {tool_output}"}],
            }
        ]
    }
    lookup = {"type": "function", "name": "lookup", "description": "Look up", "parameters": {"type": "object"}}
    async with client(script, {"output_modalities": ["text"], "tools": [lookup]}) as c:
        await c.speak()
        args = await c.until("response.function_call_arguments.done")
        assert (args["name"], json.loads(args["arguments"])) == ("lookup", {"q": "x"})
        done = await c.until("response.done")
        assert done["response"]["output"][0]["type"] == "function_call"
        await c.send(
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call_output", "call_id": args["call_id"], "output": "42"},
            }
        )
        await c.send({"type": "response.create"})
        text = await c.until("response.output_text.done")
        assert text["text"] == "Found 42"


async def test_truncate_and_its_errors() -> None:
    async with client({"turns": [{"match": ".*", "reply": ["One two three four five."]}]}) as c:
        await c.send(
            {
                "type": "conversation.item.create",
                "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            }
        )
        await c.send({"type": "response.create"})
        done = await c.until("response.done")
        item_id = done["response"]["output"][0]["id"]
        await c.send(
            {"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 10_000_000}
        )
        error = await c.until("error")
        assert error["error"]["param"] == "audio_end_ms"
        await c.send(
            {"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 120}
        )
        truncated = await c.until("conversation.item.truncated")
        assert (truncated["item_id"], truncated["audio_end_ms"]) == (item_id, 120)
        await c.send({"type": "conversation.item.retrieve", "item_id": item_id})
        retrieved = await c.until("conversation.item.retrieved")
        assert retrieved["item"]["content"][0]["transcript"] == ""  # unheard text left the context
        await c.send({"type": "conversation.item.delete", "item_id": item_id})
        assert (await c.until("conversation.item.deleted"))["item_id"] == item_id
        await c.send({"type": "conversation.item.truncate", "item_id": "nope", "content_index": 0, "audio_end_ms": 1})
        assert (await c.until("error"))["error"]["code"] == "item_not_found"


async def test_speech_interrupts_a_paced_response(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_SIM_REALTIME_PACE", "1")
    script = {
        "turns": [
            {
                "match": ".*",
                "reply": [
                    "This answer is long enough to be interrupted halfway through because it is paced in real time."
                ],
            }
        ]
    }
    async with client(script) as c:
        await c.speak()
        await c.until("response.output_audio.delta")
        await c.speak(0.3, silence=0.0)
        done = await c.until("response.done")
        assert done["response"]["status"] == "cancelled"
        assert done["response"]["status_details"]["reason"] == "turn_detected"


async def test_client_cancel_and_one_response_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_SIM_REALTIME_PACE", "1")
    async with client({"turns": [{"match": ".*", "reply": ["A long enough answer to cancel in time."]}]}) as c:
        await c.send({"type": "response.cancel"})
        assert (await c.until("error"))["error"]["code"] == "response_cancel_not_active"
        await c.send({"type": "response.create"})
        await c.until("response.created")
        await c.send({"type": "response.create"})
        assert (await c.until("error"))["error"]["code"] == "conversation_already_has_active_response"
        await c.send({"type": "response.cancel"})
        done = await c.until("response.done")
        assert (done["response"]["status"], done["response"]["status_details"]["reason"]) == (
            "cancelled",
            "client_cancelled",
        )


async def test_manual_mode_commit() -> None:
    async with client(
        {"hear": ["manual words"], "turns": [{"match": ".*", "reply": ["Got {input}"]}]},
        {"audio": {"input": {"turn_detection": None}}, "output_modalities": ["text"]},
    ) as c:
        await c.send({"type": "input_audio_buffer.commit"})
        assert (await c.until("error"))["error"]["code"] == "input_audio_buffer_commit_empty"
        await c.speak(0.5, silence=0.5)
        await c.send({"type": "input_audio_buffer.commit"})
        await c.until("input_audio_buffer.committed")
        await c.send({"type": "response.create"})
        assert (await c.until("response.output_text.done"))["text"] == "Got manual words"
        assert "input_audio_buffer.speech_started" not in c.kinds()  # no VAD in manual mode


async def test_bad_events_get_api_shaped_errors() -> None:
    async with client() as c:
        await c.ws.send("{not json")
        assert (await c.until("error"))["error"]["code"] == "invalid_json"
        await c.send({"type": "response.explode"})
        assert (await c.until("error"))["error"]["param"] == "type"
        await c.send({"type": "conversation.item.truncate", "item_id": "x", "event_id": "evt_1"})
        error = (await c.until("error"))["error"]
        assert (error["code"], error["event_id"]) == ("missing_required_parameter", "evt_1")
        await c.send({"type": "session.update", "session": {"type": "realtime", "colour": "blue"}})
        assert (await c.until("error"))["error"]["param"] == "session.colour"
        await c.send({"type": "input_audio_buffer.append", "audio": "***"})
        assert (await c.until("error"))["error"]["param"] == "audio"


async def test_voice_cannot_change_after_audio() -> None:
    async with client({"turns": [{"match": ".*", "reply": ["Hi."]}]}) as c:
        await c.send({"type": "response.create"})
        await c.until("response.done")
        await c.send({"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": "ash"}}}})
        assert (await c.until("error"))["error"]["code"] == "cannot_update_voice"
        await c.send({"type": "session.update", "session": {"type": "realtime", "instructions": "Be terse."}})
        updated = await c.until("session.updated")
        assert updated["session"]["instructions"] == "Be terse."
        assert updated["session"]["audio"]["output"]["voice"] == "marin"


async def test_scripted_disconnect_and_latency_faults() -> None:
    script = parse_script({"faults": [{"disconnect_after_events": 3}, {"latency_ms": 150}]})
    async with SimServer(script) as sim:
        async with client(sim=sim) as c:  # session.created is event 1
            await c.send({"type": "session.update", "session": {"type": "realtime"}})
            await c.send(
                {
                    "type": "conversation.item.create",
                    "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                }
            )
            with pytest.raises(ConnectionClosed) as closed:
                for _ in range(5):
                    await c.recv()
            assert closed.value.rcvd is None  # dropped, not closed politely
            assert len(c.seen) == 3
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        async with client(sim=sim):
            assert loop.time() - t0 >= 0.15  # the second connection waited


async def test_idle_timeout_prompts_a_response() -> None:
    script = {"turns": [{"reply": ["First.", "Are you still there?"]}]}
    vad = {"type": "server_vad", "idle_timeout_ms": 150}
    async with client(script, {"output_modalities": ["text"], "audio": {"input": {"turn_detection": vad}}}) as c:
        await c.send(
            {
                "type": "conversation.item.create",
                "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            }
        )
        await c.send({"type": "response.create"})
        await c.until("response.done")
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        triggered = await c.until("input_audio_buffer.timeout_triggered", timeout=3)
        assert loop.time() - t0 >= 0.14 and triggered["item_id"]
        assert (await c.until("response.output_text.done"))["text"] == "Are you still there?"


async def test_undeclared_tool_is_never_called() -> None:
    """A session that declares no tools never gets a function call; the script's mistake is a failed
    response naming where the script calls it."""
    script = {"turns": [{"match": ".*", "reply": [{"tool_call": {"name": "get_weather", "arguments": {}}}]}]}
    async with client(script, {"output_modalities": ["text"]}) as c:
        await c.speak()
        done = await c.until("response.done")
        assert done["response"]["status"] == "failed" and done["response"]["output"] == []
        message = done["response"]["status_details"]["error"]["message"]
        assert "'get_weather'" in message and "turns[0].reply[0]" in message and "tools: none" in message
        assert "response.function_call_arguments.done" not in c.kinds()


async def test_session_object_and_rate_limits_like_the_api() -> None:
    async with client({"turns": [{"match": ".*", "reply": ["One.", "Two."]}]}, {"output_modalities": ["text"]}) as c:
        created, updated = c.seen[0]["session"], c.seen[-1]["session"]
        assert created["object"] == "realtime.session" and created["id"].startswith("sess")
        assert updated["id"] == created["id"] and updated["expires_at"] == created["expires_at"] > 0
        for _ in range(2):
            await c.speak()
            await c.until("response.done")
        kinds = c.kinds()
        limits = [i for i, k in enumerate(kinds) if k == "rate_limits.updated"]
        starts = [i for i, k in enumerate(kinds) if k == "response.created"]
        assert [i - 1 for i in limits] == starts  # one right after each response.created
        rate = next(e for e in c.seen if e["type"] == "rate_limits.updated")["rate_limits"]
        assert {r["name"] for r in rate} == {"requests", "tokens"}


async def test_the_official_openai_sdk_talks_to_the_simulator() -> None:
    """A third-party client: the `openai` package's own realtime connection, its events parsed by its own
    types. A session with no tools declared gets an answer, and a script tool call it never offered is
    a failed response it can read, never a function call."""
    from openai import AsyncOpenAI

    script = {"turns": [{"match": "weather", "reply": [{"tool_call": {"name": "get_weather", "arguments": {}}}]},
                        {"match": ".*", "reply": ["Hello from the simulator."]}]}  # fmt: skip
    async with SimServer(parse_script(script)) as server:
        sdk = AsyncOpenAI(base_url=server.base_url, api_key="sim")
        async with sdk.realtime.connect(model="gpt-realtime") as conn:
            await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
            seen: list[Any] = []

            async def ask(text: str) -> Any:
                item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
                await conn.conversation.item.create(item=item)
                await conn.response.create()
                async for event in conn:
                    seen.append(event)
                    if event.type == "response.done":
                        return event.response

            hello = await asyncio.wait_for(ask("hi"), 10)
            assert hello.status == "completed" and hello.output[0].content[0].text == "Hello from the simulator."
            weather = await asyncio.wait_for(ask("weather?"), 10)
            assert weather.status == "failed" and weather.status_details.error.code == "undeclared_tool"
            assert "get_weather" in weather.status_details.error.message
            kinds = [e.type for e in seen]
            assert "response.function_call_arguments.done" not in kinds and "rate_limits.updated" in kinds
            from pydantic import BaseModel

            assert seen and all(isinstance(e, BaseModel) for e in seen)  # each parsed into the SDK's own types
