"""`agent voice --record` (the cascade): turn-NNN-user.wav, turn-NNN-assistant.wav and turns.json, written
by an event consumer from the run's events and two audio taps.

Unit: the recording driven purely by a list of events and tapped audio (no session, no devices): every
kind of turn, a turn cancelled by the end of the session, a resumed session, a write failure.
Wiring: a hands-free LiveSession (fake speech, virtual-clock player) with the recording on its taps: a
prepared answer that was dropped leaves nothing behind, a barge-in leaves the heard part.
The real command's --record runs in tests/voice (test_voice_e2e.py, test_turns_e2e.py, test_sigterm_e2e.py).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agentcli import events as ev
from agentcli.audio.wavfile import load_wav
from agentcli.recording.base import ENDED
from agentcli.recording.cascade import CascadeRecording

RATE = 24000


def pcm(ms: float) -> bytes:
    """`ms` of answer audio (pcm16 at 24 kHz), not silent."""
    n = int(ms * RATE / 1000)
    return (np.sin(np.arange(n) * 0.05) * 3000).astype("<i2").tobytes()


def speech(seconds: float) -> np.ndarray:
    return np.full(int(seconds * 16000), 0.1, np.float32)


def meta_of(rec: CascadeRecording) -> dict[str, Any]:
    return json.loads((rec.dir / "turns.json").read_text())


def wav_ms(path: Path) -> float:
    samples, fmt = load_wav(path)
    return samples.shape[0] * 1000.0 / fmt.rate


def feed(rec: CascadeRecording, *items: ev.Event | np.ndarray | bytes) -> None:
    """Events, user audio (an array: the STT tap) and answer audio (bytes: the speaker tap), in order."""
    for item in items:
        if isinstance(item, ev.Event):
            rec.on_event(item)
        elif isinstance(item, np.ndarray):
            rec.user_audio(item, 16000)
        else:
            rec.assistant_audio(item)


def spoken_turn(n: int, audio_s: float, text: str, answer: list[str], audio_ms: float) -> list[Any]:
    """What a spoken cascade turn that plays to its end emits, with its taps, in the order they come."""
    return [speech(audio_s), ev.UserSpeech(end_ms=audio_s * 1000), ev.TranscriptDelta(role="user", delta=text),
            ev.TranscriptDone(role="user", text=text), ev.TurnStarted(turn=n, input=text),
            *[ev.TextDelta(delta=d) for d in answer], pcm(audio_ms),
            ev.TurnDone(turn=n, output="".join(answer)), ev.SpeechDone(text="".join(answer), audio_ms=audio_ms),
            ev.TurnLatency(marks={"end_of_speech": 0.0, "first_audio_byte": 80.0})]


def test_every_kind_of_turn_from_events_and_taps(tmp_path: Path) -> None:
    rec = CascadeRecording(tmp_path, "unit", agent="helper", assistant_rate=RATE)
    assert meta_of(rec) == {"session": "unit", "agent": "helper", "turns": []}  # there from the start
    feed(rec, ev.SessionStarted(kind="voice", agent="front", session="unit"))
    # 1: spoken, answered and played to its end
    feed(rec, *spoken_turn(1, 1.5, "weather?", ["Sunny ", "today."], 400.0))
    first = meta_of(rec)["turns"][0]
    assert first == {"turn": 1, "status": "ok", "user_text": "weather?", "answer": "Sunny today.",
                     "marks_ms": {"end_of_speech": 0.0, "first_audio_byte": 80.0},
                     "user_wav": "turn-001-user.wav", "user_ms": 1500.0,
                     "assistant_wav": "turn-001-assistant.wav", "assistant_ms": 400.0}
    assert wav_ms(rec.dir / "turn-001-user.wav") == 1500.0 and wav_ms(rec.dir / "turn-001-assistant.wav") == 400.0

    # 2: spoken, cut off after 150 ms of the 600 ms the speaker was given (Interrupted comes after TurnDone)
    feed(rec, speech(0.5), ev.UserSpeech(end_ms=500), ev.TranscriptDone(role="user", text="tell me more"),
         ev.TurnStarted(turn=2, input="tell me more"), ev.TextDelta(delta="It will be a long story"),
         pcm(350), ev.TurnDone(turn=2, output="It will be a long story"), pcm(250),
         ev.Interrupted(heard_ms=150.0, heard_text="It will"), ev.TurnLatency(marks={"end_of_speech": 0.0}))
    second = meta_of(rec)["turns"][1]
    assert (second["status"], second["heard_text"], second["heard_ms"]) == ("interrupted", "It will", 150.0)
    assert second["answer"] == "It will be a long story"  # what the agent answered; heard_text what stayed
    assert (second["assistant_ms"], second["received_ms"]) == (150.0, 600.0)
    assert wav_ms(rec.dir / second["assistant_wav"]) == 150.0  # the WAV holds the part heard

    # 3: typed (no user audio); 4: nothing heard; 5: the assistant's own voice; both end with a TurnLatency
    feed(rec, ev.TurnStarted(turn=3, input="typed"), ev.TextDelta(delta="ok then"), pcm(100),
         ev.TurnDone(turn=3, output="ok then"), ev.TurnLatency(marks={}))
    feed(rec, speech(0.3), ev.UserSpeech(end_ms=300), ev.TranscriptDone(role="user", text=""),
         ev.Notice(message="heard nothing to answer"), ev.TurnLatency(marks={"end_of_speech": 0.0}))
    feed(rec, speech(0.6), ev.UserSpeech(end_ms=600), ev.TranscriptDone(role="user", text="sunny today"),
         ev.Notice(message="ignored: that was my own voice (sunny today)"), ev.TurnLatency(marks={}))
    third, fourth, fifth = meta_of(rec)["turns"][2:]
    assert (third["user_text"], third["answer"], third["status"]) == ("typed", "ok then", "ok")
    assert "user_wav" not in third and third["assistant_wav"] == "turn-003-assistant.wav"
    assert (fourth["status"], fourth["user_text"], fourth["user_wav"]) == ("empty", "", "turn-004-user.wav")
    assert (fifth["status"], fifth["user_text"], fifth["answer"]) == ("echo", "sunny today", "")
    assert "assistant_wav" not in fifth

    # 6: speech-to-text failed (no TurnLatency): the turn ends when the next one begins
    feed(rec, speech(0.4), ev.UserSpeech(end_ms=400), ev.ErrorEvent(message="stt: connection refused"))
    assert len(meta_of(rec)["turns"]) == 5
    feed(rec, *spoken_turn(7, 0.8, "again?", ["Yes."], 200.0))
    meta = meta_of(rec)
    sixth, seventh = meta["turns"][5:]
    assert (sixth["status"], sixth["error"], sixth["user_wav"]) == ("error", "stt: connection refused",
                                                                      "turn-006-user.wav")
    assert (seventh["turn"], seventh["user_text"], seventh["user_ms"]) == (7, "again?", 800.0)
    assert meta["agent"] == "front"  # the agent the session started with
    assert sorted(p.name for p in rec.dir.iterdir()) == [
        "turn-001-assistant.wav", "turn-001-user.wav", "turn-002-assistant.wav", "turn-002-user.wav",
        "turn-003-assistant.wav", "turn-004-user.wav", "turn-005-user.wav", "turn-006-user.wav",
        "turn-007-assistant.wav", "turn-007-user.wav", "turns.json"]


def test_a_turn_cancelled_by_the_end_of_the_session_keeps_the_turns_so_far(tmp_path: Path) -> None:
    """Ctrl-C or SIGTERM during an answer: the run ends with SessionEnded(interrupted) and no TurnDone,
    Interrupted or TurnLatency for the turn in progress. The finished turn stays as it was; the cut one is
    written with what it had."""
    rec = CascadeRecording(tmp_path, "term", agent="helper", assistant_rate=RATE)
    feed(rec, *spoken_turn(1, 1.0, "weather?", ["Sunny."], 300.0))
    before = meta_of(rec)["turns"][0]
    feed(rec, ev.TurnStarted(turn=2, input="tell me more"), ev.TextDelta(delta="Once upon "),
         ev.TextDelta(delta="a time"), pcm(500), ev.SpeechDone(text="Once upon a time", audio_ms=500.0))
    feed(rec, ev.SessionEnded(status="interrupted"))
    meta = meta_of(rec)
    first, second = meta["turns"]
    assert first == before
    assert (second["turn"], second["status"], second["error"]) == (2, "interrupted", ENDED)
    assert (second["user_text"], second["answer"], second["assistant_ms"]) == ("tell me more", "Once upon a time",
                                                                                500.0)
    assert wav_ms(rec.dir / "turn-002-assistant.wav") == 500.0 and (rec.dir / "turn-001-user.wav").is_file()
    # closed: nothing more is written
    feed(rec, ev.TurnStarted(turn=3, input="late"), pcm(100), ev.TurnLatency(marks={}))
    assert meta_of(rec) == meta and not (rec.dir / "turn-003-assistant.wav").exists()


def test_a_fatal_error_during_a_turn_writes_it_as_error(tmp_path: Path) -> None:
    rec = CascadeRecording(tmp_path, "fatal", agent="helper", assistant_rate=RATE)
    feed(rec, speech(0.5), ev.UserSpeech(end_ms=500), ev.TranscriptDone(role="user", text="hi"),
         ev.TurnStarted(turn=1, input="hi"), pcm(100), ev.SessionEnded(status="error", error="boom"))
    [turn] = meta_of(rec)["turns"]
    assert (turn["status"], turn["error"], turn["user_wav"], turn["assistant_ms"]) == (
        "error", ENDED, "turn-001-user.wav", 100.0)


def test_a_resumed_session_gets_a_folder_of_its_own(tmp_path: Path) -> None:
    first = CascadeRecording(tmp_path, "again", agent="helper", assistant_rate=RATE)
    first.on_event(ev.SessionEnded())
    second = CascadeRecording(tmp_path, "again", agent="helper", assistant_rate=RATE)
    assert (first.dir.name, second.dir.name) == ("again", "again-2")


def test_a_write_failure_stops_the_recording_not_the_session(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    rec = CascadeRecording(tmp_path, "full", agent="helper", assistant_rate=RATE)
    (rec.dir / "turn-001-assistant.wav").mkdir()  # the answer's WAV cannot be opened as a file
    feed(rec, *spoken_turn(1, 0.5, "hi", ["Hello."], 100.0), ev.SessionEnded())  # no exception reaches the run
    assert rec.failed
    assert capsys.readouterr().err.count("--record stopped") == 1


# --- wiring: the voice turns' taps and events ------------------------------------------------------------


def _recorded_session(tmp_path: Path, speed: float, stt: Any = None) -> tuple[Any, Any, list[Any], CascadeRecording]:
    from tests.voice.test_turn_taking import session

    live, detector, events = session(stt, speed=speed)
    rec = CascadeRecording(tmp_path, "live", agent="helper", assistant_rate=RATE)

    def emit(event: ev.Event) -> None:
        events.append(event)
        rec.on_event(event)

    live.ctx.emit = emit
    live.ctx.user_audio_tap, live.ctx.answer_audio_tap = rec.user_audio, rec.assistant_audio
    return live, detector, events, rec


def test_a_dropped_prepared_answer_leaves_no_trace_and_the_merged_turn_is_recorded(tmp_path: Path) -> None:
    from tests.voice.fakes import FakeSTT
    from tests.voice.test_turn_taking import end, feed, silence, start, until

    async def go() -> tuple[CascadeRecording, list[Any]]:
        stt = FakeSTT(texts=["what is the weather", "what is the weather in Paris tomorrow?"])
        live, detector, events, rec = _recorded_session(tmp_path, 20.0, stt)
        await feed(live, detector, [start()], in_speech=True, speech_ms=30)
        await feed(live, detector, [end()])  # 1 s: prepared, transcribed, then dropped
        await until(lambda: bool(live.ctx.tts.said))  # type: ignore[attr-defined]
        await feed(live, detector, [start()], in_speech=True, speech_ms=30)  # the user goes on
        await feed(live, detector, [end()])  # 1 s more: one turn of 2 s
        await silence(live, detector, 300)
        await until(lambda: live.turn is not None and not live.turn.active)
        rec.on_event(ev.SessionEnded())
        return rec, events

    rec, events = asyncio.run(asyncio.wait_for(go(), 30))
    [turn] = meta_of(rec)["turns"]
    assert (turn["status"], turn["user_text"]) == ("ok", "what is the weather in Paris tomorrow?")
    assert turn["user_ms"] == 2000.0 and wav_ms(rec.dir / "turn-001-user.wav") == 2000.0  # the merged audio
    played = [e.audio_ms for e in events if isinstance(e, ev.SpeechDone)]
    assert len(played) == 3 and turn["assistant_ms"] == pytest.approx(sum(played), abs=0.1)  # the answer, once
    assert "first_sample_played" in turn["marks_ms"]


def test_a_barge_in_records_the_part_heard(tmp_path: Path) -> None:
    from tests.voice.test_turn_taking import a_question, feed, start, until

    async def go() -> tuple[CascadeRecording, ev.Interrupted]:
        live, detector, events, rec = _recorded_session(tmp_path, 10.0)
        await a_question(live, detector)
        turn = live.turn
        await until(lambda: live.ctx.sink.heard_ms_total() > 1500)  # type: ignore[attr-defined]
        await feed(live, detector, [start()], in_speech=True, speech_ms=60)
        await feed(live, detector, in_speech=True, speech_ms=420)  # long enough: an interruption
        await until(lambda: turn is not None and not turn.active)
        await until(lambda: len(meta_of(rec)["turns"]) == 1)
        return rec, next(e for e in events if isinstance(e, ev.Interrupted))

    rec, cut = asyncio.run(asyncio.wait_for(go(), 30))
    [turn] = meta_of(rec)["turns"]
    assert (turn["status"], turn["heard_text"], turn["heard_ms"]) == ("interrupted", cut.heard_text, cut.heard_ms)
    assert turn["assistant_ms"] == pytest.approx(cut.heard_ms, abs=0.1)
    assert 1500 <= turn["assistant_ms"] < turn["received_ms"]  # the WAV ends where the user stopped hearing
    assert abs(wav_ms(rec.dir / turn["assistant_wav"]) - turn["assistant_ms"]) < 0.1
    assert turn["user_ms"] == 1000.0
