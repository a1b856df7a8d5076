"""A voice turn cut off while a tool runs (a barge-in, the session's end) still ends that tool call: one
ToolCallFinished(cancelled=True) for it, before the turn's TurnDone, traced as interrupted; a call that
finished is not finished again, and the history keeps no call without its output."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from agentcli import events as ev
from agentcli.app.consumers import EventFanout
from agentcli.runtime.conversation import Conversation
from agentcli.tracing.spans import SpanRecord
from agentcli.tracing.tree import SpanTree
from agentcli.voice.pipeline import TurnInput, VoiceContext, VoiceTurn
from tests.tool_turns import finishes, tool_runner
from tests.turn_ids import check_turn_ids, of_turn
from tests.voice.fakes import FakePlayer, FakeSTT, FakeTTS
from tests.voice.test_pipeline import of
from tests.voice.test_turn_done import Spans
from tests.voice.test_turn_taking import until


def tool_turn(tmp_path: Path, tool: str, sub_tool: str | None = None,
              answer_delay: float = 0.0) -> tuple[VoiceTurn, list[Any]]:
    events: list[Any] = []
    fanout = EventFanout([events.append])  # as in a run: the fan-out holds the turn ids
    ctx = VoiceContext(runner=tool_runner(tmp_path, tool, sub_tool=sub_tool, answer_delay=answer_delay),
                       conversation=Conversation(items=[], agent="helper", name="t"), stt=FakeSTT(), tts=FakeTTS(),
                       sink=FakePlayer(speed=10.0), emit=fanout.emit, turn_ids=fanout.ids)
    return VoiceTurn(ctx, TurnInput(text="look it up")), events


def traced(events: list[Any]) -> list[SpanRecord]:
    """The spans of `events`, as they end (the run goes on: nothing is ended for it)."""
    sink = Spans()
    tree = SpanTree(sink)
    for event in events:
        tree.feed(event)
    return sink.spans


def started(events: list[Any]) -> bool:
    return bool(of(events, ev.ToolCallStarted))


async def test_a_barge_in_while_a_tool_runs_ends_the_call_as_cancelled_before_the_turn_done(tmp_path: Path) -> None:
    turn, events = tool_turn(tmp_path, "slow")
    turn.start()
    await until(lambda: started(events))
    await turn.interrupt()
    check_turn_ids(events)  # also: every call that started finished once
    call = of(events, ev.ToolCallStarted)[0]
    [finished] = finishes(events, call.call_id)
    assert finished.cancelled and finished.error == "interrupted by the user" and finished.output == ""
    assert (finished.turn_id, finished.parent_id, finished.agent, finished.name) == ("1", None, "helper", "slow")
    kinds = of_turn(events, "1")
    assert kinds.index("tool_call_finished") < kinds.index("turn_done")
    assert [d.status for d in of(events, ev.TurnDone)] == ["interrupted"]
    # the history keeps the question, not a call without its output
    assert [i["type"] for i in turn.ctx.conversation.items] == ["message"]
    spans = traced(events)
    function = next(s for s in spans if s.kind == "function")
    assert (function.status, function.error) == ("interrupted", "interrupted by the user")
    assert next(s for s in spans if s.kind == "turn").status == "interrupted"


async def test_the_session_ending_while_a_tool_runs_ends_the_call_as_cancelled(tmp_path: Path) -> None:
    turn, events = tool_turn(tmp_path, "slow")
    task = turn.start()
    await until(lambda: started(events))
    task.cancel()  # what the session's end (Ctrl-C) does to a turn still running
    await asyncio.wait([task])
    check_turn_ids(events)
    [finished] = finishes(events, of(events, ev.ToolCallStarted)[0].call_id)
    assert finished.cancelled and finished.error == "cancelled"
    assert of_turn(events, "1")[-2:] == ["tool_call_finished", "turn_done"]


async def test_a_sub_agents_call_cut_off_ends_nested_before_the_agent_tools_call(tmp_path: Path) -> None:
    turn, events = tool_turn(tmp_path, "ask_researcher", sub_tool="slow")
    turn.start()
    await until(lambda: any(isinstance(e, ev.SubAgentEvent) and isinstance(e.event, ev.ToolCallStarted)
                            for e in events))
    await turn.interrupt()
    check_turn_ids(events)  # the nested call too
    nested = [e for e in events if isinstance(e, ev.SubAgentEvent) and isinstance(e.event, ev.ToolCallFinished)]
    outer = of(events, ev.ToolCallFinished)
    assert [(e.event.name, e.event.cancelled) for e in nested] == [("slow", True)]
    assert [(e.name, e.cancelled) for e in outer] == [("ask_researcher", True)]
    assert events.index(nested[0]) < events.index(outer[0]) < events.index(of(events, ev.TurnDone)[0])
    outer_call = of(events, ev.ToolCallStarted)[0].call_id
    assert (nested[0].call_id, nested[0].turn_id, nested[0].event.parent_id) == (outer_call, "1", outer_call)
    spans = traced(events)
    assert [(s.name, s.status) for s in spans if s.kind == "function"] == [
        ("slow", "interrupted"), ("ask_researcher", "interrupted")]
    # the sub-run's agent was still at work (its model call had ended), the helper's too
    assert [(s.name, s.status) for s in spans if s.kind == "agent"] == [
        ("researcher", "interrupted"), ("helper", "interrupted")]
    assert {s.status for s in spans if s.kind == "generation"} == {"ok"}


async def test_a_tool_that_finished_gets_one_finish_even_when_the_answer_is_cut(tmp_path: Path) -> None:
    turn, events = tool_turn(tmp_path, "quick")
    turn.start()
    await until(lambda: bool(of(events, ev.TurnDone)))  # the call is done, the answer still plays
    await turn.interrupt()
    check_turn_ids(events)
    [finished] = finishes(events, of(events, ev.ToolCallStarted)[0].call_id)
    assert not finished.cancelled and finished.output == "value of x"
    assert [d.status for d in of(events, ev.TurnDone)] == ["ok"]


async def test_a_barge_in_after_the_tool_finished_does_not_finish_it_again(tmp_path: Path) -> None:
    turn, events = tool_turn(tmp_path, "quick", answer_delay=3600)  # the answer after the call never comes
    turn.start()
    await until(lambda: bool(of(events, ev.ToolCallFinished)))
    await turn.interrupt()
    check_turn_ids(events)
    [finished] = finishes(events, of(events, ev.ToolCallStarted)[0].call_id)
    assert not finished.cancelled and finished.output == "value of x"
    assert [d.status for d in of(events, ev.TurnDone)] == ["interrupted"]
