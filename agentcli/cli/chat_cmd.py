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
    accept_incomplete: bool = False


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
    accept_incomplete: bool = typer.Option(False, "--accept-incomplete",
                                           help="An answer cut short (output limit, filter) still exits 0."),
) -> None:
    from agentcli.cli.common import fail, load_spec_arg, run_async
    from agentcli.input_text import read_stdin_text, repaired

    if json_out and jsonl:
        fail("--json and --jsonl go one at a time", 2)
    if session and resume_latest:
        fail("--session and --continue go one at a time", 2)
    stdin_text: str | None = None
    spec_text: str | None = None
    if spec == "-":
        if message is None:
            fail("`-` reads the spec from stdin, so give the message with -m", 2)
        spec_text = read_stdin_text()
    elif not sys.stdin.isatty():
        stdin_text = read_stdin_text()
    loaded = load_spec_arg(spec, stdin_text=spec_text)
    text = repaired(_one_shot_text(stdin_text, message))  # invalid UTF-8: replacement characters, one notice
    if text is None and not sys.stdin.isatty():
        fail("no input: pipe a message in or give one with -m", 2)
    opts = ChatOptions(message=text, model=model, session=session, resume_latest=resume_latest, yes=yes,
                       max_turns=max_turns, sim=sim, sim_script=sim_script, quiet=quiet,
                       json_out=json_out, jsonl=jsonl, no_trace=no_trace, no_trace_content=no_trace_content,
                       accept_incomplete=accept_incomplete)
    run_async(_chat(loaded, opts))


def _one_shot_text(stdin_text: str | None, message: str | None) -> str | None:
    """Stdin then message, joined; None when there is neither (REPL)."""
    parts = [p for p in (stdin_text.strip() if stdin_text else None, message) if p]
    return "\n\n".join(parts) if parts else None


async def _chat(spec: Spec, opts: ChatOptions) -> int:
    from agentcli.app.chat import chat_turn
    from agentcli.app.run import Run, RunOptions

    renderer = _renderer(spec, opts)
    options = RunOptions(kind="chat", session=opts.session, resume_latest=opts.resume_latest, sim=opts.sim,
                         sim_script=opts.sim_script, yes=opts.yes, model=opts.model, no_trace=opts.no_trace,
                         no_trace_content=opts.no_trace_content, accept_incomplete=opts.accept_incomplete)
    async with Run(spec, options, renderer) as run:
        if opts.json_out:
            renderer.collector.session = run.conversation.name
        runner = run.make_runner(opts.max_turns)
        await runner.start_mcp()  # a server that cannot start is one line and exit 1, before any turn
        runner.warm_up(run.conversation.agent)
        run.start(run.conversation.agent, trace={"model": opts.model or spec.entry_agent.model})
        if opts.message is None:
            from agentcli.cli.repl import Repl

            await Repl(run, runner).run()
            return 0
        done = await chat_turn(run, runner, opts.message)
        if opts.json_out:
            renderer.write()
        if done.status != "ok":
            run.finish("error", done.error)
            return 1
        return 0


def _renderer(spec: Spec, opts: ChatOptions) -> Any:
    """The renderer for this run: --jsonl, --json, Rich in a colour REPL, else plain text."""
    from agentcli.app.run import holds_answer
    from agentcli.cli.render import JsonlRenderer, JsonRenderer, PlainRenderer
    from agentcli.cli.term import color_allowed

    if opts.jsonl:
        return JsonlRenderer()
    if opts.json_out:
        return JsonRenderer()
    if opts.message is None and color_allowed(sys.stdout):
        from agentcli.cli.rich_view import RichRenderer

        return RichRenderer(quiet=opts.quiet)
    return PlainRenderer(quiet=opts.quiet, stream=not holds_answer(spec))
