"""Tools and handoffs in a realtime session: the same runtime code as chat (approvals included).

A response's function calls run concurrently once complete; their outputs go back as
`function_call_output` items. A `transfer_to_<agent>` call switches the session's agent: the caller
sends a `session.update` with the new agent's instructions and tools (the voice stays).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agentcli.events import Event, ToolCallFinished, ToolCallStarted
from agentcli.models.base import ModelToolCall, ToolSchema
from agentcli.runtime.guardrails import GuardrailCheck, build_guardrails
from agentcli.runtime.tool_calls import run_tool_calls, serialized
from agentcli.runtime.tools import Approver, ToolResult, Toolset, build_tools
from agentcli.runtime.tools.toolset import agent_base_dir
from agentcli.spec.model import AgentSpec, Spec

if TYPE_CHECKING:
    from agentcli.mcp.servers import McpServers
    from agentcli.runtime.runner import Runner

ONE_HANDOFF = "error: only one handoff per answer; this one was ignored"


CANCELLED = "cancelled by the model (the user interrupted)"
DROPPED = "cancelled: the realtime connection dropped"
ENDED = "cancelled: the session ended"


class CallRun:
    """One response's function calls while they run: which have finished, which the model took back
    (Gemini Live's toolCallCancellation), or that stopped with their task (a dropped connection, the
    session's end). A taken-back call shows as a ToolCallFinished with `cancelled=True` at once; its own
    result, if it still comes, is neither shown nor sent. Only a call that started is finished (a handoff
    call never starts)."""

    def __init__(self, calls: list[ModelToolCall], agent: str, turn: int | None,
                 tell: Callable[[Event], None] | None = None):
        self.calls = {c.call_id: c for c in calls}
        self.agent, self.turn = agent, turn
        self.tell = tell  # emits an event of the calls' turn (stamped with its turn_id)
        self.started: set[str] = set()
        self.finished: set[str] = set()
        self.cancelled: set[str] = set()

    def watch(self, emit: Callable[[Event], None]) -> Callable[[Event], None]:
        """`emit`, noting each call's end and holding back the end of a cancelled one."""

        def watched(event: Event) -> None:
            if isinstance(event, ToolCallStarted):
                self.started.add(event.call_id)
            if isinstance(event, ToolCallFinished):
                self.finished.add(event.call_id)
                if event.call_id in self.cancelled:
                    return
            emit(event)

        return watched

    def cancel(self, call_ids: list[str], emit: Callable[[Event], None], error: str = CANCELLED) -> bool:
        """Take back those of `call_ids` still running; True when every call of the run is taken back
        (then nothing of it is to be sent: its task can go). A call that finished first keeps its result,
        which goes back with the others' once they end."""
        for call_id in call_ids:
            call = self.calls.get(call_id)
            if call is None or call_id in self.finished or call_id in self.cancelled:
                continue
            self.cancelled.add(call_id)
            if call_id in self.started:
                emit(ToolCallFinished(agent=self.agent, call_id=call_id, name=call.name, error=error,
                                      cancelled=True))  # fmt: skip
        return set(self.calls) <= self.cancelled


@dataclass
class CallsOutcome:
    outputs: dict[str, str] = field(default_factory=dict)  # call_id -> what the model is given back
    handoff_to: str | None = None  # the spec.agents key to switch to


class AgentTools:
    """Every agent's toolset and output guardrails, built up front so a bad import fails before
    the session starts (ToolError)."""

    def __init__(self, spec: Spec, approver: Approver | None, *, mcp: McpServers | None = None,
                 runner: Runner | None = None):
        """`mcp`: the session's started MCP servers; `runner`: a text Runner that runs `agent:` tools."""
        self.spec = spec
        self.approver = serialized(approver)
        self.toolsets: dict[str, Toolset] = {key: build_tools(spec, a) for key, a in spec.agents.items()}
        if mcp is not None or runner is not None:
            from agentcli.runtime.tools.agent_tool import bind_toolsets

            bind_toolsets(spec, self.toolsets, mcp=mcp, sub_run=runner.sub_run if runner is not None else None)
        self.output_guardrails: dict[str, list[GuardrailCheck]] = {
            key: build_guardrails(a, agent_base_dir(spec, a)).output for key, a in spec.agents.items()
        }

    def agent(self, key: str) -> AgentSpec:
        return self.spec.agents[key]

    def schemas(self, key: str) -> list[ToolSchema]:
        return self.toolsets[key].schemas()

    async def run(self, key: str, calls: list[ModelToolCall], emit: Callable[[Event], None]) -> CallsOutcome:
        """Run one response's calls (emitting ToolCallStarted/Finished); handoffs are not run but decided."""
        toolset = self.toolsets[key]
        outcome = CallsOutcome()
        ordinary: list[ModelToolCall] = []
        for call in calls:
            target = toolset.handoff_target(call.name)
            if target is None:
                ordinary.append(call)
            elif outcome.handoff_to is None:
                outcome.handoff_to = target
                outcome.outputs[call.call_id] = f"Transferred to {self.spec.agents[target].name}."
            else:
                outcome.outputs[call.call_id] = ONE_HANDOFF
        results: dict[str, ToolResult] = {}
        async for event in run_tool_calls(ordinary, toolset, self.agent(key).name, self.approver, results):
            emit(event)
        outcome.outputs.update({cid: r.output for cid, r in results.items()})
        return outcome
