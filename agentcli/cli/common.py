"""Plumbing every run command shares: the spec argument, the model endpoint (real or simulated),
approvals, tracing, and running a coroutine with the right exit code. No heavy imports at module level."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from agentcli.errors import AgentCliError

if TYPE_CHECKING:
    from agentcli.events import Event
    from agentcli.spec.model import Spec


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr and an exit code; never a traceback."""
    import typer

    from agentcli.terminal_text import show_controls  # a server's or a tool's words may be in the message

    print(f"agent: error: {show_controls(message)}", file=sys.stderr)
    raise typer.Exit(code)




def load_spec_arg(spec_arg: str | None, *, stdin_text: str | None = None) -> Spec:
    """SPEC argument -> Spec: a path, `-` (stdin), or nothing ($AGENT_SPEC, else the built-in assistant).
    A broken spec prints every problem as `path:line:col: field: message` and exits 2."""
    from agentcli.errors import SpecError
    from agentcli.spec.loader import resolve_spec

    try:
        return resolve_spec(spec_arg, stdin_text=stdin_text)
    except SpecError as e:
        for line in e.problems:
            print(line, file=sys.stderr)
        import typer

        raise typer.Exit(2) from None


@dataclass
class Endpoint:
    """Where the model lives: overrides for the client (None = the spec's provider settings)."""

    base_url: str | None = None
    api_key: str | None = None
    sim: Any = None  # the in-process SimServer, when --sim


@asynccontextmanager
async def model_endpoint(sim: bool, sim_script: Path | None) -> AsyncIterator[Endpoint]:
    """With --sim (or --sim-script), start the embedded simulator on a free loopback port for this run."""
    if not (sim or sim_script):
        yield Endpoint()
        return
    from agentcli.sim.script import load_script
    from agentcli.sim.server import SimServer

    script = load_script(sim_script) if sim_script else None
    async with SimServer(script=script) as server:
        yield Endpoint(base_url=server.base_url, api_key="sim", sim=server)


def make_approver(yes: bool, ask: Callable[[str], Coroutine[Any, Any, str]] | None = None):
    """An approver for tools marked `approve: true`: --yes approves all; on a TTY ask; else refuse."""

    async def approve(name: str, arguments: str) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            print(
                f"agent: tool {name} needs approval and there is no terminal to ask: refused (use --yes)",
                file=sys.stderr,
            )
            return False
        from agentcli.terminal_text import show_controls  # the user must see what they approve, escapes too

        question = f"Run tool {name} with {show_controls(shorten(arguments, 200))}? [y/N] "
        if ask is not None:
            answer = await ask(question)
        else:
            answer = await asyncio.to_thread(_ask_stdin, question)
        return answer.strip().lower() in ("y", "yes")

    return approve


def _ask_stdin(question: str) -> str:
    print(question, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    return line


def shorten(text: str, limit: int = 120) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class EventFanout:
    """Hands every event to each consumer in order: renderer, --jsonl writer, trace recorder."""

    consumers: list[Callable[[Event], None]] = field(default_factory=list)

    def emit(self, event: Event) -> None:
        for consume in self.consumers:
            consume(event)


def trace_settings(spec: Spec, no_trace: bool, no_trace_content: bool) -> tuple[bool, bool]:
    """(enabled, content) from flags, env (AGENT_TRACE=0, AGENT_TRACE_CONTENT=0) and the spec."""
    agent = spec.entry_agent
    enabled = agent.tracing.enabled and not no_trace and os.environ.get("AGENT_TRACE", "1") != "0"
    content = (
        agent.tracing.content and not no_trace_content and os.environ.get("AGENT_TRACE_CONTENT", "1") != "0"
    )
    return enabled, content


def open_trace(kind: str, spec: Spec, session: str | None, enabled: bool, content: bool, **metadata: Any):
    """A trace recorder for this run, or None when tracing is off. Tracing never breaks a run."""
    if not enabled:
        return None
    try:
        from agentcli.tracing import open_recorder

        return open_recorder(
            kind=kind, workflow=spec.entry, group_id=session, content=content, metadata=metadata
        )
    except Exception as e:  # noqa: BLE001 - a broken trace store must not stop the user's run
        print(f"agent: warning: tracing is off for this run: {e}", file=sys.stderr)
        return None


def run_async(coro: Coroutine[Any, Any, int]) -> int:
    """Run the command's coroutine; map errors to one line + exit code, Ctrl-C to 130."""
    import typer

    try:
        code = asyncio.run(coro)
    except KeyboardInterrupt:
        print("agent: interrupted", file=sys.stderr)
        raise typer.Exit(130) from None
    except AgentCliError as e:
        fail(str(e), e.exit_code)
    if code:
        raise typer.Exit(code)
    return 0
