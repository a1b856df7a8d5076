"""The span tree the recorder builds from event sequences, exactly."""

from __future__ import annotations

import pytest

from agentcli import events as ev
from agentcli.tracing import open_recorder

from .helpers import at, chat_turn, find, record, shape


def test_plain_chat_turn_nests_turn_agent_generation_and_guardrails() -> None:
    doc = record([ev.SessionStarted(ts=at(0), agent="triage"), *chat_turn(t=1), ev.SessionEnded(ts=at(30))])
    assert shape(doc) == [
        [
            "turn",
            "turn 1",
            [
                ["guardrail", "no_secrets", []],
                [
                    "agent",
                    "triage",
                    [
                        ["generation", "gpt-test", []],
                        ["guardrail", "no_numbers", []],
                    ],
                ],
            ],
        ],
    ]
    trace = doc["trace"]
    assert (trace["status"], trace["turns"], trace["input_tokens"], trace["output_tokens"]) == (
        "ok",
        1,
        30,
        5,
    )
    assert trace["duration_ms"] == pytest.approx(30.0, abs=1e-3)
    gen = find(doc, "generation")
    assert gen["data"] == {
        "agent": "triage",
        "model": "gpt-test",
        "input_tokens": 30,
        "output_tokens": 5,
        "ttft_ms": 7.0,
        "output": "hello",
    }
    assert (gen["start"], gen["end"]) == (pytest.approx(at(4)), pytest.approx(at(21)))
    guard = find(doc, "guardrail", "no_secrets")
    assert guard["duration_ms"] == pytest.approx(0.5, abs=1e-3)
    assert guard["data"]["stage"] == "input" and guard["data"]["tripped"] is False
    turn = find(doc, "turn")
    assert turn["data"]["input"] == "hi" and turn["data"]["output"] == "hello" and turn["data"]["outcome"] == "ok"


def test_tools_and_a_handoff_with_its_transfer_call() -> None:
    events = [
        ev.SessionStarted(ts=at(0), agent="triage"),
        ev.TurnStarted(ts=at(1), turn=1, input="weather in Paris, en español", agent="triage"),
        ev.AgentStarted(ts=at(2), agent="triage"),
        ev.GenerationStarted(ts=at(3), agent="triage", model="m"),
        ev.GenerationDone(ts=at(8), agent="triage", model="m"),
        ev.ToolCallStarted(ts=at(9), agent="triage", call_id="c1", name="get_weather", arguments='{"city":"Paris"}'),
        ev.ToolCallStarted(ts=at(9.5), agent="triage", call_id="c2", name="get_time", arguments="{}"),
        ev.ToolCallFinished(ts=at(12), agent="triage", call_id="c2", name="get_time", output="12:00"),
        ev.ToolCallFinished(ts=at(15), agent="triage", call_id="c1", name="get_weather", output="sunny"),
        ev.GenerationStarted(ts=at(16), agent="triage", model="m"),
        ev.GenerationDone(ts=at(20), agent="triage", model="m"),
        ev.ToolCallStarted(ts=at(21), agent="triage", call_id="c3", name="transfer_to_spanish", arguments="{}"),
        ev.ToolCallFinished(ts=at(22), agent="triage", call_id="c3", name="transfer_to_spanish", output="ok"),
        ev.Handoff(ts=at(23), from_agent="triage", to_agent="spanish"),
        ev.AgentFinished(ts=at(23), agent="triage"),
        ev.AgentStarted(ts=at(24), agent="spanish"),
        ev.GenerationStarted(ts=at(25), agent="spanish", model="m"),
        ev.GenerationDone(ts=at(30), agent="spanish", model="m", output="Soleado"),
        ev.AgentFinished(ts=at(31), agent="spanish"),
        ev.TurnDone(ts=at(32), turn=1, agent="spanish", output="Soleado"),
        ev.SessionEnded(ts=at(33)),
    ]
    doc = record(events)
    assert shape(doc) == [
        [
            "turn",
            "turn 1",
            [
                [
                    "agent",
                    "triage",
                    [
                        ["generation", "m", []],
                        ["function", "get_weather", []],
                        ["function", "get_time", []],
                        ["generation", "m", []],
                        ["handoff", "triage -> spanish", []],
                    ],
                ],
                ["agent", "spanish", [["generation", "m", []]]],
            ],
        ],
    ]
    weather = find(doc, "function", "get_weather")
    assert weather["data"] == {
        "agent": "triage",
        "call_id": "c1",
        "tool": "get_weather",
        "arguments": '{"city":"Paris"}',
        "output": "sunny",
    }
    assert weather["duration_ms"] == pytest.approx(6.0, abs=1e-3)
    handoff = find(doc, "handoff")  # the transfer call's timing, not an instant
    assert handoff["data"] == {"from": "triage", "to": "spanish", "call_id": "c3"}
    assert (handoff["start"], handoff["end"]) == (pytest.approx(at(21)), pytest.approx(at(22)))
    assert find(doc, "turn")["data"]["agent"] == "spanish"


