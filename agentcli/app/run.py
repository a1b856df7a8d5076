"""One run of chat, voice or realtime, from set-up to a clean shutdown.

`Run` owns what every mode shares: the conversation store and this run's conversation, the model
endpoint (or the embedded simulator), the trace recorder, the fan-out of events to the renderer and the
other consumers, the tool approver, `SessionStarted` / `SessionEnded` with one status mapping, and the
closing of everything the driver registered, on success, error, Ctrl-C and SIGTERM alike. A driver
(the chat turn loop, `voice.session`, `realtime.run`) produces events through `run.emit`."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentcli import events as ev
from agentcli.app.approval import Approver, Asker, make_approver
from agentcli.app.consumers import Consumer, EventFanout, Renderer
from agentcli.app.endpoint import Endpoint, model_endpoint
from agentcli.errors import ToolError, UsageError, error_kind

if TYPE_CHECKING:
    from agentcli.runtime.runner import Runner
    from agentcli.spec.model import Spec


@dataclass
class RunOptions:
    kind: str  # chat | voice | realtime
    session: str | None = None
    resume_latest: bool = False
    sim: bool = False
    sim_script: Path | None = None
    yes: bool = False
    model: str | None = None
    no_trace: bool = False
    no_trace_content: bool = False
    accept_incomplete: bool = False  # an answer cut short counts as the answer (with a notice)


def holds_answer(spec: Spec) -> bool:
    """Whether an answer may still be replaced after it streamed (an output guardrail or an output_type):
    then renderers hold it back until its turn is done, so the user never sees text that was replaced."""
    return any(a.output_guardrails or a.output_type for a in spec.agents.values())


def trace_settings(spec: Spec, no_trace: bool, no_trace_content: bool) -> tuple[bool, bool]:
    """(enabled, content) from flags, env (AGENT_TRACE=0, AGENT_TRACE_CONTENT=0) and the spec."""
    agent = spec.entry_agent
    enabled = agent.tracing.enabled and not no_trace and os.environ.get("AGENT_TRACE", "1") != "0"
    content = (
        agent.tracing.content and not no_trace_content and os.environ.get("AGENT_TRACE_CONTENT", "1") != "0"
    )
    return enabled, content


def open_trace(kind: str, spec: Spec, session: str | None, enabled: bool, content: bool, **metadata: Any) -> Any:
    """A trace recorder for this run, or None when tracing is off. Tracing never breaks a run."""
    if not enabled:
        return None
    try:
        from agentcli.tracing import open_recorder

        return open_recorder(kind=kind, workflow=spec.entry, group_id=session, content=content, metadata=metadata)
    except Exception as e:  # noqa: BLE001 - a broken trace store must not stop the user's run
        print(f"agent: warning: tracing is off for this run: {e}", file=sys.stderr)
        return None


Closer = Callable[[], Awaitable[Any] | Any]


class Run:
    """`async with Run(spec, options, renderer) as run:` then `run.start(agent)` once the driver is set
    up, `run.emit(event)` while it runs; leaving the block ends the session."""

    def __init__(self, spec: Spec, options: RunOptions, renderer: Renderer) -> None:
        self.spec = spec
        self.options = options
        self.renderer = renderer
        self.fanout = EventFanout([renderer])
        self.asker = Asker()  # a mode that owns the terminal sets asker.owner while it reads it
        self.approver: Approver = make_approver(options.yes, self.asker)
        self.endpoint = Endpoint()
        self.store: Any = None
        self.conversation: Any = None
        self.status, self.error = "ok", None
        self.error_kind: str | None = None  # how a fatal error is classed (default: by its type)
        self._recorder: Any = None
        self._closers: list[Closer] = []
        self._endpoint_scope: contextlib.AbstractAsyncContextManager[Endpoint] | None = None
        self._started = False
        self._stored = False
        self._store_checked: Future[None] | None = None

    # -- set-up ------------------------------------------------------------------------------------------
    async def __aenter__(self) -> Run:
        from agentcli.runtime.conversations import SessionStore

        o = self.options
        try:
            self.store = SessionStore()
            resumed = bool(o.session or o.resume_latest)  # a store to read now; a new conversation reads none
            self.conversation = self.store.open_or_start(self.spec, o.session, kind=o.kind,
                                                         latest=o.resume_latest, check=resumed)
            if not resumed:  # checked while the run starts up; start() waits for it, before any turn
                self._store_checked = self.store.check_in_background()
            scope = model_endpoint(o.sim, o.sim_script)
            self.endpoint = await scope.__aenter__()
        except BaseException:
            self.renderer.close()  # a live display may be running already
            raise
        self._endpoint_scope = scope
        self._stored = bool(self.conversation.items)  # a resumed conversation is saved even when emptied
        return self

    def make_runner(self, max_turns: int | None = None) -> Runner:
        """The agent runtime for this run (chat and voice), closed when the run ends."""
        from agentcli.runtime.runner import RunConfig, Runner

        agent = self.spec.entry_agent
        config = RunConfig(max_turns=max_turns or agent.max_turns or 10, approver=self.approver,
                           model=self.options.model, base_url=self.endpoint.base_url, api_key=self.endpoint.api_key,
                           accept_incomplete=self.options.accept_incomplete)
        try:
            runner = Runner(self.spec, config)
        except ToolError as e:
            raise UsageError(str(e)) from None
        self.on_close(runner.aclose)
        return runner

    def add_consumer(self, consumer: Consumer) -> None:
        self.fanout.consumers.append(consumer)

    def on_close(self, closer: Closer) -> None:
        """Call `closer` (sync or async) when the run ends, last registered first."""
        self._closers.append(closer)

    def start(self, agent: str, *, trace: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None) -> None:
        """Open the trace and announce the session. `trace` is metadata for the trace only. Raises
        StoreError when the conversation store cannot be used."""
        self._store_ready()
        o = self.options
        enabled, content = trace_settings(self.spec, o.no_trace, o.no_trace_content)
        self._recorder = open_trace(o.kind, self.spec, self.conversation.name, enabled, content,
                                    sim=bool(self.endpoint.sim), **(trace or {}))
        if self._recorder is not None:
            self.fanout.consumers.insert(1, self._recorder.on_event)
        self._started = True
        self.emit(ev.SessionStarted(kind=o.kind, agent=agent, session=self.conversation.name,
                                    metadata=metadata or {}))

    # -- while it runs -----------------------------------------------------------------------------------
    def emit(self, event: ev.Event) -> None:
        self.fanout.emit(event)

    def _store_ready(self) -> None:
        """Wait for the store's check (once); raises its StoreError."""
        checked, self._store_checked = self._store_checked, None
        if checked is not None:
            checked.result()

    def save(self) -> None:
        # a conversation that never got a turn in (a failed or aborted first turn) is not kept
        if not self.conversation.items and not self._stored:
            return
        self._store_ready()
        from agentcli.runtime.conversations import spec_identity

        self.store.save(self.conversation)
        self.store.record_spec(self.conversation.name, spec_identity(self.spec))
        self._stored = True

    def finish(self, status: str, error: str | None = None) -> None:
        """How the run ended, when the driver returns normally (exceptions are mapped in __aexit__)."""
        self.status, self.error = status, error

    # -- shutdown ----------------------------------------------------------------------------------------
    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is not None:
            self.status = "interrupted" if isinstance(exc, KeyboardInterrupt | asyncio.CancelledError) else "error"
            from agentcli.redact import redact_text

            self.error = redact_text(str(exc) or type(exc).__name__)  # a server may echo the key back
            if self.status == "error" and self._started:
                self.emit(ev.ErrorEvent(message=self.error, kind=self.error_kind or error_kind(exc),
                                       fatal=True))
        try:
            for closer in reversed(self._closers):
                with contextlib.suppress(Exception):
                    result = closer()
                    if inspect.isawaitable(result):
                        await result
            if self.conversation is not None and self.conversation.items:
                with contextlib.suppress(Exception):
                    self.save()
            if self._started:
                self.emit(ev.SessionEnded(status=self.status, error=self.error))
            if self._recorder is not None:
                self._recorder.close(self.status, self.error)
            self.renderer.close()
        finally:
            if self._endpoint_scope is not None:
                await self._endpoint_scope.__aexit__(exc_type, exc, tb)
        return False
