"""`agent chat [SPEC]`: a REPL on a terminal, one turn on a pipe or with -m."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from agentcli.spec.model import Spec

HELP = """Chat with an agent in text.

On a terminal with no message: a REPL (/help inside). With -m MESSAGE, or input on a pipe, one turn:
the answer alone on stdout, status on stderr. SPEC defaults to $AGENT_SPEC, else a built-in assistant;
`-` reads the spec from stdin (then give the message with -m).

Examples: agent chat agent_specs/weather.yaml --sim -m "weather in Paris?"
          echo "summarise: $(cat notes.txt)" | agent chat --json"""


@dataclass
class ChatOptions:
    message: str | None
    model: str | None
    session: str | None
    resume_latest: bool
    yes: bool
    max_turns: int | None
    sim: bool
    sim_script: Path | None
    quiet: bool
    json_out: bool
    jsonl: bool
    no_trace: bool
    no_trace_content: bool


def chat(
    spec: str | None = typer.Argument(None, help="Spec file, `-` for stdin; default $AGENT_SPEC or built-in."),
    message: str | None = typer.Option(None, "--message", "-m", help="Send one message and exit."),
    model: str | None = typer.Option(None, "--model", help="Override the entry agent's model."),
    session: str | None = typer.Option(None, "--session", "-s", help="Resume (or start) a named conversation."),
    resume_latest: bool = typer.Option(False, "--continue", "-c", help="Continue the latest conversation."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Approve every tool that asks for approval."),
    max_turns: int | None = typer.Option(None, "--max-turns", min=1, help="Model calls per turn (default 10)."),
    sim: bool = typer.Option(False, "--sim", help="Talk to the embedded simulator instead of a server."),
    sim_script: Path | None = typer.Option(None, "--sim-script", help="Simulator script (implies --sim)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No status lines on stderr."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object: output, agent, tool calls, usage."),
    jsonl: bool = typer.Option(False, "--jsonl", help="The event stream, one JSON object per line."),
    no_trace: bool = typer.Option(False, "--no-trace", help="Do not record a trace of this run."),
    no_trace_content: bool = typer.Option(False, "--no-trace-content", help="Trace timings and shapes only."),
) -> None:
    from agentcli.cli.common import fail, load_spec_arg, run_async

    if json_out and jsonl:
        fail("--json and --jsonl go one at a time", 2)
    if session and resume_latest:
        fail("--session and --continue go one at a time", 2)
    stdin_text: str | None = None
    spec_text: str | None = None
    if spec == "-":
        if message is None:
            fail("`-` reads the spec from stdin, so give the message with -m", 2)
        spec_text = sys.stdin.read()
    elif not sys.stdin.isatty():
        stdin_text = sys.stdin.read()
    loaded = load_spec_arg(spec, stdin_text=spec_text)
    text = _one_shot_text(stdin_text, message)
    if text is None and not sys.stdin.isatty():
        fail("no input: pipe a message in or give one with -m", 2)
    opts = ChatOptions(message=text, model=model, session=session, resume_latest=resume_latest, yes=yes,
                       max_turns=max_turns, sim=sim, sim_script=sim_script, quiet=quiet,
                       json_out=json_out, jsonl=jsonl, no_trace=no_trace, no_trace_content=no_trace_content)
    run_async(_chat(loaded, opts))


def _one_shot_text(stdin_text: str | None, message: str | None) -> str | None:
    """Stdin then message, joined; None when there is neither (REPL)."""
    parts = [p for p in (stdin_text.strip() if stdin_text else None, message) if p]
    return "\n\n".join(parts) if parts else None


async def _chat(spec: Spec, opts: ChatOptions) -> int:
    import asyncio

    from agentcli import events as ev
    from agentcli.cli.common import EventFanout, make_approver, model_endpoint, open_trace, trace_settings
    from agentcli.errors import ToolError, UsageError
    from agentcli.runtime.runner import RunConfig, Runner
    from agentcli.runtime.sessions import SessionStore

    store = SessionStore()
    conversation = store.open_or_start(spec, opts.session, kind="chat", latest=opts.resume_latest)
    renderer, finish = _renderers(spec, opts, conversation.name)
    trace_on, content = trace_settings(spec, opts.no_trace, opts.no_trace_content)
    ask = getattr(renderer, "ask", None)
    async with model_endpoint(opts.sim, opts.sim_script) as endpoint:
        max_turns = opts.max_turns or spec.entry_agent.max_turns or 10
        config = RunConfig(max_turns=max_turns, approver=make_approver(opts.yes, ask), model=opts.model,
                           base_url=endpoint.base_url, api_key=endpoint.api_key)
        try:
            runner = Runner(spec, config)
        except ToolError as e:
            raise UsageError(str(e)) from None
        runner.warm_up(conversation.agent)
        recorder = open_trace("chat", spec, conversation.name, trace_on, content,
                              sim=bool(endpoint.sim), model=opts.model or spec.entry_agent.model)
        fanout = EventFanout([renderer] + ([recorder.on_event] if recorder else []))
        fanout.emit(ev.SessionStarted(kind="chat", agent=conversation.agent, session=conversation.name))
        status, error = "ok", None
        try:
            if opts.message is not None:
                done = await _one_turn(runner, conversation, opts.message, fanout, store)
                finish()
                status, error = ("ok", None) if done.status == "ok" else ("error", done.error)
                return 0 if done.status == "ok" else 1
            from agentcli.cli.repl import Repl

            await Repl(runner, conversation, fanout, renderer, store, spec).run()
            return 0
        except BaseException as e:
            status = "interrupted" if isinstance(e, (KeyboardInterrupt, asyncio.CancelledError)) else "error"
            error = str(e) or type(e).__name__
            raise
        finally:
            fanout.emit(ev.SessionEnded(status=status, error=error))
            if recorder:
                recorder.close(status, error)


async def _one_turn(runner: Any, conversation: Any, text: str, fanout: Any, store: Any) -> Any:
    """Run one user turn through the fan-out; save the conversation; return the TurnDone event."""
    from agentcli import events as ev

    done: ev.TurnDone | None = None
    async for event in runner.run_turn(conversation, text):
        fanout.emit(event)
        if isinstance(event, ev.TurnDone):
            done = event
    store.save(conversation)
    assert done is not None, "the runner always ends a turn with TurnDone"
    return done


def _renderers(spec: Spec, opts: ChatOptions, session: str | None) -> tuple[Any, Any]:
    """The renderer for this run, and a function to call once the one-shot turn is over."""
    from agentcli.cli.render import JsonCollector, JsonlRenderer, PlainRenderer
    from agentcli.cli.term import color_allowed

    if opts.jsonl:
        return JsonlRenderer(), lambda: None
    if opts.json_out:
        collector = JsonCollector(session)
        errors = PlainRenderer(out=_Discard(), quiet=True, stream=False)

        def both(event: Any) -> None:
            collector(event)
            errors(event)

        return both, collector.write
    # the answer may change after it streamed: hold it back so stdout only carries the final text
    replaceable = any(a.output_guardrails or a.output_type for a in spec.agents.values())
    if opts.message is None and color_allowed(sys.stdout):
        from agentcli.cli.rich_view import RichRenderer

        return RichRenderer(quiet=opts.quiet), lambda: None
    return PlainRenderer(quiet=opts.quiet, stream=not replaceable), lambda: None


class _Discard:
    def write(self, _: str) -> int:
        return 0

    def flush(self) -> None:
        pass
