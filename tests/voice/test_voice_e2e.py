"""The real `agent voice` command against the simulator: file mode, errors, and live sessions on the
PulseAudio virtual microphone and speaker (hands-free, barge-in, push-to-talk through a pty)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from agentcli.runtime.conversations import SessionStore
from tests.conftest import ROOT, run_agent
from tests.ptydriver import PtyProcess
from tests.pulse import PulseRig
from tests.turn_ids import check_turn_ids, of_turn
from tests.voice.e2e import JFK, VoiceProcess, espeak_wav, sound_span, wav_seconds, write_script

pytestmark = pytest.mark.e2e

QUESTION = "what is the weather in Paris"
REPLY = "It is sunny in Paris today. The temperature is twenty degrees."
LONG_REPLY = " ".join(f"This is sentence number {n} of a long answer that goes on." for n in range(1, 13))
SECRET = "sk-test-secret-must-not-leak-1234"


@pytest.fixture
def question_wav(tmp_path: Path) -> Path:
    return espeak_wav(tmp_path / "question.wav", QUESTION)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    return write_script(tmp_path / "script.yaml", [QUESTION], [REPLY])


# --- file mode and errors (no sound device needed) -------------------------------------------------


def test_file_mode_writes_the_reply_audio(tmp_path: Path, question_wav: Path, script: Path) -> None:
    out = tmp_path / "reply.wav"
    r = run_agent("voice", "--sim-script", str(script), "--input", str(question_wav), "--output", str(out),
                  "--session", "filemode")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == REPLY  # the reply text alone on stdout
    assert f"you: {QUESTION}" in r.stderr
    assert "latency:" in r.stderr
    span = sound_span(out)
    assert span is not None, "the reply WAV is silent"
    # espeak-ng says the 62-character reply in roughly 3-6 s
    assert 2.0 < wav_seconds(out) < 10.0
    conv = SessionStore().load("filemode")
    assert conv is not None
    assert [i["content"] for i in conv.items] == [QUESTION, REPLY]


def test_file_mode_jsonl_and_recording(tmp_path: Path, question_wav: Path, script: Path) -> None:
    out, rec = tmp_path / "reply.wav", tmp_path / "rec"
    env = dict(os.environ, OPENAI_API_KEY=SECRET)
    r = run_agent("voice", "--sim-script", str(script), "--input", str(question_wav), "--output", str(out),
                  "--jsonl", "--record", str(rec), "--session", "recorded", env=env)
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    kinds = [e["type"] for e in events]
    for kind in ("session_started", "transcript_delta", "transcript_done", "turn_started", "text_delta",
                 "speech_done", "turn_latency", "turn_done", "session_ended"):
        assert kind in kinds, kind
    assert kinds.index("transcript_done") < kinds.index("turn_started") < kinds.index("speech_done")
    assert check_turn_ids(events) == ["1"]  # the user's speech and transcript, before the turn began, too
    marks = next(e for e in events if e["type"] == "turn_latency")["marks"]
    for mark in ("end_of_speech", "transcript_final", "first_token", "first_sentence", "first_audio_byte",
                 "first_sample_played"):
        assert mark in marks, mark
    assert marks["first_audio_byte"] <= marks["first_sample_played"]
    speech = [e for e in events if e["type"] == "speech_done"]
    assert "".join(e["text"] + " " for e in speech).strip() == REPLY
    assert all(e["first_byte_ms"] is not None and e["audio_ms"] > 0 for e in speech)
    folder = rec / "recorded"
    meta = json.loads((folder / "turns.json").read_text())
    turn = meta["turns"][0]
    assert turn["user_text"] == QUESTION and turn["answer"].strip() == REPLY
    assert (folder / turn["user_wav"]).is_file() and (folder / turn["assistant_wav"]).is_file()
    assert abs(turn["assistant_ms"] / 1000 - wav_seconds(out)) < 0.05
    assert abs(turn["user_ms"] / 1000 - wav_seconds(question_wav)) < 0.05
    for f in folder.iterdir():
        assert SECRET.encode() not in f.read_bytes(), f


def test_record_without_a_folder_saves_into_recordings(tmp_path: Path, question_wav: Path, script: Path) -> None:
    out = tmp_path / "reply.wav"
    r = run_agent("voice", "--sim-script", str(script), "--input", str(question_wav), "--output", str(out),
                  "--record", "-q", "--session", "default-dir", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # -q was taken as a flag, not as the folder
    folder = tmp_path / "recordings" / "default-dir"
    turns = json.loads((folder / "turns.json").read_text())["turns"]
    assert turns[0]["user_text"] == QUESTION and (folder / turns[0]["user_wav"]).is_file()


def test_a_resumed_session_records_beside_the_earlier_recording(
    tmp_path: Path, question_wav: Path, script: Path
) -> None:
    args = ["voice", "--sim-script", str(script), "--input", str(question_wav), "--output", str(tmp_path / "a.wav"),
            "--record", str(tmp_path / "rec"), "--session", "again"]
    assert run_agent(*args).returncode == 0
    first = (tmp_path / "rec" / "again" / "turn-001-user.wav").read_bytes()
    r = run_agent(*args)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "rec" / "again" / "turn-001-user.wav").read_bytes() == first  # not overwritten
    assert json.loads((tmp_path / "rec" / "again-2" / "turns.json").read_text())["turns"][0]["user_text"] == QUESTION


def test_file_mode_with_jfk(tmp_path: Path) -> None:
    if not JFK.is_file():
        pytest.skip(f"{JFK} is absent (shared test data)")
    script = write_script(tmp_path / "s.yaml", [], ["Those are famous words."])
    out = tmp_path / "reply.wav"
    r = run_agent("voice", "--sim-script", str(script), "--input", str(JFK), "--output", str(out))
    assert r.returncode == 0, r.stderr
    assert "you: audio of 11.0 s" in r.stderr  # the simulator's default transcript names the length
    assert sound_span(out) is not None


def test_bad_wav_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav at all")
    r = run_agent("voice", "--sim", "--input", str(bad), "--output", str(tmp_path / "o.wav"))
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "bad.wav" in r.stderr and "Traceback" not in r.stderr


def test_missing_input_file_is_usage(tmp_path: Path) -> None:
    r = run_agent("voice", "--sim", "--input", str(tmp_path / "nope.wav"))
    assert r.returncode == 2 and "no such file" in r.stderr


def test_missing_device_is_one_line() -> None:
    r = run_agent("voice", "--sim", "--vad", "--input-device", "nonexistent", timeout=30)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("agent: error:")
    assert "--input-device" in line or "libportaudio2" in line


# --- live sessions on the virtual devices -----------------------------------------------------------


def _hands_free(rig: PulseRig, tmp_path: Path, speech: Path, script: Path, reply: str,
                spec: Path | None = None) -> None:
    """Speak `speech` into the virtual mic; the reply must come out of the virtual speaker in full."""
    rec_dir = tmp_path / "rec"
    spk = rig.start_speaker_recording(tmp_path / "speaker.wav")
    args = ([str(spec)] if spec else []) + ["--sim-script", str(script), "--vad", "--record", str(rec_dir)]
    voice = VoiceProcess(*args, "--session", "hf")
    try:
        voice.wait_event("state", state="listening", timeout=30)
        mic = rig.speak_into_mic(speech)
        mic.wait(timeout=60)
        spoken_end = time.perf_counter()
        latency = voice.wait_event("turn_latency", timeout=60)
        time.sleep(0.3)
        assert voice.quit() == 0, voice.stderr
    finally:
        voice.kill()
        speaker = spk.stop()
    assert "".join(e["delta"] for e in voice.of("text_delta")).strip() == reply
    marks = latency["marks"]
    assert marks["first_sample_played"] >= marks["first_audio_byte"] >= marks["transcript_final"]
    # the reply as synthesized (recorded by agent voice) vs what the speaker actually played
    meta = json.loads((rec_dir / "hf" / "turns.json").read_text())
    synthesized = meta["turns"][0]["assistant_ms"] / 1000
    span = sound_span(speaker)
    assert span is not None, "nothing came out of the virtual speaker"
    first, last, _ = span
    played = last - first
    assert abs(played - synthesized) < 0.4, (played, synthesized)
    # order: the reply starts after the user stops (how soon is measured in bench/)
    reply_start = spk.started + first
    assert reply_start > spoken_end, reply_start - spoken_end


@pytest.mark.audio
def test_hands_free_turn_from_generated_speech(pulse_rig: PulseRig, tmp_path: Path, question_wav: Path,
                                               script: Path) -> None:
    _hands_free(pulse_rig, tmp_path, question_wav, script, REPLY)


@pytest.mark.audio
def test_hands_free_turn_from_jfk(pulse_rig: PulseRig, tmp_path: Path) -> None:
    if not JFK.is_file():
        pytest.skip(f"{JFK} is absent (shared test data)")
    reply = "Those are famous words from a speech."
    script = write_script(tmp_path / "s.yaml", [], [reply])
    # the speech has pauses of about a second between its phrases: a longer silence window keeps it one turn
    spec = tmp_path / "agent.yaml"
    spec.write_text("name: listener\nvoice:\n  vad:\n    silence_ms: 1500\n")
    _hands_free(pulse_rig, tmp_path, JFK, script, reply, spec)


@pytest.mark.audio
def test_barge_in_stops_playback_and_keeps_the_heard_part(pulse_rig: PulseRig, tmp_path: Path,
                                                          question_wav: Path) -> None:
    script = write_script(tmp_path / "s.yaml", [QUESTION, "stop please"], [LONG_REPLY, "Okay."],
                          ["weather", "stop"])
    stop_wav = espeak_wav(tmp_path / "stop.wav", "stop please, that is enough")
    spk = pulse_rig.start_speaker_recording(tmp_path / "speaker.wav")
    # the virtual mic hears no echo of the speaker: like headphones, so no echo guard
    voice = VoiceProcess("--sim-script", str(script), "--vad", "--headphones", "--session", "barge")
    try:
        voice.wait_event("state", state="listening", timeout=30)
        pulse_rig.speak_into_mic(question_wav).wait(timeout=60)
        voice.wait_event("state", state="speaking", timeout=30)
        time.sleep(1.5)  # let some of the long answer play
        barge = time.perf_counter()
        pulse_rig.speak_into_mic(stop_wav)
        interrupted = voice.wait_event("interrupted", timeout=30)
        voice.wait_event("transcript_done", text="stop please", timeout=30)
        voice.wait_event("turn_done", output="Okay.", timeout=30)
        time.sleep(0.3)
        assert voice.quit() == 0, voice.stderr
    finally:
        voice.kill()
        speaker = spk.stop()
    heard = interrupted["heard_text"]
    assert interrupted["heard_ms"] > 1000, interrupted  # played while we waited; cut: the text check below
    assert check_turn_ids(voice.events) == ["1", "2"]
    assert interrupted["turn_id"] == "1" and of_turn(voice.events, "2")[0] == "state:hearing"
    assert interrupted["silenced"] is not None and interrupted["silenced"] > interrupted["speech_started"]
    assert heard and LONG_REPLY.startswith(heard) and len(heard) < len(LONG_REPLY) / 2
    # the saved history: the first answer holds only the heard part, marked interrupted
    conv = SessionStore().load("barge")
    assert conv is not None
    answers = [i for i in conv.items if i.get("role") == "assistant"]
    assert answers[0]["content"] == heard and answers[0]["_interrupted"] is True
    assert [i["content"] for i in conv.items if i.get("role") == "user"] == [QUESTION, "stop please"]
    # playback stopped: the long answer (~40 s) was cut within a moment of the user speaking
    from agentcli.audio.wavfile import load_wav

    samples, fmt = load_wav(speaker)
    import numpy as np

    start = int((barge - spk.started + 1.0) * fmt.rate)  # a second after the barge-in began
    window = np.abs(samples[start : start + fmt.rate]).max() if samples.shape[0] > start else 0.0
    assert window < 0.01, "the answer kept playing after the barge-in"


@pytest.mark.audio
def test_push_to_talk_through_a_pty(pulse_rig: PulseRig, tmp_path: Path, question_wav: Path,
                                    script: Path) -> None:
    env = dict(os.environ, NO_COLOR="1")
    proc = PtyProcess([sys.executable, "-m", "agentcli", "voice", "--sim-script", str(script), "--session",
                       "ptt"], env=env, cwd=str(ROOT))
    try:
        proc.expect("Space or Enter", timeout=30)
        proc.send(" ")
        time.sleep(0.2)
        pulse_rig.speak_into_mic(question_wav).wait(timeout=60)
        time.sleep(0.2)
        proc.send(" ")
        proc.expect(f"you: {QUESTION}", timeout=30)
        proc.expect("It is sunny in Paris today", timeout=30)
        proc.expect("latency:", timeout=30)
        proc.send("tell me more\r")  # a typed line is sent as text
        proc.expect(r"latency:", timeout=30)
        proc.send("\x04")
        assert proc.wait(timeout=20) == 0
    finally:
        proc.close()
    conv = SessionStore().load("ptt")
    assert conv is not None
    assert [i["content"] for i in conv.items if i.get("role") == "user"] == [QUESTION, "tell me more"]
