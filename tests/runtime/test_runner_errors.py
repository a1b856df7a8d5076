"""Runner failure paths that need no simulator: missing key, a broken model, a stale agent name."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentcli.events import Usage
from agentcli.models.base import Model, ModelCompleted, ModelEvent, ModelRequest, ModelTextDelta
from agentcli.runtime.conversation import Conversation
from agentcli.runtime.runner import RunConfig, Runner

from .conftest import make_spec
from .runner_helpers import kinds, last, turn


class ScriptedModel(Model):
    """Says "partial" and then fails, or answers with the instructions it was given."""

    def __init__(self, fail: bool):
        self.fail = fail
        self.requests: list[ModelRequest] = []

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        self.requests.append(request)
        yield ModelTextDelta("partial")
        if self.fail:
            raise RuntimeError("boom\nwith a second line")
        yield ModelTextDelta(f" from {request.instructions}")
        yield ModelCompleted(usage=Usage(3, 4))


def test_missing_api_key_ends_the_turn_with_a_model_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    runner = Runner(make_spec(tmp_path, {"name": "a"}), RunConfig())
    conv = runner.new_conversation()
    events = asyncio.run(turn(runner, conv, "hi"))
    error = last(events, "error")
    assert (error.kind, error.message) == (
        "model",
        "OPENAI_API_KEY is not set: export OPENAI_API_KEY=... (or use --sim)",
    )
    assert last(events, "turn_done").status == "error" and conv.items == []


def test_unexpected_model_failure_is_one_line_and_restores_history(tmp_path: Path) -> None:
    model = ScriptedModel(fail=True)
    runner = Runner(make_spec(tmp_path, {"name": "a"}), RunConfig(model_factory=lambda agent: model))
    conv = Conversation(items=[{"type": "message", "role": "user", "content": "before"}], agent="a")
    events = asyncio.run(turn(runner, conv, "hi"))
    assert kinds(events) == [
        "turn_started",
        "agent_started",
        "generation_started",
        "text_delta*",
        "generation_done",
        "error",
        "agent_finished",
        "turn_done",
    ]
    message = "unexpected error: RuntimeError: boom with a second line"
    assert last(events, "error").message == message and last(events, "error").kind == "runtime"
    assert last(events, "generation_done").output == "partial"
    assert last(events, "agent_finished").error == message
    assert conv.items == [{"type": "message", "role": "user", "content": "before"}] and conv.turns == 0


def test_model_override_and_unknown_saved_agent(tmp_path: Path) -> None:
    model = ScriptedModel(fail=False)
    spec = make_spec(tmp_path, {"name": "a", "instructions": "A", "max_turns": 3})
    runner = Runner(spec, RunConfig(model="gpt-override", model_factory=lambda agent: model))
    conv = Conversation(items=[], agent="gone")
    history = conv.items
    events = asyncio.run(turn(runner, conv, "hi"))
    assert conv.items is history and len(history) == 2  # appended in place
    assert events[0].type == "notice" and "gone" in events[0].message
    assert last(events, "turn_done").output == "partial from A" and conv.agent == "a"
    assert model.requests[0].model == "gpt-override"
    assert last(events, "generation_started").model == "gpt-override"
    assert runner.max_turns(spec.entry_agent) == 3
    assert Runner(spec, RunConfig(max_turns=7)).max_turns(spec.entry_agent) == 7
    assert (
        Runner(make_spec(tmp_path, {"name": "b"})).max_turns(
            spec.agents["a"].model_copy(update={"max_turns": None})
        )
        == 10
    )
