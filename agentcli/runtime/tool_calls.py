"""Run one response's tool calls concurrently: Started events for all first, Finished as each ends."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections import deque
from collections.abc import AsyncIterator, Callable

from agentcli.events import Event, SubAgentEvent, ToolCallFinished, ToolCallStarted
from agentcli.models.base import ModelToolCall
from agentcli.runtime.tools import Approver, ToolResult, Toolset
from agentcli.spec.model import StopAtTools

# Set inside each tool call's task: a tool that runs a sub-agent hands its events here, nested under the call.
tool_events: contextvars.ContextVar[Callable[[Event], None] | None] = contextvars.ContextVar(
    "tool_events", default=None
)


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
        server = getattr(toolset.current().get(call.name), "server", None)
        yield ToolCallStarted(agent=agent, call_id=call.call_id, name=call.name, arguments=call.arguments,
                              server=server)
    # one future wakes this loop, set by a call that ends or by a nested event: no task waiting on a queue
    # and no asyncio.wait per round (both a measurable part of a chat turn)
    loop = asyncio.get_running_loop()
    nested: deque[Event] = deque()
    wake: asyncio.Future[None] = loop.create_future()

    def nudge(_: object = None) -> None:
        if not wake.done():
            wake.set_result(None)

    tasks: dict[asyncio.Task[ToolResult], ModelToolCall] = {}
    for call in calls:
        context = contextvars.copy_context()
        context.run(tool_events.set, _nester(nested, nudge, call))
        task = asyncio.create_task(toolset.call(call.name, call.arguments, approver), context=context)
        task.add_done_callback(nudge)
        tasks[task] = call
    pending = dict(tasks)  # in call order
    try:
        while pending:
            if not nested and not any(task.done() for task in pending):
                await wake
            wake = loop.create_future()  # what happens from here on wakes the next round
            while nested:  # a finished call's nested events come before its result
                yield nested.popleft()
            for task in [t for t in pending if t.done()]:
                call = pending.pop(task)
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


def _nester(events: deque[Event], nudge: Callable[[], None], call: ModelToolCall) -> Callable[[Event], None]:
    def emit(event: Event) -> None:
        if event.parent_id is None:  # the innermost call it ran under; a deeper one set its own
            event.parent_id = call.call_id
        events.append(SubAgentEvent(call_id=call.call_id, tool=call.name, event=event, parent_id=call.call_id))
        nudge()

    return emit


def stop_output_of(
    behavior: str | StopAtTools, calls: list[ModelToolCall], results: dict[str, ToolResult]
) -> str | None:
    """The answer a tool_use_behavior takes from this round's tool results, or None to ask the model
    again: the first call's output (stop_on_first_tool), or the first listed tool's (stop_at_tools)."""
    if behavior == "run_llm_again" or not calls:
        return None
    if behavior == "stop_on_first_tool":
        first = results.get(calls[0].call_id)
        return first.output if first is not None else None
    if isinstance(behavior, StopAtTools):
        for call in calls:
            if call.name in behavior.stop_at_tools and call.call_id in results:
                return results[call.call_id].output
    return None
