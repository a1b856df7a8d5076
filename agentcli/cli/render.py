"""Renderers turn the event stream into output: plain text for pipes, JSON for machines, Rich on a TTY.
stdout carries only the answer (or JSON); status goes to stderr."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from agentcli import events as ev
from agentcli.app.approval import shorten
from agentcli.app.consumers import RendererBase
from agentcli.events import output_text
from agentcli.terminal_text import clean_event, json_inert

__all__ = ["JsonCollector", "JsonlRenderer", "PlainRenderer", "output_text", "status_line"]


def status_line(event: ev.Event) -> str | None:
    """A compact one-line description of a status event, or None for events that are not status."""
    if isinstance(event, ev.ToolCallStarted):
        return f"· {event.agent} → {event.name}({shorten(event.arguments, 80)})"
    if isinstance(event, ev.ToolCallFinished):
        if event.approved is False:
            return f"· {event.name}: not approved"
        if event.error:
            return f"· {event.name} failed: {shorten(event.error, 100)}"
        return None
    if isinstance(event, ev.Handoff):
        return f"· handoff {event.from_agent} → {event.to_agent}"
    if isinstance(event, ev.GuardrailChecked) and event.tripped:
        return f"· guardrail {event.name} tripped ({event.stage}): {event.message or ''}".rstrip(": ")
    if isinstance(event, ev.Retrying):
        return f"· retrying ({event.attempt}): {event.reason}"
    if isinstance(event, ev.Notice):
        return f"· {event.message}"
    if isinstance(event, ev.Interrupted):
        return f"· interrupted after {event.heard_ms:.0f} ms heard"
    return None


class PlainRenderer(RendererBase):
    """For pipes, NO_COLOR and scripts: the answer streams to stdout as plain text, status to stderr.
    When the answer may still change after streaming (output guardrails, output_type), it is held
    until the turn is done, so stdout never carries text that was then replaced."""

    def __init__(self, *, out: TextIO | None = None, err: TextIO | None = None, quiet: bool = False,
                 stream: bool = True, prompt_newline: bool = False) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.quiet = quiet
        self.stream = stream
        self._streamed = False
        self._ends_with_newline = True

    def __call__(self, event: ev.Event) -> None:
        event = clean_event(event)  # model, tool and server text: no escape sequences reach the terminal
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

    def hint(self, text: str) -> None:
        if not self.quiet:
            print(f"· {text}", file=self.err, flush=True)

    def cancelled(self) -> None:
        print("\n[cancelled]", file=self.err, flush=True)

    def _turn_done(self, event: ev.TurnDone) -> None:
        if event.status == "guardrail":
            print(f"agent: {event.error}", file=self.err, flush=True)
        elif event.status == "ok" and (not self._streamed or not self.stream):
            text = output_text(event.output)
            self.out.write(text + ("" if text.endswith("\n") else "\n"))
        elif self._streamed and not self._ends_with_newline:
            self.out.write("\n")
        self.out.flush()
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
