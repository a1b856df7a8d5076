"""A line typed while a tool runs (issue 15): the tool's turn ends as interrupted, as speech over it
would, and the typed line is answered in its own turn. OpenAI: the call goes on and its output reaches
the model before the answer; Gemini Live: the server takes the call back. Against the simulators."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agentcli import events as ev
from agentcli.realtime.session import SessionOptions
from agentcli.tracing.tree import SpanTree
from tests.realtime.gemini_harness import gemini_harness
from tests.realtime.harness import harness
from tests.turn_ids import check_turn_ids
from tests.voice.test_turn_done import Spans

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


def function_spans(events: list[Any]) -> list[tuple[str | None, str, Any]]:
    """(its turn's name, status, output) of each function span the trace builds from `events`."""
    sink = Spans()
    tree = SpanTree(sink)
    for event in events:
        tree.feed(event)
    tree.finish(time.time(), "ok")
    turns = {s.span_id: s.name for s in sink.spans if s.kind == "turn"}
    return [(turns.get(s.parent_id or ""), s.status, s.data.get("output")) for s in sink.spans if s.kind == "function"]


SCRIPT = {
    "turns": [
        {"match": "archive", "reply": [{"tool_call": {"name": "gated_lookup", "arguments": {"topic": "{input}"}}},
                                       "Found it: {tool_output}"]},
        {"reply": ["Turn {turn}: {input}"]},
    ],
}  # fmt: skip


async def test_openai_a_line_typed_while_a_tool_runs_interrupts_its_turn(tmp_path: Path) -> None:
    async with harness(tmp_path, SCRIPT, spec="gated.yaml", options=SessionOptions(text_only=True), sink=None) as h:
        gate = asyncio.Event()
        sys.modules["rt_tools"].GATE[:] = [gate]  # the spec's tool module, as the toolset imported it
        await h.session.send_text("search the archive")
        await h.wait_for(lambda: h.of(ev.ToolCallStarted))
        await h.session.send_text("never mind")
        first = await h.turn_done(1)
        assert (first.status, first.interrupted) == ("interrupted", True)
        assert not h.of(ev.ToolCallFinished)  # the call still runs
        gate.set()
        second = await h.turn_done(2)
        assert second.status == "ok" and second.output == "Turn 2: never mind"
        assert h.of(ev.ToolCallFinished)[0].output == "search the archive: found"
        outputs = [e["item"] for e in h.sent("conversation.item.create") if e["item"]["type"] == "function_call_output"]
        assert [o["output"] for o in outputs] == ["search the archive: found"]  # the model had it before answering
        check_turn_ids(h.events)  # one TurnDone each
        assert [(d.turn_id, d.status) for d in h.of(ev.TurnDone)] == [("1", "interrupted"), ("2", "ok")]
        assert h.of(ev.TurnStarted)[1].input == "never mind"
        h.validate_wire()
    # the trace: the call ended with its turn, as interrupted; its late result amends it (no second span)
    assert function_spans(h.events) == [("turn 1", "interrupted", "search the archive: found")]


async def test_gemini_a_line_typed_while_a_tool_runs_interrupts_its_turn(tmp_path: Path) -> None:
    script = {
        "turns": [
            {"match": "archive", "reply": [{"tool_call": {"name": "slow_lookup", "arguments": {"topic": "{input}"}}},
                                           "Found it."]},
            {"reply": ["Turn {turn}: {input}"]},
        ],
    }  # fmt: skip
    async with gemini_harness(tmp_path, script, sink=None, options=SessionOptions(text_only=True)) as h:
        await h.session.send_text("search the archive")
        await h.wait_for(lambda: h.of(ev.ToolCallStarted))
        await h.session.send_text("never mind")
        assert (await h.turn_done(2)).output == "Turn 2: never mind"
        check_turn_ids(h.events)
        assert [(d.turn_id, d.status) for d in h.of(ev.TurnDone)] == [("1", "interrupted"), ("2", "ok")]
        assert [f.cancelled for f in h.of(ev.ToolCallFinished)] == [True]
