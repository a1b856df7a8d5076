"""How the realtime client takes the answers the real API gives and the simulator rarely sends: responses
that end `incomplete` or `failed`, the idle timeout, refused handshakes. Driven through the
RealtimeModel seam by a scripted model that hands the session wire events (parsed as the OpenAI model
parses them), so each case is exact and needs no server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agentcli import events as ev
from agentcli.errors import ModelError
from agentcli.realtime.connection import HandshakeRefused
from agentcli.realtime.model import RealtimeModel, SessionSetup
from agentcli.realtime.server_events import ServerEvent, parse
from agentcli.realtime.session import RealtimeSession, SessionOptions
from agentcli.runtime.conversation import Conversation
from agentcli.spec.loader import load_spec

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

SPEC = Path(__file__).parent / "specs" / "realtime.yaml"


class ScriptedModel(RealtimeModel):
    """Server events come from `feed` (wire dicts); every call the session makes is recorded."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.calls: list[tuple[str, Any]] = []
        self.inbox.put_nowait({"type": "session.created"})

    def feed(self, *events: dict[str, Any]) -> None:
        for event in events:
            self.inbox.put_nowait(event)

    def made(self, name: str) -> list[Any]:
        return [arg for call, arg in self.calls if call == name]

    async def recv(self) -> ServerEvent | None:
        raw = await self.inbox.get()
        return None if raw is None else parse(raw)

    async def configure(self, setup: SessionSetup) -> None:
        self.calls.append(("configure", setup.agent.name))

    async def switch_agent(self, agent: Any, tools: Any) -> None:
        self.calls.append(("switch_agent", agent.name))

    async def append_audio(self, pcm: bytes) -> None:
        self.calls.append(("append_audio", len(pcm)))

    async def commit_audio(self) -> None:
        self.calls.append(("commit_audio", None))

    async def clear_audio(self) -> None:
        self.calls.append(("clear_audio", None))

    async def add_item(self, item_id: str, entry: dict[str, Any], previous_item_id: str | None = None) -> bool:
        self.calls.append(("add_item", dict(entry)))
        return True

    async def add_user_audio(self, item_id: str, pcm: bytes) -> None:
        self.calls.append(("add_user_audio", len(pcm)))

    async def delete_item(self, item_id: str) -> None:
        self.calls.append(("delete_item", item_id))

    async def truncate(self, item_id: str, audio_end_ms: int) -> None:
        self.calls.append(("truncate", (item_id, audio_end_ms)))

    async def create_response(self) -> None:
        self.calls.append(("create_response", None))

    async def cancel_response(self) -> None:
        self.calls.append(("cancel_response", None))

    async def close(self) -> None:
        self.inbox.put_nowait(None)


