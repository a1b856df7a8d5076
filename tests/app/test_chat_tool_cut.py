"""A chat turn cancelled while a tool runs (Ctrl-C in the REPL, a one-shot interrupted) ends that call
with one ToolCallFinished(cancelled=True) before the turn's interrupted TurnDone; a call that finished
keeps its one finish."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from agentcli import events as ev
from agentcli.app.chat import chat_turn
from agentcli.app.consumers import EventFanout
from agentcli.runtime.conversation import Conversation
from tests.tool_turns import finishes, tool_runner
from tests.turn_ids import check_turn_ids, of_turn
from tests.voice.test_turn_taking import until


class FakeRun:
    """What chat_turn uses of a Run: its conversation, its fan-out, save()."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.fanout = EventFanout([self.events.append])
        self.conversation = Conversation(items=[], agent="helper", name="t")
        self.saved = 0

    def emit(self, event: ev.Event) -> None:
        self.fanout.emit(event)

    def save(self) -> None:
        self.saved += 1


def of(events: list[Any], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


async def cancelled_mid_tool(tmp_path: Path, tool: str, sub_tool: str | None = None) -> FakeRun:
    run = FakeRun()
    runner = tool_runner(tmp_path, tool, sub_tool=sub_tool)
    task = asyncio.create_task(chat_turn(run, runner, "look it up"))  # type: ignore[arg-type]
    await until(lambda: any(isinstance(e, ev.SubAgentEvent) and isinstance(e.event, ev.ToolCallStarted)
                            for e in run.events) if sub_tool else bool(of(run.events, ev.ToolCallStarted)))
    task.cancel()  # Ctrl-C
    await asyncio.wait([task])
    assert task.cancelled()
    await runner.aclose()
    return run


def test_a_turn_cancelled_while_a_tool_runs_ends_the_call_as_cancelled(tmp_path: Path) -> None:
    run = asyncio.run(cancelled_mid_tool(tmp_path, "slow"))
    events = run.events
    check_turn_ids(events)  # also: every call that started finished once
    [finished] = finishes(events, of(events, ev.ToolCallStarted)[0].call_id)
    assert finished.cancelled and finished.error == "cancelled by the user"
    assert (finished.turn_id, finished.parent_id, finished.name) == ("1", None, "slow")
    assert of_turn(events, "1")[-2:] == ["tool_call_finished", "turn_done"]
    assert [(d.status, d.interrupted) for d in of(events, ev.TurnDone)] == [("interrupted", True)]
    assert run.conversation.items == [] and run.saved == 0  # nothing of a cancelled turn is kept


def test_a_sub_agents_call_is_ended_under_its_agent_tools_call(tmp_path: Path) -> None:
    run = asyncio.run(cancelled_mid_tool(tmp_path, "ask_researcher", sub_tool="slow"))
    events = run.events
    check_turn_ids(events)
    ends = [e for e in events if isinstance(e, ev.ToolCallFinished | ev.SubAgentEvent | ev.TurnDone)
            and not (isinstance(e, ev.SubAgentEvent) and not isinstance(e.event, ev.ToolCallFinished))]
    assert [(e.type, getattr(e.event, "name", None) if isinstance(e, ev.SubAgentEvent) else getattr(e, "name", ""))
            for e in ends] == [("sub_agent_event", "slow"), ("tool_call_finished", "ask_researcher"),
                               ("turn_done", "")]


def test_a_tool_call_that_runs_to_its_end_has_one_finish(tmp_path: Path) -> None:
    run = FakeRun()

    async def body() -> ev.TurnDone:
        runner = tool_runner(tmp_path, "quick")
        try:
            return await chat_turn(run, runner, "look it up")  # type: ignore[arg-type]
        finally:
            await runner.aclose()

    done = asyncio.run(body())
    check_turn_ids(run.events)
    assert (done.status, done.output) == ("ok", "Done: value of x")
    [finished] = finishes(run.events, of(run.events, ev.ToolCallStarted)[0].call_id)
    assert not finished.cancelled and finished.output == "value of x"