def test_handoff_without_a_transfer_call_is_an_instant_span() -> None:
    doc = record(
        [
            ev.TurnStarted(ts=at(0), turn=1, agent="a"),
            ev.AgentStarted(ts=at(1), agent="a"),
            ev.Handoff(ts=at(2), from_agent="a", to_agent="b"),
            ev.AgentFinished(ts=at(2), agent="a"),
            ev.AgentStarted(ts=at(3), agent="b"),
            ev.AgentFinished(ts=at(4), agent="b"),
            ev.TurnDone(ts=at(5), turn=1, agent="b"),
        ]
    )
    handoff = find(doc, "handoff")
    assert handoff["start"] == handoff["end"] == pytest.approx(at(2))
    assert shape(doc) == [["turn", "turn 1", [["agent", "a", [["handoff", "a -> b", []]]], ["agent", "b", []]]]]


def test_a_transfer_call_with_no_handoff_stays_a_function() -> None:
    doc = record(
        [
            ev.TurnStarted(ts=at(0), turn=1),
            ev.ToolCallStarted(ts=at(1), call_id="c", name="transfer_to_x"),
            ev.ToolCallFinished(ts=at(2), call_id="c", name="transfer_to_x", output="no such agent"),
            ev.TurnDone(ts=at(3), turn=1),
        ]
    )
    assert shape(doc) == [["turn", "turn 1", [["function", "transfer_to_x", []]]]]


def test_model_error_marks_every_open_span_and_the_trace() -> None:
    doc = record(
        [
            ev.SessionStarted(ts=at(0)),
            ev.TurnStarted(ts=at(1), turn=1, input="hi"),
            ev.AgentStarted(ts=at(2), agent="triage"),
            ev.GenerationStarted(ts=at(3), agent="triage", model="m"),
            ev.GenerationDone(ts=at(9), agent="triage", model="m", status="error", error="HTTP 503 from the server"),
            ev.ErrorEvent(ts=at(10), message="model server failed: HTTP 503", kind="model"),
            ev.AgentFinished(ts=at(10), agent="triage", status="error", error="model server failed: HTTP 503"),
            ev.TurnDone(ts=at(11), turn=1, status="error", error="model server failed: HTTP 503"),
            ev.SessionEnded(ts=at(12), status="error", error="model server failed: HTTP 503"),
        ]
    )
    by_kind = {s["kind"]: s for s in doc["spans"]}
    assert {k: (s["status"], s["error"]) for k, s in by_kind.items()} == {
        "generation": ("error", "HTTP 503 from the server"),
        "agent": ("error", "model server failed: HTTP 503"),
        "turn": ("error", "model server failed: HTTP 503"),
    }
    assert by_kind["agent"]["data"]["error_kind"] == "model"
    trace = doc["trace"]
    assert (trace["status"], trace["error"], trace["error_count"]) == (
        "error",
        "model server failed: HTTP 503",
        3,
    )


def test_a_tool_error_and_a_refused_approval() -> None:
    doc = record(
        [
            ev.TurnStarted(ts=at(0), turn=1),
            ev.ToolCallStarted(ts=at(1), call_id="a", name="rm"),
            ev.ToolCallFinished(ts=at(2), call_id="a", name="rm", output="refused", approved=False),
            ev.ToolCallStarted(ts=at(3), call_id="b", name="boom"),
            ev.ToolCallFinished(
                ts=at(4),
                call_id="b",
                name="boom",
                output="error: ZeroDivisionError",
                error="ZeroDivisionError",
            ),
            ev.TurnDone(ts=at(5), turn=1),
        ]
    )
    assert find(doc, "function", "rm")["data"]["approved"] is False
    boom = find(doc, "function", "boom")
    assert (boom["status"], boom["error"]) == ("error", "ZeroDivisionError")
    assert find(doc, "turn")["status"] == "ok"
    assert doc["trace"]["error_count"] == 1


def test_input_guardrail_trip_ends_the_turn_without_an_agent() -> None:
    doc = record(
        [
            ev.TurnStarted(ts=at(0), turn=1, input="my password is hunter2"),
            ev.GuardrailChecked(ts=at(1), name="no_secrets", stage="input", tripped=True, message="I can't help"),
            ev.TurnDone(ts=at(2), turn=1, status="guardrail", error="I can't help"),
        ]
    )
    assert shape(doc) == [["turn", "turn 1", [["guardrail", "no_secrets", []]]]]
    assert find(doc, "guardrail")["data"]["tripped"] is True
    turn = find(doc, "turn")
    assert (turn["status"], turn["data"]["outcome"]) == ("ok", "guardrail")


