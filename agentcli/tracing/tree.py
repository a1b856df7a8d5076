"""Turn a run's event stream into spans: pure bookkeeping, no I/O. A SpanSink receives each span as it ends.

Nesting: turn > agent > generation | function | handoff; input guardrails under the turn, output guardrails
under the agent; user_speech, end_of_turn (the wait from the end of the user's speech until the turn was
known to be over), transcription, speech, realtime_response and interruption under the turn.
Which turn is the event's `turn_id`: voice and realtime stamp every event of a turn, those before its
TurnStarted (the user's speech, its transcription) and after its TurnDone (speech still playing, an
interruption) too. Spans of a turn that has not started yet wait for its TurnStarted, which adopts them
(the turn then starts when the earliest of them began); if it never starts (nothing was heard) they go
to the root once a later turn starts, or at the end. Events of no turn attach to the open turn, if any,
else to the trace root.
A finished `transfer_to_*` tool call followed by a Handoff becomes the handoff span (with the call's
timing); a Handoff with no such call is an instant span. ErrorEvent marks every open span error.
A ToolCallFinished with `cancelled` (taken back by the model, or cut off with its turn: chat and voice
send one before the interrupted TurnDone) ends its span as interrupted, with what was still open of its
sub-run. A call still running when its turn ended as interrupted ends with it (status interrupted); its
late ToolCallFinished (a realtime call runs on past a typed line) amends that span with its output.
A SubAgentEvent (an `agent:` tool's sub-run) feeds a child tree whose spans hang under that tool call.
"""

from __future__ import annotations

from typing import Any

from agentcli.events import Event
from agentcli.tracing.spans import SpanRecord, SpanSink

_QUIET = frozenset({"text_delta", "transcript_delta", "state", "turn_latency", "notice", "retrying", "user_speech"})


