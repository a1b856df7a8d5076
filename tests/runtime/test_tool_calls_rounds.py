"""run_tool_calls: calls of one round run at once; a call's nested events come out while it runs, before its
result; results come in call order when several end together; an early close cancels what still runs."""

from __future__ import annotations

import asyncio
from typing import Any

from agentcli.events import Notice, SubAgentEvent, ToolCallFinished, ToolCallStarted
from agentcli.models.base import ModelToolCall
from agentcli.runtime.tool_calls import run_tool_calls, tool_events
from agentcli.runtime.tools import ToolResult


class FakeToolset:
    """Each call runs `behaviours[name]` (an async function of the call's name)."""

    def __init__(self, behaviours: dict[str, Any]) -> None:
        self.behaviours = behaviours
        self.cancelled: list[str] = []

    def current(self) -> dict[str, Any]:
        return {}

    async def call(self, name: str, arguments: str, approver: Any = None) -> ToolResult:
        try:
            return ToolResult(output=await self.behaviours[name](name))
        except asyncio.CancelledError:
            self.cancelled.append(name)
            raise


def calls(*names: str) -> list[ModelToolCall]:
    return [ModelToolCall(f"c-{n}", n, "{}") for n in names]


def test_nested_events_come_out_while_the_call_still_runs() -> None:
    release = asyncio.Event()
    seen: list[str] = []

    async def talker(name: str) -> str:
        emit = tool_events.get()
        assert emit is not None
        emit(Notice(message="working"))
        await release.wait()
        return "done"

    async def main() -> None:
        toolset = FakeToolset({"talk": talker})
        results: dict[str, ToolResult] = {}
        async for event in run_tool_calls(calls("talk"), toolset, "a", None, results):  # type: ignore[arg-type]
            seen.append(type(event).__name__)
            if isinstance(event, SubAgentEvent):
                assert "c-talk" not in results  # the call has not ended: the event came out live
                release.set()
        assert results["c-talk"].output == "done"

    asyncio.run(main())
    assert seen == ["ToolCallStarted", "SubAgentEvent", "ToolCallFinished"]


def test_calls_of_a_round_run_at_once_and_finish_in_call_order_when_together() -> None:
    both = asyncio.Barrier(2)

    async def meet(name: str) -> str:
        await both.wait()  # would never return if the calls ran one after another
        return name

    async def main() -> list[Any]:
        toolset = FakeToolset({"a": meet, "b": meet})
        results: dict[str, ToolResult] = {}
        return [e async for e in run_tool_calls(calls("b", "a"), toolset, "x", None, results)]  # type: ignore[arg-type]

    events = asyncio.run(asyncio.wait_for(main(), 30))
    assert [type(e) for e in events] == [ToolCallStarted, ToolCallStarted, ToolCallFinished, ToolCallFinished]
    assert [e.name for e in events[2:]] == ["b", "a"]


def test_closing_early_cancels_the_calls_still_running() -> None:
    async def forever(name: str) -> str:
        await asyncio.Event().wait()
        return "never"

    async def quick(name: str) -> str:
        return "quick"

    async def main() -> list[str]:
        toolset = FakeToolset({"slow": forever, "fast": quick})
        stream = run_tool_calls(calls("slow", "fast"), toolset, "x", None, {})  # type: ignore[arg-type]
        async for event in stream:
            if isinstance(event, ToolCallFinished):
                break
        await stream.aclose()
        return toolset.cancelled

    assert asyncio.run(main()) == ["slow"]
