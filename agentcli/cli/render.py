"""Renderers turn the event stream into output: plain text for pipes, JSON for machines, Rich on a TTY.
stdout carries only the answer (or JSON); status goes to stderr."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from agentcli import events as ev
from agentcli.app.approval import shorten
from agentcli.app.consumers import RendererBase
from agentcli.events import output_text
from agentcli.terminal_text import clean_event, json_inert

if TYPE_CHECKING:
    from agentcli.cli.spinner import Spinner

__all__ = ["JsonCollector", "JsonlRenderer", "PlainRenderer", "output_text", "status_line"]


def status_line(event: ev.Event) -> str | None:
    """A compact one-line description of a status event, or None for events that are not status."""
    if isinstance(event, ev.ToolCallStarted):
        return f"· {event.agent} → {event.name}({shorten(event.arguments, 80)})"
    if isinstance(event, ev.ToolCallFinished):
        if event.approved is False:
            return f"· {event.name}: not approved"
        if event.cancelled:
            return f"· {event.name}: {shorten(event.error or 'cancelled', 100)}"
        if event.error:
            return f"· {event.name} failed: {shorten(event.error, 100)}"
        return None
    if isinstance(event, ev.Handoff):
        return f"· handoff {event.from_agent} → {event.to_agent}"
    if isinstance(event, ev.GuardrailChecked) and event.tripped:
        # the message itself is shown once: as the turn's error (input) or as the replaced answer (output)
        return f"· guardrail {event.name} tripped ({event.stage})"
    if isinstance(event, ev.Retrying):
        return f"· retrying ({event.attempt}): {event.reason}"
    if isinstance(event, ev.Notice):
        return f"· {event.message}"
    if isinstance(event, ev.Interrupted):
        return f"· interrupted after {event.heard_ms:.0f} ms heard"
    return None


async def ask_on_terminal(question: str, spinner: Spinner | None) -> str | None:
    """An approval question on stderr, answered by a line on stdin, with the spinner stopped meanwhile
    (it would draw over the question) and started again for the tool that then runs."""
    import asyncio

    if spinner is not None:
        spinner.stop()

    def read() -> str:
        print(question, end="", file=sys.stderr, flush=True)
        return sys.stdin.readline()

    answer = await asyncio.to_thread(read)
    if spinner is not None:
        spinner.start()
    return answer


def usage_line(event: ev.TurnDone) -> str:
    return f"{event.agent} · {event.usage.input_tokens}+{event.usage.output_tokens} tokens"


class PlainRenderer(RendererBase):
    """For pipes, NO_COLOR and scripts: the answer streams to stdout as plain text, status to stderr.
    When the answer may still change after streaming (output guardrails, output_type), it is held
    until the turn is done, so stdout never carries text that was then replaced."""

    def __init__(self, *, out: TextIO | None = None, err: TextIO | None = None, quiet: bool = False,
                 stream: bool = True, usage: bool = False, spinner: Spinner | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.quiet = quiet
        self.stream = stream
        self.usage = usage  # the REPL shows `agent · in+out tokens` after each answer, as the Rich view does
        self.spinner = spinner
        self._streamed = False
        self._ends_with_newline = True

    def __call__(self, event: ev.Event) -> None:
        event = clean_event(event)  # model, tool and server text: no escape sequences reach the terminal
        if self.spinner is not None:
            self._spin(event)
        if isinstance(event, ev.TextDelta) or (isinstance(event, ev.TranscriptDelta) and event.role == "assistant"):
            # realtime streams the answer as the assistant's audio transcript rather than text deltas
            if self.stream and event.delta:
                self.out.write(event.delta)
                self.out.flush()
                self._streamed = True
                self._ends_with_newline = event.delta.endswith("\n")
            return
        if isinstance(event, ev.GenerationDone) or (isinstance(event, ev.TranscriptDone) and event.role == "assistant"):
            # text before a tool call or handoff was a preamble; keep lines apart
            if self._streamed and not self._ends_with_newline:
                self.out.write("\n")
                self._ends_with_newline = True
            return
        if isinstance(event, ev.TurnDone):
            self._turn_done(event)
            return
        if isinstance(event, ev.ErrorEvent):
            if not event.fatal:  # a fatal error is printed once, by the CLI, as the run ends
                print(f"agent: error: {event.message}", file=self.err, flush=True)
            return
        if not self.quiet:
            line = status_line(event)
            if line:
                print(line, file=self.err, flush=True)
                self.after_status(event)

    def _spin(self, event: ev.Event) -> None:
        """The spinner runs while nothing is being written: from the start of a turn to its first output,
        and again after a status line (a tool running, a handoff) until the next output."""
        assert self.spinner is not None
        if isinstance(event, ev.TurnStarted):
            self.spinner.start()
        elif isinstance(event, ev.TurnDone | ev.ErrorEvent | ev.TextDelta | ev.TranscriptDelta):
            if not (isinstance(event, ev.TextDelta | ev.TranscriptDelta) and not event.delta):
                self.spinner.stop()
        elif status_line(event) is not None:
            self.spinner.stop()
        elif isinstance(event, ev.GenerationDone) and self._streamed:
            self.spinner.stop()

    def after_status(self, event: ev.Event) -> None:
        if self.spinner is not None and isinstance(event, ev.ToolCallStarted | ev.Handoff | ev.Retrying):
            self.spinner.start(f"{event.name}…" if isinstance(event, ev.ToolCallStarted) else "thinking…")

    def hint(self, text: str) -> None:
        if not self.quiet:
            print(f"· {text}", file=self.err, flush=True)

    @property
    def can_ask(self) -> bool:  # type: ignore[override]
        return self.spinner is not None  # a terminal's renderer: the spinner must not draw over a question

    async def ask(self, question: str) -> str | None:
        return await ask_on_terminal(question, self.spinner)

    def cancelled(self) -> None:
        if self.spinner is not None:
            self.spinner.stop()
        # on a line of its own: the terminal may have echoed ^C after the partial answer
        print("\n[cancelled]", file=self.err, flush=True)

    def close(self) -> None:
        if self.spinner is not None:
            self.spinner.stop()

    def _turn_done(self, event: ev.TurnDone) -> None:
        if event.status == "guardrail":
            print(f"agent: {event.error}", file=self.err, flush=True)
        elif event.status == "ok" and (not self._streamed or not self.stream):
            text = output_text(event.output)
            self.out.write(text + ("" if text.endswith("\n") else "\n"))
        elif self._streamed and not self._ends_with_newline:
            self.out.write("\n")
        self.out.flush()
        if self.usage and not self.quiet and (event.usage.input_tokens or event.usage.output_tokens):
            print(usage_line(event), file=self.err, flush=True)
        self._streamed = False
        self._ends_with_newline = True


class JsonlRenderer(RendererBase):
    """--jsonl: every event as one JSON object per line, flushed as it happens."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def __call__(self, event: ev.Event) -> None:
        self.out.write(json_inert(json.dumps(event.to_dict(), ensure_ascii=False, default=str)) + "\n")
        self.out.flush()