class SpanTree:
    def __init__(self, sink: SpanSink) -> None:
        self.sink = sink
        self._open: dict[str, SpanRecord] = {}  # span_id -> open span, in start order
        self._turn: SpanRecord | None = None
        self._last_turn: SpanRecord | None = None
        self._agent: SpanRecord | None = None
        self._generations: dict[str, SpanRecord] = {}  # by agent name
        self._calls: dict[str, SpanRecord] = {}  # by call_id
        self._cut_calls: dict[str, SpanRecord] = {}  # by call_id: calls ended with their interrupted turn
        self._turns: dict[str, SpanRecord] = {}  # by turn_id: the turns started (open or ended), latest last
        self._waiting: dict[str, list[SpanRecord]] = {}  # by turn_id: ended spans of turns not started yet
        self._held_transfer: SpanRecord | None = None
        self._children: dict[str, SpanTree] = {}  # by call_id: agent tools' sub-runs

    def feed(self, event: Event) -> None:
        etype = event.type
        if etype not in _QUIET and self._held_transfer is not None and etype != "handoff":
            self._release_transfer()
        handler = getattr(self, "_on_" + etype, None)
        if handler is not None:
            handler(event)

    def finish(self, ts: float, status: str) -> None:
        """End everything still open (at ts; as errors unless the run ended ok)."""
        for child in self._children.values():
            child.finish(ts, status)
        self._children.clear()
        self._release_transfer()
        self._flush_waiting(None)
        for span in reversed(list(self._open.values())):
            if status != "ok":
                span.fail(f"not finished: the run ended ({status})")
            self._end_one(span, ts)
        self._release_transfer()

    def interrupt_open(self, message: str) -> None:
        """Mark everything still open (sub-runs' too) as interrupted; `finish` then ends it."""
        for child in self._children.values():
            child.interrupt_open(message)
        for span in self._open.values():
            span.interrupt(message)

    # --- bookkeeping --------------------------------------------------------------------------------

    def _open_span(
        self, kind: str, name: str, start: float, parent: SpanRecord | None, data: dict[str, Any]
    ) -> SpanRecord:
        span = SpanRecord(kind, name, start, parent.span_id if parent else None, data)
        self._open[span.span_id] = span
        return span

    def _end(self, span: SpanRecord, ts: float, error: str | None = None, failed: bool = False) -> None:
        """End a span and, first, any span still open under it (deepest first)."""
        for other in reversed(list(self._open.values())):
            if other is not span and self._is_under(other, span):
                if failed:
                    other.fail(f"not finished when its {span.kind} failed")
                self._end_one(other, ts)
        if failed:
            span.fail(error)
        self._end_one(span, ts)

    def _is_under(self, span: SpanRecord, ancestor: SpanRecord) -> bool:
        parent_id = span.parent_id
        while parent_id is not None:
            if parent_id == ancestor.span_id:
                return True
            parent = self._open.get(parent_id)
            parent_id = parent.parent_id if parent else None
        return False

    def _end_one(self, span: SpanRecord, ts: float) -> None:
        self._open.pop(span.span_id, None)
        if self._turn is span:
            self._turn, self._last_turn = None, span
        if self._agent is span:
            self._agent = None
        for table in (self._generations, self._calls):
            for key, value in list(table.items()):
                if value is span:
                    del table[key]
        span.end = max(ts, span.start)
        if span.kind == "function" and span.name.startswith("transfer_to_") and span.status == "ok":
            self._release_transfer()
            self._held_transfer = span  # becomes the handoff span if a Handoff comes next
            return
        self.sink.span_ended(span)

    def _release_transfer(self) -> None:
        held, self._held_transfer = self._held_transfer, None
        if held is not None:
            self.sink.span_ended(held)

    def _flush_waiting(self, before: str | None) -> None:
        """Write at the root the waiting spans of turns that will not start: all of them (`before` None),
        or those of turns that began before turn `before` (ids count up; a turn starts after earlier ones)."""
        for turn_id in list(self._waiting):
            if before is None or _number(turn_id) < _number(before):
                for span in self._waiting.pop(turn_id):
                    self.sink.span_ended(span)

    def _turn_of(self, ev: Any) -> SpanRecord | None:
        """The turn span an event belongs to, when that turn has started; else the open turn (an event of
        no turn, or of a turn still to start)."""
        turn_id = getattr(ev, "turn_id", None)
        return self._turns.get(turn_id, self._turn) if turn_id is not None else self._turn

    def _place(self, span: SpanRecord, ev: Any) -> None:
        """Write a finished span of the event's turn: under the turn if it has started (open or ended), kept
        for its TurnStarted if it has not; an event of no turn: under the open turn, else at the root."""
        turn_id = getattr(ev, "turn_id", None)
        if turn_id is not None and turn_id not in self._turns:
            self._waiting.setdefault(turn_id, []).append(span)
            return
        parent = self._turn_of(ev)
        span.parent_id = parent.span_id if parent is not None else None
        self.sink.span_ended(span)

    def _innermost(self) -> SpanRecord | None:
        return next(reversed(self._open.values())) if self._open else None

    def _instant(self, kind: str, name: str, start: float, ts: float, parent: SpanRecord | None,
                 data: dict[str, Any], error: str | None = None) -> None:
        span = SpanRecord(kind, name, min(start, ts), parent.span_id if parent else None, data)
        span.end = ts
        if error is not None:
            span.fail(error)
        self.sink.span_ended(span)

    def _turn_instant(self, kind: str, name: str, start: float, ev: Any, data: dict[str, Any],
                      error: str | None = None) -> None:
        """A span of the event's turn (placed by `_place`), from `start` to the event."""
        span = SpanRecord(kind, name, min(start, ev.ts), None, data)
        span.end = ev.ts
        if error is not None:
            span.fail(error)
        self._place(span, ev)

    # --- event handlers (one per event type; types with no handler add nothing) ----------------------

    def _on_turn_started(self, ev: Any) -> None:
        if self._turn is not None:  # a turn never ended: close it where the next begins
            self._end(self._turn, ev.ts)
        number = _turn_number(ev)
        data = {"turn": number, "input": ev.input, "agent": ev.agent}
        turn = self._turn = self._open_span("turn", f"turn {number}", ev.ts, None, data)
        if ev.turn_id is None:
            return
        self._flush_waiting(ev.turn_id)  # earlier turns that never started (nothing was heard)
        self._turns[ev.turn_id] = turn
        if len(self._turns) > 16:  # late events come within a turn or two
            del self._turns[next(iter(self._turns))]
        for span in self._waiting.pop(ev.turn_id, []):  # its speech, transcription, ... told before it began
            span.parent_id = turn.span_id
            turn.start = min(turn.start, span.start)
            self.sink.span_ended(span)

    def _on_turn_done(self, ev: Any) -> None:
        number = _turn_number(ev)
        turn = self._turn or self._open_span("turn", f"turn {number}", ev.ts, None, {"turn": number})
        turn.data.update(
            agent=ev.agent or turn.data.get("agent"), output=ev.output, input_tokens=ev.usage.input_tokens,
            output_tokens=ev.usage.output_tokens, outcome=ev.status,
        )
        if ev.interrupted:
            turn.data["interrupted"] = True
        if ev.status == "interrupted":  # cancelled: the turn and what was still open under it
            for span in [turn, *(s for s in self._open.values() if self._is_under(s, turn))]:
                span.interrupt(ev.error or "interrupted")
                if span.kind == "function":
                    self._cut_calls[str(span.data.get("call_id"))] = span
            while len(self._cut_calls) > 16:  # a call cancelled with its turn never reports
                del self._cut_calls[next(iter(self._cut_calls))]
        self._end(turn, ev.ts, ev.error, failed=ev.status == "error")

    def _on_agent_started(self, ev: Any) -> None:
        if self._agent is not None:  # the runtime moved on without finishing it (e.g. after a handoff)
            self._end(self._agent, ev.ts)
        self._agent = self._open_span("agent", ev.agent, ev.ts, self._turn, {"agent": ev.agent})

    def _on_agent_finished(self, ev: Any) -> None:
        agent = self._agent
        if agent is not None and (agent.name == ev.agent or not ev.agent):
            self._end(agent, ev.ts, ev.error, failed=ev.status == "error")

    def _on_generation_started(self, ev: Any) -> None:
        previous = self._generations.get(ev.agent)
        if previous is not None:
            self._end(previous, ev.ts)
        data = {"agent": ev.agent, "model": ev.model}
        self._generations[ev.agent] = self._open_span(
            "generation", ev.model or "model", ev.ts, self._agent or self._turn, data
        )

    def _on_generation_done(self, ev: Any) -> None:
        span = self._generations.get(ev.agent) or self._open_span(
            "generation", ev.model or "model", ev.ts, self._agent or self._turn, {"agent": ev.agent}
        )
        if ev.model:
            span.name = span.data["model"] = ev.model
        span.data.update(input_tokens=ev.usage.input_tokens, output_tokens=ev.usage.output_tokens,
                         ttft_ms=ev.ttft_ms, output=ev.output)
        self._end(span, ev.ts, ev.error, failed=ev.status == "error")

    def _on_retrying(self, ev: Any) -> None:
        target = next(iter(self._generations.values()), None) or self._innermost()
        if target is not None:
            retry = {"attempt": ev.attempt, "reason": ev.reason, "ts": ev.ts}
            target.data.setdefault("retries", []).append(retry)

    def _on_tool_call_started(self, ev: Any) -> None:
        data = {"agent": ev.agent, "call_id": ev.call_id, "tool": ev.name, "arguments": ev.arguments}
        if getattr(ev, "server", None):
            data["mcp_server"] = ev.server
        self._calls[ev.call_id] = self._open_span("function", ev.name, ev.ts, self._agent or self._turn, data)

    def _on_tool_call_finished(self, ev: Any) -> None:
        span = self._calls.get(ev.call_id)
        cut = self._cut_calls.pop(ev.call_id, None)
        if span is None and cut is not None:  # its turn was cut off first (a realtime call runs on): amend it
            cut.data.update(output=ev.output, approved=ev.approved)
            self.sink.span_amended(cut)
            return
        if span is None:
            data = {"agent": ev.agent, "call_id": ev.call_id, "tool": ev.name}
            span = self._open_span("function", ev.name, ev.ts, self._agent or self._turn, data)
        span.data.update(output=ev.output, approved=ev.approved)
        cancelled = getattr(ev, "cancelled", False)  # taken back by the model, or cut off with its turn
        child = self._children.pop(ev.call_id, None)
        if child is not None:
            if cancelled:  # the sub-run's model call or agent still open stopped with it
                child.interrupt_open(ev.error or "cancelled")
            child.finish(ev.ts, "ok")
        if cancelled:  # stopped, not failed
            span.interrupt(ev.error or "cancelled")
        self._end(span, ev.ts, ev.error, failed=bool(ev.error) and span.status != "interrupted")

    def _on_sub_agent_event(self, ev: Any) -> None:
        child = self._children.get(ev.call_id)
        if child is None:
            child = self._children[ev.call_id] = SpanTree(self.sink)
            child._turn = self._calls.get(ev.call_id)  # its spans nest under the call, as under a turn
        if ev.event is not None:
            child.feed(ev.event)

    def _on_handoff(self, ev: Any) -> None:
        data = {"from": ev.from_agent, "to": ev.to_agent}
        name = f"{ev.from_agent} -> {ev.to_agent}"
        held, self._held_transfer = self._held_transfer, None
        if held is None:  # the transfer call may still be open: the Handoff came before its result
            call = next((c for c in self._calls.values() if c.name.startswith("transfer_to_")), None)
            if call is not None:
                self._end(call, ev.ts)
                held, self._held_transfer = self._held_transfer, None
        if held is not None:
            held.kind, held.name = "handoff", name
            held.data = {**data, "call_id": held.data.get("call_id")}
            self.sink.span_ended(held)
            return
        self._instant("handoff", name, ev.ts, ev.ts, self._agent or self._turn, data)

    def _on_guardrail_checked(self, ev: Any) -> None:
        data = {"agent": ev.agent, "stage": ev.stage, "tripped": ev.tripped, "message": ev.message}
        start = ev.started if ev.started is not None else ev.ts
        if ev.stage == "output" and self._agent is not None:
            self._instant("guardrail", ev.name or "guardrail", start, ev.ts, self._agent, data)
        else:  # an input guardrail, or a realtime answer's (no agent span): under the turn
            self._turn_instant("guardrail", ev.name or "guardrail", start, ev, data)

    def _on_error(self, ev: Any) -> None:
        if not self._open:
            self.sink.trace_error(ev.message)
        for span in self._open.values():
            span.fail(ev.message)
            span.data.setdefault("error_kind", ev.kind)

    def _on_notice(self, ev: Any) -> None:
        notice = {"message": ev.message, "level": ev.level, "ts": ev.ts}
        target = self._innermost()
        if target is None:
            self.sink.trace_notice(notice)
        else:
            target.data.setdefault("notices", []).append(notice)

    def _on_turn_latency(self, ev: Any) -> None:
        waiting = self._waiting.get(ev.turn_id) if ev.turn_id is not None else None
        if waiting:  # a voice turn that ended before it began (nothing heard): on its last span
            waiting[-1].data.setdefault("latency", {}).update(ev.marks)
            return
        turn = self._turn_of(ev)
        if turn is None and ev.turn_id is None:
            turn = self._last_turn
        if turn is None:
            return
        turn.data.setdefault("latency", {}).update(ev.marks)
        if turn.end is not None:  # usually comes just after the turn ended: amend it
            self.sink.span_amended(turn)

    def _on_transcript_done(self, ev: Any) -> None:
        start = ev.started if ev.started is not None else ev.ts
        data = {"role": ev.role, "model": ev.model, "text": ev.text, "audio_ms": ev.audio_ms}
        self._turn_instant("transcription", ev.model or "transcription", start, ev, data)

    def _on_user_speech(self, ev: Any) -> None:
        """The user's speech, then the wait until the end of the turn was known: spans of its turn (which
        starts later); a speech that makes no turn stays at the root."""
        if ev.started is None or ev.ended is None:
            return
        data = {"audio_ms": round(max(0.0, ev.end_ms - ev.start_ms), 1)}
        spoken = SpanRecord("user_speech", "user", min(ev.started, ev.ended), None, data)
        spoken.end = ev.ended
        self._place(spoken, ev)
        if ev.detected is not None:
            verdict = {"end_of_turn": ev.end_of_turn, "turn_model_p": ev.turn_model_p}  # hands-free only
            wait = SpanRecord("end_of_turn", "wait", ev.ended, None, verdict)
            wait.end = max(ev.ended, ev.detected)
            self._place(wait, ev)

    def _on_speech_done(self, ev: Any) -> None:
        start = ev.started if ev.started is not None else ev.ts
        data = {"text": ev.text, "model": ev.model, "voice": ev.voice, "chars": ev.chars,
                "audio_ms": ev.audio_ms, "first_byte_ms": ev.first_byte_ms, "outcome": ev.status}
        error = "speech failed" if ev.status == "error" else None
        self._turn_instant("speech", ev.voice or ev.model or "speech", start, ev, data, error)

    def _on_realtime_response_done(self, ev: Any) -> None:
        start = ev.started if ev.started is not None else ev.ts
        data = {"response_id": ev.response_id, "outcome": ev.status, "input_tokens": ev.usage.input_tokens,
                "output_tokens": ev.usage.output_tokens, "first_delta_ms": ev.first_delta_ms,
                "transcript": ev.transcript}
        error = "response failed" if ev.status == "failed" else None
        name = ev.response_id or "response"
        self._turn_instant("realtime_response", name, start, ev, data, error)

    def _on_interrupted(self, ev: Any) -> None:
        data = {"heard_ms": ev.heard_ms, "heard_text": ev.heard_text, "item_id": ev.item_id}
        if ev.speech_started is not None and ev.silenced is not None:  # the barge-in latency
            data["silenced_ms"] = round(max(0.0, ev.silenced - ev.speech_started) * 1000, 1)
        self._turn_instant("interruption", "interruption", ev.ts, ev, data)


def _number(turn_id: str) -> int:
    return int(turn_id) if turn_id.isdigit() else 0


def _turn_number(ev: Any) -> int:
    """The run's turn number (turn_id, which never restarts within a run), else the conversation's."""
    return int(ev.turn_id) if ev.turn_id and ev.turn_id.isdigit() else ev.turn
