"""The agent loop: one user input -> model calls, tools, handoffs, guardrails -> one final answer.

run_turn is an async generator of events (agentcli/events.py). It never raises AgentCliError: a
failure ends the turn with ErrorEvent + AgentFinished(status="error") + TurnDone(status="error").
The conversation is only changed when the turn succeeds, so after an error or a cancellation it is
exactly what it was before (no dangling function_call, and the user can simply retry).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentcli.errors import AgentCliError, MaxTurnsExceeded, ModelError
from agentcli.events import (
    AgentFinished,
    AgentStarted,
    ErrorEvent,
    Event,
    GenerationDone,
    GenerationStarted,
    Handoff,
    Notice,
    Retrying,
    TextDelta,
    TurnDone,
    TurnStarted,
    Usage,
)
from agentcli.mcp import McpServerError
from agentcli.models.base import (
    Model,
    ModelCompleted,
    ModelNotice,
    ModelRequest,
    ModelRetrying,
    ModelTextDelta,
    ModelToolCall,
)
from agentcli.runtime.conversation import Conversation
from agentcli.runtime.final_answer import final_answer
from agentcli.runtime.guardrails import Guardrails, Verdict, build_guardrails, run_checks
from agentcli.runtime.tool_calls import run_tool_calls, serialized, stop_output_of, tool_events
from agentcli.runtime.tools import ToolFailed, ToolResult, Toolset, build_tools
from agentcli.runtime.tools.agent_tool import AgentAsTool, bind_toolsets
from agentcli.runtime.tools.python_tool import stringify
from agentcli.runtime.tools.toolset import agent_base_dir
from agentcli.spec.model import AgentSpec, Spec

if TYPE_CHECKING:
    from agentcli.mcp.servers import McpServers

Approver = Callable[[str, str], Awaitable[bool]]
DEFAULT_MAX_TURNS = 10
MAX_AGENT_TOOL_DEPTH = 5  # agent tools calling agent tools: a loop between two agents stops here
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("agent_tool_depth", default=0)


@dataclass
class RunConfig:
    max_turns: int | None = None  # model calls per user turn: this (--max-turns), else the agent's, else 10
    approver: Approver | None = None
    model: str | None = None  # --model override, for every agent
    base_url: str | None = None  # e.g. the simulator's URL
    api_key: str | None = None
    model_factory: Callable[[AgentSpec], Model] | None = None  # tests may inject one
    accept_incomplete: bool = False  # an answer cut short (max_output_tokens ...) is the turn's answer, with a notice


@dataclass
class _Generation:
    text: str
    calls: list[ModelToolCall]
    usage: Usage
    status: str = "completed"  # completed | incomplete | refusal (ModelCompleted.status)
    reason: str | None = None
    refusal: str | None = None
    reasoning: list[dict[str, Any]] = field(default_factory=list)


class Runner:
    def __init__(self, spec: Spec, config: RunConfig | None = None, mcp: McpServers | None = None):
        """Builds every agent's tools and guardrails now, so a bad import fails here (ToolError).
        `mcp`: the session's started MCP servers (agentcli.mcp.servers.open_mcp); without it, a spec's
        servers are started by start_mcp(), or at the first turn, and stopped by aclose()."""
        self.spec = spec
        self.config = config or RunConfig()
        self._toolsets: dict[str, Toolset] = {key: build_tools(spec, a) for key, a in spec.agents.items()}
        bind_toolsets(spec, self._toolsets, sub_run=self.sub_run)
        self._mcp: McpServers | None = None
        self._own_mcp = False
        self._release_sigterm: Callable[[], None] = lambda: None
        if mcp is not None:
            self._attach_mcp(mcp)
        self._guardrails: dict[str, Guardrails] = {
            key: build_guardrails(a, agent_base_dir(spec, a)) for key, a in spec.agents.items()
        }
        self._models: dict[str, Model] = {}
        self._approver = serialized(self.config.approver)

    def new_conversation(self, name: str | None = None) -> Conversation:
        return Conversation(items=[], agent=self.spec.entry, name=name)

    def model_name(self, agent: AgentSpec) -> str:
        return self.config.model or agent.model

    def max_turns(self, agent: AgentSpec) -> int:
        return self.config.max_turns or agent.max_turns or DEFAULT_MAX_TURNS

    def _model(self, key: str) -> Model:
        """Built on first use, so a missing API key surfaces as this turn's error event."""
        if key not in self._models:
            agent = self.spec.agents[key]
            if self.config.model_factory is not None:
                self._models[key] = self.config.model_factory(agent)
            else:
                from agentcli.models.factory import make_model

                self._models[key] = make_model(
                    agent, model=self.config.model, base_url=self.config.base_url, api_key=self.config.api_key
                )
        return self._models[key]

    def warm_up(self, key: str | None = None) -> None:
        """Build the agent's model (importing its client library) before the first turn, so that turn and
        generation spans time the model rather than imports. A missing key still surfaces in the turn."""
        try:
            model = self._model(key or self.spec.entry)
        except AgentCliError:
            return
        warm = getattr(model, "warm_up", None)
        if warm is not None:
            warm()

    async def aclose(self) -> None:
        for model in self._models.values():
            await model.aclose()
        self._models.clear()
        if self._own_mcp and self._mcp is not None:
            mcp, self._mcp, self._own_mcp = self._mcp, None, False
            await mcp.aclose()
            self._release_sigterm()

    # --- MCP servers --------------------------------------------------------------------------------

    @property
    def mcp(self) -> McpServers | None:
        """The MCP servers this runner's tools come from (started), if any."""
        return self._mcp

    def needs_mcp(self) -> bool:
        return self._mcp is None and any(a.mcp_servers for a in self.spec.agents.values())

    async def start_mcp(self) -> None:
        """Start the spec's MCP servers now (once; aclose() stops them). Raises McpServerError."""
        if not self.needs_mcp():
            return
        from agentcli.mcp.servers import McpServers, catch_sigterm

        servers = McpServers(self.spec)
        release = catch_sigterm()  # from before the first spawn: SIGTERM must stop servers, not orphan them
        try:
            await servers.start()
        except BaseException:
            release()
            raise
        self._own_mcp, self._release_sigterm = True, release
        self._attach_mcp(servers)

    def _attach_mcp(self, mcp: McpServers) -> None:
        self._mcp = mcp
        bind_toolsets(self.spec, self._toolsets, mcp=mcp)

    # --- agents as tools ----------------------------------------------------------------------------

    async def sub_run(self, tool: AgentAsTool, text: str) -> str:
        """Run the tool's agent on `text` in a fresh conversation; its events go to the calling tool's
        event channel (nested under the call); its final output is the result."""
        depth = _depth.get()
        if depth >= MAX_AGENT_TOOL_DEPTH:
            raise ToolFailed(f"agent tools nested more than {MAX_AGENT_TOOL_DEPTH} deep")
        emit = tool_events.get()
        token = _depth.set(depth + 1)
        done: TurnDone | None = None
        try:
            conversation = Conversation(items=[], agent=tool.agent_key)
            async for event in self.run_turn(conversation, text, max_turns=tool.max_turns):
                if isinstance(event, TurnDone):
                    done = event
                elif not isinstance(event, TurnStarted) and emit is not None:
                    emit(event)  # the call's span stands for the sub-run's turn
        finally:
            _depth.reset(token)
        if done is None or done.status != "ok":
            raise ToolFailed(f"{tool.name}: {done.error if done else 'no answer'}")
        return stringify(done.output)

    async def run_turn(
        self, conversation: Conversation, user_input: str, *, max_turns: int | None = None
    ) -> AsyncIterator[Event]:
        """`max_turns`: for an agent tool's sub-run (its `max_turns:`), over the usual limit."""
        start_key = conversation.agent
        key = start_key if start_key in self.spec.agents else self.spec.entry
        agent = self.spec.agents[key]
        turn = conversation.turns + 1
        if start_key and start_key != key:
            yield Notice(
                message=f"agent {start_key!r} is not in this spec; using {agent.name}", level="warning"
            )
        yield TurnStarted(turn=turn, input=user_input, agent=agent.name)

        verdicts: list[Verdict] = []
        async for event in run_checks(self._guardrails[key].input, user_input, agent.name, verdicts):
            yield event
        if verdicts:
            yield TurnDone(turn=turn, agent=agent.name, status="guardrail", error=verdicts[0].message)
            return

        new_items: list[dict[str, Any]] = [{"type": "message", "role": "user", "content": user_input}]
        usage = Usage()
        max_turns = max_turns or self.max_turns(agent)
        committed = False
        try:
            if self.needs_mcp():
                await self.start_mcp()
            yield AgentStarted(agent=agent.name)
            calls_made = 0
            while True:
                if calls_made >= max_turns:
                    raise MaxTurnsExceeded(max_turns)
                calls_made += 1
                generation = _Generation("", [], Usage())
                async for event in self._generate(key, conversation.items + new_items, generation):
                    yield event
                usage.add(generation.usage)
                if generation.status == "incomplete" and self.config.accept_incomplete:
                    yield Notice(message=f"the answer is incomplete ({generation.reason}): accepted as it is",
                                 level="warning")
                elif generation.status in ("refusal", "incomplete"):
                    # not an error of ours, and not an answer: the turn ends with its own status, the words
                    # kept in the output; the conversation stays as it was, so the user can rephrase or retry
                    if generation.status == "refusal":
                        message = f"the model refused: {' '.join((generation.refusal or '').split())}"
                    else:
                        message = f"the answer is incomplete ({generation.reason}); the partial text is kept"
                    output = generation.refusal if generation.status == "refusal" else generation.text
                    yield ErrorEvent(message=message, kind=generation.status)
                    yield AgentFinished(agent=agent.name, status=generation.status, error=message)
                    yield TurnDone(turn=turn, agent=agent.name, output=output, usage=usage,
                                   status=generation.status, error=message)
                    return
                if not generation.calls:
                    break
                new_items += generation.reasoning  # a reasoning model needs its reasoning with its calls
                if generation.text:  # text said before the calls stays in the history, in order
                    new_items.append(_assistant(generation.text, agent.name))
                new_items += [_function_call(c) for c in generation.calls]

                handoff_to: str | None = None
                toolset = self._toolsets[key]
                ordinary: list[ModelToolCall] = []
                outputs: dict[str, str] = {}
                for call in generation.calls:
                    target = toolset.handoff_target(call.name)
                    if target is None:
                        ordinary.append(call)
                    elif handoff_to is None:
                        handoff_to = target
                        outputs[call.call_id] = f"Transferred to {self.spec.agents[target].name}."
                    else:
                        outputs[call.call_id] = "error: only one handoff per answer; this one was ignored"
                results: dict[str, ToolResult] = {}
                async for event in run_tool_calls(ordinary, toolset, agent.name, self._approver, results):
                    yield event
                outputs.update({cid: r.output for cid, r in results.items()})
                new_items += [_function_output(c.call_id, outputs[c.call_id]) for c in generation.calls]

                stop_output = None if handoff_to else stop_output_of(agent.tool_use_behavior, ordinary, results)
                if stop_output is not None:  # tool_use_behavior: this tool's output is the answer
                    yield TextDelta(agent=agent.name, delta=stop_output)
                    generation = _Generation(stop_output, [], Usage())
                    break
                if handoff_to is not None:
                    new_agent = self.spec.agents[handoff_to]
                    yield Handoff(from_agent=agent.name, to_agent=new_agent.name)
                    yield AgentFinished(agent=agent.name)
                    key, agent = handoff_to, new_agent
                    yield AgentStarted(agent=agent.name)

            answer, output = await final_answer(self._guardrails[key].output, agent, generation.text)
            for event in answer.events:
                yield event
            new_items.append(_assistant(answer.text, agent.name))
            conversation.items.extend(new_items)  # in place: callers may hold the list
            conversation.agent = key
            conversation.turns += 1
            committed = True
            yield AgentFinished(agent=agent.name)
            yield TurnDone(turn=turn, agent=agent.name, output=output, usage=usage)
        except Exception as e:
            if committed:
                raise
            message, kind = _describe(e)
            yield ErrorEvent(message=message, kind=kind)
            yield AgentFinished(agent=agent.name, status="error", error=message)
            yield TurnDone(turn=turn, agent=agent.name, usage=usage, status="error", error=message)

    async def _generate(
        self, key: str, items: list[dict[str, Any]], out: _Generation
    ) -> AsyncIterator[Event]:
        """One model call: GenerationStarted, TextDelta*, GenerationDone. Fills `out`."""
        agent = self.spec.agents[key]
        model_name = self.model_name(agent)
        started = time.perf_counter()
        ttft_ms: float | None = None
        parts: list[str] = []
        yield GenerationStarted(agent=agent.name, model=model_name)
        try:
            model = self._model(key)
            request = ModelRequest(
                model=model_name,
                instructions=agent.instructions,
                items=items,
                tools=self._toolsets[key].schemas(),
                settings=agent.model_settings,
                output_schema=agent.output_type,
            )
            async for event in model.stream(request):
                if isinstance(event, ModelTextDelta | ModelToolCall) and ttft_ms is None:
                    ttft_ms = (time.perf_counter() - started) * 1000
                if isinstance(event, ModelTextDelta):
                    parts.append(event.text)
                    yield TextDelta(agent=agent.name, delta=event.text)
                elif isinstance(event, ModelToolCall):
                    out.calls.append(event)
                elif isinstance(event, ModelCompleted):
                    out.usage = event.usage
                    out.status, out.reason, out.refusal = event.status, event.reason, event.refusal
                    out.reasoning = event.reasoning
                elif isinstance(event, ModelNotice):
                    yield Notice(message=event.message, level="warning")
                elif isinstance(event, ModelRetrying):
                    yield Retrying(attempt=event.attempt, reason=event.reason)
        except Exception as e:
            message, _ = _describe(e)
            yield GenerationDone(
                agent=agent.name,
                model=model_name,
                usage=out.usage,
                ttft_ms=ttft_ms,
                output="".join(parts),
                status="error",
                error=message,
            )
            raise
        out.text = "".join(parts)
        yield GenerationDone(
            agent=agent.name, model=model_name, usage=out.usage, ttft_ms=ttft_ms, output=out.text
        )


def _assistant(text: str, agent: str) -> dict[str, Any]:
    return {"type": "message", "role": "assistant", "content": text, "_agent": agent}


def _function_call(call: ModelToolCall) -> dict[str, Any]:
    return {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments}


def _function_output(call_id: str, output: str) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def _describe(err: BaseException) -> tuple[str, str]:
    """(one-line message, ErrorEvent kind) for a failure that ends the turn."""
    if isinstance(err, ModelError):
        kind = "model"
    elif isinstance(err, McpServerError):
        kind = "tool"
    elif isinstance(err, AgentCliError):
        kind = "runtime"
    else:
        kind = "runtime"
        return " ".join(f"unexpected error: {type(err).__name__}: {err}".split()), kind
    return " ".join(str(err).split()) or type(err).__name__, kind