@contextlib.asynccontextmanager
async def scripted(connect: Any = None) -> AsyncIterator[tuple[RealtimeSession, ScriptedModel, list[ev.Event]]]:
    spec = load_spec(str(SPEC))
    model = ScriptedModel()
    events: list[ev.Event] = []

    async def connect_model() -> RealtimeModel:
        return model

    session = RealtimeSession(
        spec,
        Conversation(items=[], agent=spec.entry, name="t"),
        url="ws://unused",
        api_key="unused",
        emit=events.append,
        options=SessionOptions(text_only=True),
        connect=connect or connect_model,
    )
    runner = asyncio.ensure_future(session.run())
    try:
        ready = asyncio.ensure_future(session.ready.wait())
        await asyncio.wait({ready, runner}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        if runner.done():
            ready.cancel()
            runner.result()  # a refused connection raises here
        yield session, model, events
    finally:
        await session.close()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(runner, 2)


async def until(predicate: Any, timeout: float = 5.0) -> Any:
    async def poll() -> Any:
        while not (value := predicate()):
            await asyncio.sleep(0.005)
        return value

    return await asyncio.wait_for(poll(), timeout)


def of(events: list[ev.Event], kind: type[ev.Event]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def text_response(rid: str, item: str, text: str, status: str, details: dict[str, Any] | None) -> list[dict[str, Any]]:
    where = {"response_id": rid, "item_id": item, "output_index": 0, "content_index": 0}
    message = {"id": item, "type": "message", "role": "assistant", "content": []}
    done: dict[str, Any] = {"id": rid, "status": status, "output": [message]}
    if details is not None:
        done["status_details"] = details
    return [
        {"type": "response.created", "response": {"id": rid}},
        {"type": "conversation.item.added", "item": message},
        {"type": "response.output_text.delta", **where, "delta": text},
        {"type": "response.done", "response": done},
    ]


async def test_incomplete_answer_keeps_its_text_and_says_why() -> None:
    async with scripted() as (session, model, events):
        await session.send_text("tell me everything")
        details = {"type": "incomplete", "reason": "max_output_tokens"}
        model.feed(*text_response("r1", "i1", "The first half of", "incomplete", details))
        [done] = await until(lambda: of(events, ev.TurnDone))
        assert done.status == "incomplete" and done.output == "The first half of"
        assert done.error is not None and "max_output_tokens" in done.error
        assert session.conversation.items[-1]["content"] == "The first half of"
        assert [n.message for n in of(events, ev.Notice)] == ["the answer was cut short (max_output_tokens)"]


async def test_incomplete_answer_still_runs_its_function_calls() -> None:
    async with scripted() as (session, model, events):
        await session.send_text("weather in Paris?")
        call = {"id": "fc1", "type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": ""}
        args = '{"city": "Paris"}'
        cut = {"type": "incomplete", "reason": "content_filter"}
        where = {"response_id": "r1", "item_id": "fc1", "output_index": 0}
        model.feed(
            {"type": "response.created", "response": {"id": "r1"}},
            {"type": "conversation.item.added", "item": call},
            {"type": "response.function_call_arguments.done", **where, "call_id": "c1", "name": "get_weather",
             "arguments": args},
            {"type": "response.done", "response": {"id": "r1", "status": "incomplete", "output": [call],
                                                   "status_details": cut}},
        )  # fmt: skip
        [finished] = await until(lambda: of(events, ev.ToolCallFinished))
        assert finished.output == "Paris: sunny, 21°C"
        await until(lambda: len(model.made("create_response")) == 2)  # the answer goes on after the call
        outputs = [e for e in model.made("add_item") if e["type"] == "function_call_output"]
        assert outputs and outputs[0]["output"] == "Paris: sunny, 21°C"
        assert any("content_filter" in n.message for n in of(events, ev.Notice))
        assert not of(events, ev.TurnDone)  # the turn is not over: its answer comes next


async def test_failed_answer_shows_the_server_error() -> None:
    async with scripted() as (session, model, events):
        await session.send_text("hello")
        details = {"type": "failed", "error": {"type": "server_error", "message": "The model is overloaded."}}
        model.feed(*text_response("r1", "i1", "", "failed", details))
        [done] = await until(lambda: of(events, ev.TurnDone))
        assert done.status == "error"
        assert done.error == "response failed: The model is overloaded."


async def test_idle_timeout_makes_a_turn_of_its_own() -> None:
    async with scripted() as (session, model, events):
        model.feed({"type": "input_audio_buffer.timeout_triggered", "audio_start_ms": 5000, "audio_end_ms": 5000,
                    "item_id": "x"})  # fmt: skip
        await until(lambda: of(events, ev.Notice))
        assert not session.is_idle(), "the server's own answer is awaited"
        model.feed(*text_response("r1", "i1", "Are you still there?", "completed", None))
        [done] = await until(lambda: of(events, ev.TurnDone))
        assert done.status == "ok" and done.output == "Are you still there?"
        assert [t.turn for t in of(events, ev.TurnStarted)] == [1]
        assert "no speech" in of(events, ev.Notice)[0].message


async def test_refused_handshake_is_retried_when_transient() -> None:
    attempts: list[int] = []
    model = ScriptedModel()

    async def flaky() -> RealtimeModel:
        attempts.append(1)
        if len(attempts) <= 2:
            raise HandshakeRefused("ws://sim/v1/realtime refused the realtime connection: HTTP 503", 503)
        return model

    async with scripted(connect=flaky) as (session, _, events):
        assert len(attempts) == 3 and session.ready.is_set()
        assert [r.attempt for r in of(events, ev.Retrying)] == [1, 2]


async def test_refused_key_is_not_retried() -> None:
    attempts: list[int] = []

    async def refused() -> RealtimeModel:
        attempts.append(1)
        raise HandshakeRefused("rejected the API key", 401)

    with pytest.raises(ModelError, match="rejected the API key"):
        async with scripted(connect=refused):
            pass
    assert attempts == [1]
