"""The span tree of voice and realtime runs: transcriptions, speech, responses, interruptions."""

from __future__ import annotations

import pytest

from agentcli import events as ev

from .helpers import at, find, of_turn, record, shape


def test_voice_turn_adopts_its_transcription_and_keeps_late_speech() -> None:
    doc = record(
        [
            ev.SessionStarted(ts=at(0), kind="voice"),
            *of_turn(
                "1",
                ev.StateChanged(ts=at(1), state="thinking"),
                ev.TranscriptDone(ts=at(300), text="what time is it", model="stt", audio_ms=1200, started=at(100)),
                ev.TurnStarted(ts=at(301), turn=1, input="what time is it"),
                ev.AgentStarted(ts=at(302), agent="triage"),
                ev.GenerationStarted(ts=at(303), agent="triage", model="m"),
                ev.GenerationDone(ts=at(400), agent="triage", model="m", output="Noon. Enjoy."),
                ev.SpeechDone(ts=at(450), text="Noon.", voice="alloy", started=at(401), audio_ms=500),
                ev.AgentFinished(ts=at(401), agent="triage"),
                ev.TurnDone(ts=at(402), turn=1, output="Noon. Enjoy."),
                ev.SpeechDone(ts=at(600), text="Enjoy.", voice="alloy", started=at(451), audio_ms=400),
                ev.TurnLatency(ts=at(601), marks={"first_audio_ms": 250.0}),
                ev.Interrupted(ts=at(650), heard_ms=300, heard_text="Enj", speech_started=at(630),
                               silenced=at(645)),
            ),
            ev.SessionEnded(ts=at(700), status="interrupted"),
        ],
        kind="voice",
    )
    assert shape(doc) == [
        [
            "turn",
            "turn 1",
            [
                ["transcription", "stt", []],
                ["agent", "triage", [["generation", "m", []]]],
                ["speech", "alloy", []],
                ["speech", "alloy", []],
                ["interruption", "interruption", []],
            ],
        ],
    ]
    turn = find(doc, "turn")
    assert turn["start"] == pytest.approx(at(100))  # the turn starts when transcription began
    assert turn["data"]["latency"] == {"first_audio_ms": 250.0}
    assert find(doc, "interruption")["data"]["heard_text"] == "Enj"
    assert find(doc, "interruption")["data"]["silenced_ms"] == pytest.approx(15.0)  # the barge-in latency
    assert doc["trace"]["status"] == "interrupted" and doc["trace"]["kind"] == "voice"


def test_realtime_events_with_no_turn_attach_to_the_root() -> None:
    doc = record(
        [
            ev.SessionStarted(ts=at(0), kind="realtime"),
            ev.TranscriptDone(ts=at(10), text="hello", started=at(5)),
            ev.RealtimeResponseDone(
                ts=at(50),
                response_id="resp_1",
                started=at(11),
                transcript="Hi!",
                usage=ev.Usage(input_tokens=100, output_tokens=20),
            ),
            ev.ToolCallStarted(ts=at(51), call_id="c", name="lookup", arguments="{}"),
            ev.ToolCallFinished(ts=at(52), call_id="c", name="lookup", output="42"),
            ev.RealtimeResponseDone(ts=at(90), response_id="resp_2", started=at(53), status="failed"),
            ev.Interrupted(ts=at(95), heard_ms=100, item_id="item_1"),
            ev.SessionEnded(ts=at(99)),
        ],
        kind="realtime",
    )
    assert shape(doc) == [
        ["transcription", "transcription", []],
        ["realtime_response", "resp_1", []],
        ["function", "lookup", []],
        ["realtime_response", "resp_2", []],
        ["interruption", "interruption", []],
    ]
    assert find(doc, "realtime_response", "resp_2")["status"] == "error"
    trace = doc["trace"]
    assert (trace["turns"], trace["input_tokens"], trace["output_tokens"]) == (2, 100, 20)


def test_voice_utterance_with_nothing_heard_stays_at_the_root() -> None:
    doc = record(
        [
            *of_turn("1", ev.TurnStarted(ts=at(0), turn=1, input="hello"), ev.TurnDone(ts=at(10), turn=1)),
            *of_turn(  # an utterance with nothing heard: a turn id, no TurnStarted
                "2",
                ev.TranscriptDone(ts=at(300), text="", model="stt", started=at(100)),
                ev.Notice(ts=at(301), message="heard nothing to answer"),
                ev.TurnLatency(ts=at(302), marks={"transcript_final": 200.0}),
            ),
            ev.StateChanged(ts=at(303), state="listening"),
            *of_turn(
                "3",
                ev.TranscriptDone(ts=at(900), text="what now", model="stt", started=at(700)),
                ev.TurnStarted(ts=at(901), turn=2, input="what now"),
                ev.TurnDone(ts=at(950), turn=2),
            ),
        ],
        kind="voice",
    )
    assert shape(doc) == [
        ["turn", "turn 1", []],
        ["transcription", "stt", []],
        ["turn", "turn 3", [["transcription", "stt", []]]],  # the run's third turn id (the second heard nothing)
    ]
    empty = next(s for s in doc["spans"] if s["kind"] == "transcription" and s["parent_id"] is None)
    assert empty["data"]["latency"] == {"transcript_final": 200.0}
    assert "latency" not in find(doc, "turn", "turn 1")["data"]
    assert [n["message"] for n in doc["trace"]["metadata"]["notices"]] == ["heard nothing to answer"]
