"""Run one response's tool calls concurrently: Started events for all first, Finished as each ends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from agentcli.events import Event, ToolCallFinished, ToolCallStarted
from agentcli.models.base import ModelToolCall
from agentcli.runtime.tools import Approver, ToolResult, Toolset


def serialized(approver: Approver | None) -> Approver | None:
    """The approver behind a lock: parallel calls must not ask the user two questions at once."""
    if approver is None:
        return None
    lock = asyncio.Lock()

    async def ask(tool_name: str, arguments_json: str) -> bool:
        async with lock:
            return await approver(tool_name, arguments_json)

    return ask


async def run_tool_calls(
    calls: list[ModelToolCall],
    toolset: Toolset,
    agent: str,
    approver: Approver | None,
    results: dict[str, ToolResult],
) -> AsyncIterator[Event]:
    """Yield the events of running `calls`; fill `results` (call_id -> result). On cancellation or
    an early close, the calls still running are cancelled and awaited."""
    for call in calls:
        yield ToolCallStarted(agent=agent, call_id=call.call_id, name=call.name, arguments=call.arguments)
    tasks: dict[asyncio.Task[ToolResult], ModelToolCall] = {
        asyncio.ensure_future(toolset.call(call.name, call.arguments, approver)): call for call in calls
    }
    pending = set(tasks)
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=lambda t: calls.index(tasks[t])):
                call = tasks[task]
                result = task.result()
                results[call.call_id] = result
                yield ToolCallFinished(
                    agent=agent,
                    call_id=call.call_id,
                    name=call.name,
                    output=result.output,
                    error=result.error,
                    approved=result.approved,
                )
    finally:
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(BaseException):
                await task
