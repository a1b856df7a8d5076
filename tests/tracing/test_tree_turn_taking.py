"""The user's speech and the end-of-turn wait as spans, in both modes (issue 10, honest latency)."""

from __future__ import annotations

import pytest

from agentcli import events as ev
from agentcli.tracing.render import trace_lines

from .helpers import at, find, of_turn, record, shape


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def speech(start: float, end: float, detected: float, ts: float) -> ev.UserSpeech:
    return ev.UserSpeech(ts=at(ts), start_ms=0.0, end_ms=end - start, started=at(start), ended=at(end),
                         detected=at(detected))


def test_cascade_turn_holds_the_speech_and_the_wait() -> None:
    # the cascade: the speech is told when the turn's audio is handed over, before its transcription
    doc = record(
        [
            ev.SessionStarted(ts=at(0), kind="voice"),
            *of_turn(
                "1",
                speech(100, 1300, 1800, ts=1800),
                ev.TranscriptDone(ts=at(2000), text="what time is it", model="stt", audio_ms=1200, started=at(1801)),
                ev.TurnStarted(ts=at(2001), turn=1, input="what time is it"),
                ev.TurnDone(ts=at(2500), turn=1, output="Noon."),
            ),
            ev.SessionEnded(ts=at(2600)),
        ],
        kind="voice",
    )
    assert shape(doc) == [
        ["turn", "turn 1", [["user_speech", "user", []], ["end_of_turn", "wait", []], ["transcription", "stt", []]]]
    ]
    turn, wait = find(doc, "turn"), find(doc, "end_of_turn")
    assert turn["start"] == pytest.approx(at(100))  # the turn begins when the user began to speak
    assert wait["duration_ms"] == pytest.approx(500.0)
    assert find(doc, "user_speech")["duration_ms"] == pytest.approx(1200.0)


def test_realtime_turn_holds_the_speech_told_just_before_it() -> None:
    doc = record(
        [
            ev.SessionStarted(ts=at(0), kind="realtime"),
            *of_turn("1", ev.TurnDone(ts=at(50), turn=1, output="earlier")),  # the turn before (a user item ends it)
            *of_turn(
                "2",
                speech(100, 900, 1450, ts=1500),
                ev.RealtimeResponseDone(ts=at(1490), response_id="resp_1", started=at(1460)),  # before its words
                ev.TurnStarted(ts=at(1450), turn=2, input="hello"),
                ev.TranscriptDone(ts=at(1600), text="hello", model="stt", audio_ms=800, started=at(1450)),
                ev.TurnDone(ts=at(2100), turn=2, output="Hi."),
            ),
        ],
        kind="realtime",
    )
    turn2 = next(s for s in doc["spans"] if s["kind"] == "turn" and s["name"] == "turn 2")
    kids = [s["kind"] for s in doc["spans"] if s["parent_id"] == turn2["span_id"]]
    assert kids[:2] == ["user_speech", "end_of_turn"] and "realtime_response" in kids
    assert turn2["start"] == pytest.approx(at(100))
    assert find(doc, "end_of_turn")["duration_ms"] == pytest.approx(550.0)


def test_speech_that_makes_no_turn_stays_at_the_root_and_trace_show_draws_it() -> None:
    doc = record(
        [
            ev.SessionStarted(ts=at(0), kind="voice"),
            *of_turn("1", speech(100, 300, 800, ts=800), ev.Notice(ts=at(900), message="heard nothing to answer")),
            *of_turn(  # the next turn starts: the first one's spans are written at the root
                "2",
                speech(1000, 2000, 2500, ts=2500),
                ev.TurnStarted(ts=at(2600), turn=1, input="hi"),
                ev.TurnDone(ts=at(2700), turn=1, output="hello"),
            ),
        ],
        kind="voice",
    )
    root = [s["kind"] for s in doc["spans"] if s["parent_id"] is None]
    assert root.count("user_speech") == 1 and root.count("end_of_turn") == 1 and root.count("turn") == 1
    text = "\n".join("".join(t for t, _ in line) for line in trace_lines(doc, 120, ascii_only=True))
    assert "user_speech user" in text and "end_of_turn wait" in text


def test_speech_without_times_adds_no_span() -> None:
    doc = record([ev.UserSpeech(ts=at(1), start_ms=0, end_ms=500), ev.TurnStarted(ts=at(2), turn=1),
                  ev.TurnDone(ts=at(3), turn=1)])
    assert [s["kind"] for s in doc["spans"]] == ["turn"]


@pytest.mark.anyio
async def test_a_cascade_turn_tells_the_user_s_speech_before_its_transcription() -> None:
    import time

    import numpy as np

    from agentcli.voice.pipeline import TurnInput, VoiceTurn
    from tests.voice.test_pipeline import make_ctx

    ctx, events = make_ctx()
    end = time.perf_counter() - 0.5  # the last voiced frame, a silence window before the turn was known
    turn_input = TurnInput(audio=np.zeros(16000, np.float32), rate=16000, end_of_speech=end, speech_ms=700.0)
    await VoiceTurn(ctx, turn_input).run()
    spoken = [e for e in events if isinstance(e, ev.UserSpeech)]
    assert len(spoken) == 1
    s = spoken[0]
    assert s.started is not None and s.ended is not None and s.detected is not None
    assert s.ended - s.started == pytest.approx(0.7, abs=0.001)
    assert s.detected - s.ended >= 0.5
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("UserSpeech") < kinds.index("TranscriptDone") < kinds.index("TurnLatency")


def test_a_late_event_of_an_earlier_turn_goes_under_that_turn_not_the_open_one() -> None:
    # Gemini: the cut answer's response ends after the interrupting speech's turn has begun
    doc = record(
        [
            ev.SessionStarted(ts=at(0), kind="realtime"),
            *of_turn("1", ev.TurnStarted(ts=at(10), turn=1, input="tell me"),
                     ev.Interrupted(ts=at(500), heard_ms=300, heard_text="It"),
                     ev.TurnDone(ts=at(501), turn=1, status="interrupted", interrupted=True)),
            *of_turn("2", speech(480, 900, 1200, ts=1200), ev.TurnStarted(ts=at(1200), turn=2, input="stop")),
            *of_turn("1", ev.RealtimeResponseDone(ts=at(1250), response_id="resp_1", status="cancelled",
                                                  started=at(20))),
            *of_turn("2", ev.TurnDone(ts=at(1500), turn=2, output="Okay.")),
            ev.SessionEnded(ts=at(1600)),
        ],
        kind="realtime",
    )
    assert shape(doc) == [
        ["turn", "turn 1", [["realtime_response", "resp_1", []], ["interruption", "interruption", []]]],
        ["turn", "turn 2", [["user_speech", "user", []], ["end_of_turn", "wait", []]]],
    ]