class JsonCollector:
    """--json: one object at the end of the turn: output, agent, tool calls, usage."""

    def __init__(self, session: str | None = None) -> None:
        self.session = session
        self.tool_calls: list[dict[str, Any]] = []
        self.handoffs: list[dict[str, str]] = []
        self.result: dict[str, Any] | None = None
        self._pending: dict[str, dict[str, Any]] = {}

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.ToolCallStarted):
            call = {"call_id": event.call_id, "agent": event.agent, "name": event.name,
                    "arguments": _maybe_json(event.arguments)}
            self._pending[event.call_id] = call
            self.tool_calls.append(call)
        elif isinstance(event, ev.ToolCallFinished):
            call = self._pending.pop(event.call_id, None)
            if call is not None:
                call.update(output=event.output, error=event.error, approved=event.approved)
        elif isinstance(event, ev.Handoff):
            self.handoffs.append({"from": event.from_agent, "to": event.to_agent})
        elif isinstance(event, ev.TurnDone):
            self.result = {
                "output": event.output,
                "agent": event.agent,
                "status": event.status,
                "error": event.error,
                "tool_calls": self.tool_calls,
                "handoffs": self.handoffs,
                "usage": {"input_tokens": event.usage.input_tokens,
                          "output_tokens": event.usage.output_tokens},
                "session": self.session,
            }

    def write(self, out: TextIO | None = None) -> None:
        out = out or sys.stdout
        out.write(json_inert(json.dumps(self.result or {"status": "error"}, ensure_ascii=False, default=str)) + "\n")
        out.flush()


class JsonRenderer(RendererBase):
    """--json: errors as lines on stderr while the turn runs, then the one JSON object on stdout."""

    def __init__(self, session: str | None = None) -> None:
        self.collector = JsonCollector(session)
        self.errors = PlainRenderer(out=_Discard(), quiet=True, stream=False)

    def __call__(self, event: ev.Event) -> None:
        self.collector(event)
        self.errors(event)

    def write(self) -> None:
        self.collector.write()


class _Discard:
    def write(self, _: str) -> int:
        return 0

    def flush(self) -> None:
        pass


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return text
