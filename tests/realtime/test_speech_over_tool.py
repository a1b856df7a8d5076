"""Speech while a tool runs, on OpenAI (no answer plays, so it is no barge-in): once the speech is a
new turn (its user item committed), the tool's turn ends as interrupted, as a typed line's does
(test_typed_over_tool.py); the call runs on and its output reaches the model. Against the simulator."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from agentcli import events as ev
from tests.realtime.gemini_harness import gemini_harness
from tests.realtime.harness import harness
from tests.realtime.test_typed_over_tool import function_spans
from tests.turn_ids import check_turn_ids

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

SCRIPT = {
    "hear": ["search the archive", "never mind"],
    "turns": [
        {"match": "archive", "reply": [{"tool_call": {"name": "gated_lookup", "arguments": {"topic": "{input}"}}},
                                       "Found it: {tool_output}"]},
        {"reply": ["Turn {turn}: {input}"]},
    ],
}  # fmt: skip


async def test_openai_speech_while_a_tool_runs_interrupts_its_turn(tmp_path: Path) -> None:
    async with harness(tmp_path, SCRIPT, spec="gated.yaml", sink=None) as h:
        gate = asyncio.Event()
        sys.modules["rt_tools"].GATE[:] = [gate]  # the spec's tool module, as the toolset imported it
        await h.say()
        await h.wait_for(lambda: h.of(ev.ToolCallStarted))
        await h.say()  # no answer plays: not a barge-in, a new turn
        first = await h.turn_done(1)
        assert (first.status, first.interrupted, first.turn_id) == ("interrupted", True, "1")
        assert not h.of(ev.ToolCallFinished)  # the call still runs
        await h.wait_for(lambda: h.sent("response.cancel"))  # the server's own answer, made without the output
        gate.set()
        second = await h.turn_done(2)
        assert second.status == "ok" and second.output == "Turn 2: never mind"
        assert h.of(ev.ToolCallFinished)[0].output == "search the archive: found"
        sent = [e for e in h.wire("sent") if e["type"] != "input_audio_buffer.append"]
        kinds = [e["item"]["type"] if e["type"] == "conversation.item.create" else e["type"] for e in sent]
        out = kinds.index("function_call_output")
        assert kinds.index("response.cancel") < out < len(kinds) - 1 and kinds[-1] == "response.create"
        assert kinds.count("response.create") == 1  # asked once, after the output: the model had it
        check_turn_ids(h.events)  # one TurnDone each
        assert [(d.turn_id, d.status) for d in h.of(ev.TurnDone)] == [("1", "interrupted"), ("2", "ok")]
        assert h.of(ev.TurnStarted)[1].input == "never mind"
        h.validate_wire()
    # the trace: the call ended with its turn, as interrupted; its late result amends it (no second span)
    assert function_spans(h.events) == [("turn 1", "interrupted", "search the archive: found")]


async def test_gemini_speech_while_a_tool_runs_takes_the_call_back(tmp_path: Path) -> None:
    """Unchanged on Gemini Live: the server takes the call back (toolCallCancellation), the call shows
    as cancelled, the turn ends as interrupted and the speech is answered in its own turn."""
    script = {
        "hear": ["search the archive", "never mind"],
        "turns": [
            {"match": "archive", "reply": [{"tool_call": {"name": "slow_lookup", "arguments": {"topic": "{input}"}}},
                                           "Found it."]},
            {"reply": ["Turn {turn}: {input}"]},
        ],
    }  # fmt: skip
    async with gemini_harness(tmp_path, script, sink=None) as h:
        await h.say()
        await h.wait_for(lambda: h.of(ev.ToolCallStarted))
        await h.say()
        assert (await h.turn_done(2)).output == "Turn 2: never mind"
        check_turn_ids(h.events)
        assert [(d.turn_id, d.status) for d in h.of(ev.TurnDone)] == [("1", "interrupted"), ("2", "ok")]
        assert [f.cancelled for f in h.of(ev.ToolCallFinished)] == [True]
        assert h.messages("received", "toolCallCancellation")
        assert not h.messages("sent", "toolResponse")
