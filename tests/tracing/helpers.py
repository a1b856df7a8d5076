"""Feed synthetic event sequences to a recorder and read back what the store holds."""

from __future__ import annotations

from typing import Any

from agentcli import events as ev
from agentcli.tracing import open_recorder
from agentcli.tracing.query import load, resolve
from agentcli.tracing.store import TraceStore

T0 = 1_700_000_000.0


class Clock:
    """Deterministic timestamps: each call to `at(ms)` is T0 + ms."""

    @staticmethod
    def at(ms: float) -> float:
        return T0 + ms / 1000


def at(ms: float) -> float:
    return Clock.at(ms)


def of_turn(turn_id: str, *events: ev.Event) -> list[ev.Event]:
    """Events stamped with their turn, as voice and realtime stamp them (before its TurnStarted too)."""
    for event in events:
        event.turn_id = turn_id
    return list(events)


def record(
    events: list[ev.Event], *, close: tuple[str, str | None] | None = ("ok", None), **opts: Any
) -> dict[str, Any]:
    """Record events as one run; return the stored {trace, spans} document."""
    opts.setdefault("kind", "chat")
    opts.setdefault("workflow", "triage")
    trace_id = opts.pop("trace_id", None)
    recorder = open_recorder(**opts)
    assert recorder is not None
    if trace_id:
        recorder.trace_id = trace_id  # before the first event: tests may pick ids to share a prefix
    for event in events:
        recorder.on_event(event)
    if close is not None:
        recorder.close(*close)
    return stored(recorder.trace_id)


def stored(trace_id: str | None = None) -> dict[str, Any]:
    store = TraceStore.open_existing()
    assert store is not None
    try:
        return load(store, resolve(store, trace_id or "latest"))
    finally:
        store.close()


def shape(doc: dict[str, Any]) -> list[Any]:
    """The span tree as nested [kind, name, [children]] lists, children in start order."""
    spans = doc["spans"]
    by_parent: dict[str | None, list[dict[str, Any]]] = {}
    for s in spans:
        by_parent.setdefault(s["parent_id"], []).append(s)

    def build(parent: str | None) -> list[Any]:
        return [[s["kind"], s["name"], build(s["span_id"])] for s in by_parent.get(parent, [])]

    return build(None)


def find(doc: dict[str, Any], kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [s for s in doc["spans"] if s["kind"] == kind and (name is None or s["name"] == name)]
    assert len(matches) == 1, f"expected one {kind} {name or ''} span, got {len(matches)}"
    return matches[0]


def chat_turn(turn: int = 1, t: float = 0.0, text: str = "hi", answer: str = "hello") -> list[ev.Event]:
    """The events of one plain chat turn (12 events with deltas), starting t ms after T0."""
    return [
        ev.TurnStarted(ts=at(t), turn=turn, input=text, agent="triage"),
        ev.GuardrailChecked(ts=at(t + 1), agent="triage", name="no_secrets", stage="input", started=at(t + 0.5)),
        ev.AgentStarted(ts=at(t + 2), agent="triage"),
        ev.GenerationStarted(ts=at(t + 3), agent="triage", model="gpt-test"),
        ev.TextDelta(ts=at(t + 10), agent="triage", delta=answer[:2]),
        ev.TextDelta(ts=at(t + 11), agent="triage", delta=answer[2:]),
        ev.GenerationDone(
            ts=at(t + 20),
            agent="triage",
            model="gpt-test",
            output=answer,
            ttft_ms=7.0,
            usage=ev.Usage(input_tokens=30, output_tokens=5),
        ),
        ev.GuardrailChecked(ts=at(t + 21), agent="triage", name="no_numbers", stage="output", started=at(t + 20.5)),
        ev.AgentFinished(ts=at(t + 22), agent="triage"),
        ev.TurnDone(
            ts=at(t + 23),
            turn=turn,
            agent="triage",
            output=answer,
            usage=ev.Usage(input_tokens=30, output_tokens=5),
        ),
    ]