def test_spans_still_open_when_the_run_fails_are_closed_as_errors() -> None:
    doc = record(
        [
            ev.TurnStarted(ts=at(0), turn=1),
            ev.AgentStarted(ts=at(1), agent="triage"),
            ev.ToolCallStarted(ts=at(2), call_id="c", name="slow"),
        ],
        close=("interrupted", "Ctrl-C"),
    )
    assert shape(doc) == [["turn", "turn 1", [["agent", "triage", [["function", "slow", []]]]]]]
    assert {s["status"] for s in doc["spans"]} == {"error"}
    assert find(doc, "function")["error"] == "not finished: the run ended (interrupted)"
    assert (doc["trace"]["status"], doc["trace"]["error"]) == ("interrupted", "Ctrl-C")


def test_notices_and_retries_are_kept_on_the_span_or_the_trace() -> None:
    doc = record(
        [
            ev.Notice(ts=at(0), message="agent 'x' is not in this spec", level="warning"),
            ev.TurnStarted(ts=at(1), turn=1),
            ev.GenerationStarted(ts=at(2), model="m"),
            ev.Retrying(ts=at(3), attempt=1, reason="HTTP 429"),
            ev.Notice(ts=at(4), message="reconnecting"),
            ev.GenerationDone(ts=at(5), model="m"),
            ev.TurnDone(ts=at(6), turn=1),
        ]
    )
    gen = find(doc, "generation")
    assert gen["data"]["retries"] == [{"attempt": 1, "reason": "HTTP 429", "ts": pytest.approx(at(3))}]
    assert [n["message"] for n in gen["data"]["notices"]] == ["reconnecting"]
    assert [n["message"] for n in doc["trace"]["metadata"]["notices"]] == ["agent 'x' is not in this spec"]


def test_session_started_fills_in_and_close_is_idempotent() -> None:
    recorder = open_recorder(kind="", workflow="", metadata={"model": "m"})
    assert recorder is not None
    recorder.on_event(ev.SessionStarted(ts=at(0), kind="chat", agent="helper", session="s1", metadata={"x": 1}))
    recorder.on_event(ev.SessionEnded(ts=at(5), status="ok"))
    recorder.on_event(ev.TurnStarted(ts=at(6), turn=9))  # after the end: ignored
    recorder.close("error", "late")
    recorder.close("error", "later")
    from .helpers import stored

    doc = stored(recorder.trace_id)
    t = doc["trace"]
    assert (t["workflow"], t["kind"], t["group_id"], t["metadata"]) == (
        "helper",
        "chat",
        "s1",
        {"x": 1, "model": "m"},
    )
    assert (t["status"], t["error"], t["end"]) == ("ok", None, pytest.approx(at(5)))
    assert doc["spans"] == []


def test_agent_trace_0_turns_recording_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_TRACE", "0")
    assert open_recorder(kind="chat", workflow="x") is None


def test_content_off_keeps_shapes_and_timings_only(monkeypatch: pytest.MonkeyPatch) -> None:
    events = [
        ev.TurnStarted(ts=at(0), turn=1, input="my diary entry", agent="triage"),
        ev.AgentStarted(ts=at(1), agent="triage"),
        ev.ToolCallStarted(ts=at(2), agent="triage", call_id="c", name="read", arguments='{"path": "/home/me/diary"}'),
        ev.ToolCallFinished(
            ts=at(3), agent="triage", call_id="c", name="read", output="dear diary", error="diary locked"
        ),
        ev.GenerationStarted(ts=at(4), agent="triage", model="m"),
        ev.Notice(ts=at(4.5), message="private notice"),
        ev.GenerationDone(
            ts=at(5),
            agent="triage",
            model="m",
            output="secret plans",
            usage=ev.Usage(input_tokens=7, output_tokens=2),
        ),
        ev.AgentFinished(ts=at(6), agent="triage"),
        ev.TurnDone(ts=at(7), turn=1, output={"plan": "secret plans"}),
        ev.SessionEnded(ts=at(8), status="error", error="failed reading diary"),
    ]
    doc = record(events, content=False)
    assert find(doc, "turn")["data"] == {
        "turn": 1,
        "input_chars": 14,
        "agent": "triage",
        "output_chars": 24,
        "input_tokens": 0,
        "output_tokens": 0,
        "outcome": "ok",
    }
    read = find(doc, "function")
    assert read["data"] == {
        "agent": "triage",
        "call_id": "c",
        "tool": "read",
        "arguments_chars": 26,
        "output_chars": 10,
    }
    assert read["error"] == "[content not recorded]"
    gen = find(doc, "generation")
    assert gen["data"]["output_chars"] == 12 and gen["data"]["input_tokens"] == 7
    assert gen["data"]["notices"] == [{"level": "info", "chars": 14, "ts": pytest.approx(at(4.5))}]
    assert doc["trace"]["content"] is False and doc["trace"]["error"] == "[content not recorded]"
    dumped = repr(doc)
    for text in ("diary", "secret", "private"):
        assert text not in dumped
    # the env switch forces content off whatever the caller asked for
    monkeypatch.setenv("AGENT_TRACE_CONTENT", "0")
    doc = record(events[:1] + [ev.TurnDone(ts=at(1), turn=1)], content=True)
    assert "input" not in find(doc, "turn")["data"] and doc["trace"]["content"] is False
