"""`agent voice --realtime --record [DIR]`: user.wav, turn-NNN-assistant.wav and turns.json.

End to end: the real command in file mode against the simulator (no devices), a barge-in in file mode with
the simulator pacing its audio in real time, --record without a folder, a folder that cannot be made.
Unit: the recorder's turn bookkeeping from events, UserSpeech events and the audio taps, without a server.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agentcli import events as ev
from agentcli.audio.wavfile import load_wav, write_wav
from agentcli.recording.realtime import RealtimeRecording
from agentcli.sim.speech import synthesize_pcm
from tests.conftest import run_agent
from tests.realtime.e2e import ANSWER, QUESTION, SPEC, check_wire, write_script
from tests.realtime.harness import pcm16, tone
from tests.voice.e2e import espeak_wav

SECRET = "sk-record-test-secret-0123456789"
STORY = "Once upon a time a cat lived in Paris, and every single morning it walked along the river to the market."


def seconds(path: Path) -> float:
    samples, fmt = load_wav(path)
    return samples.shape[0] / fmt.rate


def assert_no_secret(folder: Path) -> None:
    for f in folder.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert SECRET.encode() not in data and b"Bearer" not in data, f


# --- end to end ---------------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_file_mode_records_user_answer_and_turns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    question = espeak_wav(tmp_path / "question.wav", QUESTION)
    wire = tmp_path / "wire.jsonl"
    monkeypatch.setenv("AGENT_REALTIME_LOG", str(wire))  # the debug log still gets everything
    script = write_script(tmp_path / "s.yaml", {"hear": [QUESTION], "turns": [{"match": "weather", "reply": [ANSWER]}]})
    out, rec = tmp_path / "answer.wav", tmp_path / "rec"
    env = dict(os.environ, OPENAI_API_KEY=SECRET)
    r = run_agent("voice", str(SPEC), "--realtime", "--sim-script", str(script), "--input", str(question),
                  "--output", str(out), "--record", str(rec), "--session", "recorded", env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ANSWER
    folder = rec / "recorded"
    assert sorted(f.name for f in folder.iterdir()) == ["turn-001-assistant.wav", "turns.json", "user.wav"]
    user_s = seconds(question)
    assert abs(seconds(folder / "user.wav") - user_s) <= 0.05
    carried = len(synthesize_pcm(ANSWER, "cedar", 1.0)) / 2 / 24000  # what the simulator's answer carried
    assert abs(seconds(folder / "turn-001-assistant.wav") - carried) <= 0.005
    assert abs(seconds(out) - carried) <= 0.005
    meta = json.loads((folder / "turns.json").read_text())
    assert (meta["session"], meta["agent"], meta["user_wav"]) == ("recorded", "front", "user.wav")
    assert abs(meta["user_ms"] / 1000 - user_s) <= 0.05
    [turn] = meta["turns"]
    assert (turn["turn"], turn["status"], turn["user_text"], turn["answer"]) == (1, "ok", QUESTION, ANSWER)
    assert turn["assistant_wav"] == "turn-001-assistant.wav"
    assert abs(turn["assistant_ms"] / 1000 - carried) <= 0.005
    assert "heard_text" not in turn
    # the server's VAD offsets, in user.wav: the speech lies inside the file
    assert 0 <= turn["user_start_ms"] < turn["user_end_ms"] <= meta["user_ms"]
    assert turn["user_end_ms"] - turn["user_start_ms"] > 500
    assert turn["marks_ms"]["first_audio_byte"] >= 0
    assert_no_secret(folder)
    check_wire(wire)


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_barge_in_in_file_mode_records_what_was_heard(tmp_path: Path) -> None:
    """Speech, a pause, then speech again while the (real-time paced) answer is still coming: the first
    turn is cut off and says what was heard; its answer audio ends at the cut."""
    silence = lambda s: np.zeros(int(24000 * s), np.float32)  # noqa: E731
    wav = tmp_path / "barge.wav"
    write_wav(wav, np.concatenate([tone(0.4), silence(1.5), tone(0.4), silence(0.2)]), 24000)
    turns = [{"match": "stop", "reply": ["Okay."]}, {"reply": [STORY]}]
    script = write_script(tmp_path / "s.yaml", {"hear": ["tell me a story", "stop please"], "turns": turns})
    rec = tmp_path / "rec"
    env = dict(os.environ, AGENT_SIM_REALTIME_PACE="1", OPENAI_API_KEY=SECRET)
    r = run_agent("voice", str(SPEC), "--realtime", "--sim-script", str(script), "--input", str(wav),
                  "--output", str(tmp_path / "out.wav"), "--record", str(rec), "--session", "barge", "-q",
                  env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    folder = rec / "barge"
    meta = json.loads((folder / "turns.json").read_text())
    first, second = meta["turns"]
    assert (first["status"], first["user_text"]) == ("interrupted", "tell me a story")
    assert first["heard_ms"] > 300, first  # and cut before the end: full_ms below
    full_ms = len(synthesize_pcm(STORY, "cedar", 1.0)) / 48
    assert abs(first["assistant_ms"] - first["heard_ms"]) <= 1.0 < full_ms - first["assistant_ms"]
    assert abs(seconds(folder / first["assistant_wav"]) * 1000 - first["assistant_ms"]) <= 1.0
    assert first["heard_text"] and STORY.startswith(first["heard_text"]) and len(first["heard_text"]) < len(STORY)
    assert first["answer"].startswith(first["heard_text"])
    assert (second["status"], second["user_text"], second["answer"]) == ("ok", "stop please", "Okay.")
    # the simulator's VAD: speech from 0 to 400 ms and from 1900 to 2300 ms (less its 100 ms prefix padding)
    assert (first["user_start_ms"], first["user_end_ms"]) == (0.0, 400.0)
    assert (second["user_start_ms"], second["user_end_ms"]) == (1800.0, 2300.0)
    assert abs(seconds(folder / "user.wav") - 2.5) <= 0.05
    assert_no_secret(folder)


@pytest.mark.e2e
def test_record_without_a_folder_saves_into_recordings(tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.yaml", {"turns": [{"reply": ["Turn {turn}: {input}"]}]})
    r = run_agent("voice", str(SPEC), "--realtime", "--text-only", "--sim-script", str(script), "--record", "-q",
                  "--session", "typed", input="hello\n", cwd=tmp_path, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "Turn 1: hello"
    meta = json.loads((tmp_path / "recordings" / "typed" / "turns.json").read_text())
    assert meta["user_wav"] is None  # typed, not spoken
    assert [(t["user_text"], t["answer"], t["status"]) for t in meta["turns"]] == [("hello", "Turn 1: hello", "ok")]
    assert "user_start_ms" not in meta["turns"][0] and "assistant_wav" not in meta["turns"][0]


@pytest.mark.e2e
def test_a_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    r = run_agent("voice", str(SPEC), "--realtime", "--text-only", "--sim", "--record", str(blocker), input="hi\n")
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip().count("\n") == 0 and "--record" in r.stderr and "Traceback" not in r.stderr


# --- unit: bookkeeping from events ---------------------------------------------------------------------


def feed(rec: RealtimeRecording, *events: ev.Event) -> None:
    for e in events:
        rec.on_event(e)


def meta_of(rec: RealtimeRecording) -> dict[str, Any]:
    return json.loads((rec.dir / "turns.json").read_text())


def test_turns_from_events(tmp_path: Path) -> None:
    rec = RealtimeRecording(tmp_path, "unit", agent="front")
    feed(rec, ev.SessionStarted(kind="realtime", agent="front", session="unit", metadata={"model": "m"}))
    rec.user_audio(pcm16(tone(1.0)))  # 0-1000 ms of user.wav
    feed(rec, ev.UserSpeech(start_ms=100, end_ms=900))
    # turn 1: answered before its transcript came (the transcript is filled in afterwards)
    feed(rec, ev.TurnStarted(turn=1, input=""), ev.TranscriptDelta(role="assistant", delta="Sunny "),
         ev.TranscriptDelta(role="assistant", delta="today."))
    rec.assistant_audio(bytes(4800))  # 100 ms
    feed(rec, ev.TurnLatency(marks={"speech_stopped": 0.0, "first_audio_byte": 12.5}),
         ev.TurnDone(turn=1, output="Sunny today.", status="ok"))
    assert meta_of(rec)["turns"][0]["user_text"] == ""
    feed(rec, ev.TranscriptDone(role="user", text="weather?"))
    first = meta_of(rec)["turns"][0]
    assert (first["user_text"], first["answer"], first["status"]) == ("weather?", "Sunny today.", "ok")
    assert (first["user_start_ms"], first["user_end_ms"]) == (100.0, 900.0)
    assert (first["assistant_wav"], first["assistant_ms"]) == ("turn-001-assistant.wav", 100.0)
    assert first["marks_ms"] == {"speech_stopped": 0.0, "first_audio_byte": 12.5}

    # turn 2: cut off by the user's next speech; Interrupted comes before the turn is announced
    rec.user_audio(pcm16(tone(1.0)))  # 1000-2000 ms
    feed(rec, ev.UserSpeech(start_ms=1200, end_ms=1600))
    rec.assistant_audio(bytes(9600))  # 200 ms received
    feed(rec, ev.TranscriptDelta(role="assistant", delta="It will be a long "),
         ev.TranscriptDelta(role="assistant", delta="story about"))
    feed(rec, ev.Interrupted(heard_ms=150.0, heard_text="It will be a", item_id="item_2"),
         ev.TurnStarted(turn=2, input="tell me more"), ev.TranscriptDone(role="user", text="tell me more"),
         ev.TurnDone(turn=2, output="It will be a", status="interrupted", interrupted=True))
    second = meta_of(rec)["turns"][1]
    assert (second["status"], second["user_text"]) == ("interrupted", "tell me more")
    assert (second["heard_text"], second["heard_ms"]) == ("It will be a", 150.0)
    assert second["answer"] == "It will be a long story about"  # what arrived, more than was heard
    assert (second["user_start_ms"], second["user_end_ms"]) == (1200.0, 1600.0)
    # the WAV holds what was heard; what had arrived is told beside it
    assert (second["assistant_wav"], second["assistant_ms"], second["received_ms"]) == (
        "turn-002-assistant.wav", 150.0, 200.0)
    assert load_wav(rec.dir / "turn-002-assistant.wav")[0].size == 24000 * 150 // 1000

    # turn 3: a typed line (no speech) while the speech of turn 4 is still going on
    feed(rec, ev.TurnStarted(turn=3, input="typed"), ev.TurnDone(turn=3, output="ok then", status="ok"))
    third = meta_of(rec)["turns"][2]
    assert (third["user_text"], third["answer"]) == ("typed", "ok then") and "user_start_ms" not in third

    # after a reconnection the session still places speech on the timeline of all the audio sent
    rec.user_audio(pcm16(tone(0.5)))
    feed(rec, ev.UserSpeech(start_ms=2100, end_ms=2400))
    # turn 4 in progress when the session ends (Ctrl-C): written as cut short, with what it had
    feed(rec, ev.TurnStarted(turn=4, input="and then"))
    rec.assistant_audio(bytes(2400))
    feed(rec, ev.SessionEnded(status="interrupted"))
    meta = meta_of(rec)
    fourth = meta["turns"][3]
    assert (fourth["status"], fourth["user_text"], fourth["assistant_ms"]) == ("interrupted", "and then", 50.0)
    assert (fourth["user_start_ms"], fourth["user_end_ms"]) == (2100.0, 2400.0)
    assert (meta["model"], meta["user_wav"], meta["user_ms"]) == ("m", "user.wav", 2500.0)
    assert abs(seconds(rec.dir / "user.wav") - 2.5) < 1e-6
    assert sorted(p.name for p in rec.dir.iterdir()) == [
        "turn-001-assistant.wav", "turn-002-assistant.wav", "turn-004-assistant.wav", "turns.json", "user.wav"
    ]


def test_a_resumed_session_gets_a_folder_of_its_own(tmp_path: Path) -> None:
    first = RealtimeRecording(tmp_path, "again", agent="front")
    first.close()
    second = RealtimeRecording(tmp_path, "again", agent="front")
    assert (first.dir.name, second.dir.name) == ("again", "again-2")
    assert meta_of(second)["session"] == "again"


def test_a_write_failure_stops_the_recording_not_the_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = RealtimeRecording(tmp_path, "full", agent="front")
    (rec.dir / "user.wav").mkdir()  # user.wav cannot be opened as a file
    rec.user_audio(pcm16(tone(0.1)))
    feed(rec, ev.TurnStarted(turn=1, input="x"), ev.TurnDone(turn=1, output="y"), ev.SessionEnded())
    assert rec.failed
    assert capsys.readouterr().err.count("--record stopped") == 1
