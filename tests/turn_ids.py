"""The turn ids of a run's events (issue 9): every event between SessionStarted and SessionEnded that
belongs to a turn carries its turn's id, those that come before its TurnStarted too, and ids never
restart; every turn that started ends with exactly one TurnDone (a cancelled one: status interrupted), and
every tool call that started with exactly one ToolCallFinished (a cut-off one: cancelled).
Shared by the realtime and voice tests; works on events and on --jsonl dicts alike."""

from __future__ import annotations

from typing import Any

# events that are always part of a turn; `state` is too when the user's speech or the answer moves it
TURN_EVENTS = frozenset({
    "turn_started", "turn_done", "turn_latency", "user_speech", "transcript_delta", "transcript_done",
    "agent_started", "agent_finished", "generation_started", "generation_done", "text_delta",
    "tool_call_started", "tool_call_finished", "handoff", "guardrail_checked", "speech_done", "interrupted",
    "playback_paused", "playback_resumed", "realtime_response_done",
})
TURN_STATES = frozenset({"hearing", "thinking", "speaking"})


def _get(event: Any, key: str) -> Any:
    return event.get(key) if isinstance(event, dict) else getattr(event, key, None)


def in_session(events: list[Any]) -> list[Any]:
    """The events between SessionStarted and SessionEnded (all of them when there are none)."""
    types = [_get(e, "type") for e in events]
    start = types.index("session_started") + 1 if "session_started" in types else 0
    end = types.index("session_ended") if "session_ended" in types else len(events)
    return events[start:end]


def check_turn_ids(events: list[Any]) -> list[str]:
    """Assert the ids; return each turn's id in the order the turns started."""
    session = in_session(events)
    missing = [
        (_get(e, "type"), _get(e, "state"))
        for e in session
        if _get(e, "turn_id") is None
        and (_get(e, "type") in TURN_EVENTS or (_get(e, "type") == "state" and _get(e, "state") in TURN_STATES))
    ]
    assert not missing, f"events of a turn with no turn_id: {missing}"
    started = [str(_get(e, "turn_id")) for e in session if _get(e, "type") == "turn_started"]
    numbers = [int(i) for i in started]
    assert numbers == sorted(set(numbers)), f"turn ids restart or repeat: {started}"
    ids = {str(_get(e, "turn_id")) for e in session if _get(e, "type") in TURN_EVENTS}
    assert ids <= set(started), f"events of turns that never started: {sorted(ids - set(started))}"
    check_turns_done(session)
    return started


def check_turns_done(events: list[Any]) -> None:
    """Every turn that has a TurnStarted has exactly one TurnDone, after it; every tool call that started
    finished exactly once (check_calls_finished)."""
    for turn_id in {str(_get(e, "turn_id")) for e in events if _get(e, "type") == "turn_started"}:
        kinds = [_get(e, "type") for e in events if str(_get(e, "turn_id")) == turn_id]
        done = kinds.count("turn_done")
        assert done == 1, f"turn {turn_id} has {done} turn_done events: {kinds}"
        assert kinds.index("turn_started") < kinds.index("turn_done"), f"turn {turn_id}: done before started"
    check_calls_finished(events)


def check_calls_finished(events: list[Any]) -> None:
    """Every ToolCallStarted is followed by exactly one ToolCallFinished for its call_id, a sub-agent's
    (nested in sub_agent_event) too, and none finishes a call that never started."""
    calls: dict[tuple[str, ...], list[str]] = {}  # by the call_ids from the outermost call in
    for event in events:
        path: list[str] = []
        while _get(event, "type") == "sub_agent_event" and _get(event, "event") is not None:
            path.append(str(_get(event, "call_id")))
            event = _get(event, "event")
        kind = _get(event, "type")
        if kind in ("tool_call_started", "tool_call_finished"):
            calls.setdefault((*path, str(_get(event, "call_id"))), []).append(kind)
    for key, kinds in calls.items():
        assert kinds == ["tool_call_started", "tool_call_finished"], f"tool call {'/'.join(key)}: {kinds}"


def of_turn(events: list[Any], turn_id: str) -> list[str]:
    """The types (state: `state:<name>`) of the events that carry `turn_id`, in order."""
    out = []
    for e in events:
        if _get(e, "turn_id") == turn_id:
            kind = _get(e, "type")
            out.append(f"state:{_get(e, 'state')}" if kind == "state" else kind)
    return out
