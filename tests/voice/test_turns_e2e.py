"""Turn taking of the real `agent voice --vad` on the PulseAudio virtual devices, against the simulator:
a 200 ms sound during an answer pauses it and the answer resumes and finishes; speech with ~1 s thinking
pauses (JFK, or generated phrases) is one turn and no answer plays before it ends; a real barge-in with
--record keeps the part heard (its WAV and length) in turns.json."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from agentcli.audio.wavfile import load_wav
from agentcli.runtime.conversations import SessionStore
from tests.pulse import PulseRig
from tests.voice.e2e import JFK, VoiceProcess, burst_wav, espeak_wav, phrases_wav, sound_span, write_script

pytestmark = [pytest.mark.e2e, pytest.mark.audio]

QUESTION = "what is the weather in Paris"
ANSWER = " ".join(f"Here is sentence number {n} of the answer." for n in range(1, 7))
# What a transcriber hears of a phrase cut short: each reads unfinished, so the turn waits for more.
# (More entries than fragments: a transcription of every fragment so far gets one.)
UNFINISHED = ["And so, my fellow Americans,", "And so, my fellow Americans, ask not what your country can do,"] + [
    "And so, my fellow Americans, ask not what your country can do for you, ask what you can do for"] * 10


def test_a_short_sound_during_an_answer_pauses_it_and_the_answer_resumes(pulse_rig: PulseRig,
                                                                            tmp_path: Path) -> None:
    question = espeak_wav(tmp_path / "q.wav", QUESTION)
    burst = burst_wav(tmp_path / "burst.wav", 0.2)
    script = write_script(tmp_path / "s.yaml", [QUESTION + "?"], [ANSWER])
    spk = pulse_rig.start_speaker_recording(tmp_path / "speaker.wav")
    voice = VoiceProcess("--sim-script", str(script), "--vad", "--headphones", "--record", str(tmp_path / "rec"),
                         "--session", "cough")
    try:
        voice.wait_event("state", state="listening", timeout=30)
        pulse_rig.speak_into_mic(question).wait(timeout=60)
        voice.wait_event("state", state="speaking", timeout=30)
        time.sleep(1.5)
        pulse_rig.speak_into_mic(burst).wait(timeout=30)
        paused = voice.wait_event("playback_paused", timeout=10)
        resumed = voice.wait_event("playback_resumed", timeout=10)
        done = voice.wait_event("turn_latency", timeout=60)
        time.sleep(0.3)
        assert voice.quit() == 0, voice.stderr
    finally:
        voice.kill()
        speaker = spk.stop()
    assert not voice.of("interrupted"), voice.of("interrupted")
    assert paused["heard_ms"] > 500
    assert 0 < resumed["speech_ms"] < 400 and resumed["paused_ms"] > 0, resumed
    assert "first_sample_played" in done["marks"]
    assert len(voice.of("turn_started")) == 1  # the sound was not a turn
    conv = SessionStore().load("cough")
    assert conv is not None
    answers = [i for i in conv.items if i.get("role") == "assistant"]
    assert [a["content"].strip() for a in answers] == [ANSWER] and "_interrupted" not in answers[0]
    # the whole answer came out of the speaker: what was synthesized, plus the pause
    meta = json.loads((tmp_path / "rec" / "cough" / "turns.json").read_text())
    assert meta["turns"][0]["status"] == "ok" and len(meta["turns"]) == 1
    span = sound_span(speaker)
    assert span is not None
    assert span[1] - span[0] >= meta["turns"][0]["assistant_ms"] / 1000 - 0.3


def _one_turn(rig: PulseRig, tmp_path: Path, speech: Path, reply: str) -> None:
    """`speech` (with thinking pauses) at default settings is one user turn, answered after it ends."""
    script = write_script(tmp_path / "s.yaml", UNFINISHED, [reply])
    spk = rig.start_speaker_recording(tmp_path / "speaker.wav")
    voice = VoiceProcess("--sim-script", str(script), "--vad", "--session", "pauses")
    try:
        voice.wait_event("state", state="listening", timeout=30)
        speech_span = sound_span(speech)
        assert speech_span is not None
        t0 = time.perf_counter()
        rig.speak_into_mic(speech).wait(timeout=60)
        voice.wait_event("turn_latency", timeout=60)
        time.sleep(0.5)
        assert voice.quit() == 0, voice.stderr
    finally:
        voice.kill()
        speaker = spk.stop()
    assert len(voice.of("turn_started")) == 1, [e["text"] for e in voice.of("transcript_done")]
    assert len(voice.of("transcript_done")) == 1
    assert not voice.of("interrupted")
    conv = SessionStore().load("pauses")
    assert conv is not None
    assert len([i for i in conv.items if i.get("role") == "user"]) == 1
    assert "".join(e["delta"] for e in voice.of("text_delta")).strip() == reply
    span = sound_span(speaker)
    assert span is not None, "the answer never played"
    reply_start = spk.started + span[0]
    speech_end = t0 + speech_span[1]
    assert reply_start > speech_end, (reply_start - speech_end)  # nothing of the answer during the pauses


def test_generated_speech_with_thinking_pauses_is_one_turn(pulse_rig: PulseRig, tmp_path: Path) -> None:
    speech = phrases_wav(tmp_path / "pauses.wav", ["and so my fellow Americans",
                                                   "ask not what your country can do for you",
                                                   "ask what you can do for your country"], pause_s=1.0)
    _one_turn(pulse_rig, tmp_path, speech, "Those are famous words.")


def test_jfk_at_default_settings_is_one_turn(pulse_rig: PulseRig, tmp_path: Path) -> None:
    if not JFK.is_file():
        pytest.skip(f"{JFK} is absent (shared test data; AGENT_TEST_SHARED_DATA can point to it)")
    _one_turn(pulse_rig, tmp_path, JFK, "Those are famous words.")


def test_a_real_barge_in_interrupts_and_the_recording_tells_what_was_heard(pulse_rig: PulseRig,
                                                                           tmp_path: Path) -> None:
    question = espeak_wav(tmp_path / "q.wav", QUESTION)
    stop = espeak_wav(tmp_path / "stop.wav", "stop please, that is enough")
    script = write_script(tmp_path / "s.yaml", [QUESTION + "?", "stop please."], [ANSWER, "Okay."],
                          ["weather", "stop"])
    rec = tmp_path / "rec"
    voice = VoiceProcess("--sim-script", str(script), "--vad", "--headphones", "--record", str(rec),
                         "--session", "cut")
    try:
        voice.wait_event("state", state="listening", timeout=30)
        pulse_rig.speak_into_mic(question).wait(timeout=60)
        voice.wait_event("state", state="speaking", timeout=30)
        time.sleep(1.5)
        pulse_rig.speak_into_mic(stop)
        interrupted = voice.wait_event("interrupted", timeout=30)
        voice.wait_event("turn_done", output="Okay.", timeout=30)
        time.sleep(0.3)
        assert voice.quit() == 0, voice.stderr
    finally:
        voice.kill()
    # paused at once, then interrupted; under a starved CPU a gap between words may resume it in between,
    # but the interruption always follows a pause
    kinds = [e["type"] for e in voice.events if e["type"] in ("playback_paused", "playback_resumed", "interrupted")]
    assert kinds[0] == "playback_paused" and kinds[kinds.index("interrupted") - 1] == "playback_paused", kinds
    turns = json.loads((rec / "cut" / "turns.json").read_text())["turns"]
    first = turns[0]
    assert first["status"] == "interrupted" and first["heard_text"] == interrupted["heard_text"]
    assert first["heard_ms"] == pytest.approx(interrupted["heard_ms"], abs=1.0)
    # the WAV holds the part heard; received_ms is what had been synthesized and given to the speaker
    assert 1000 < first["heard_ms"] < first["received_ms"]
    assert first["assistant_ms"] == pytest.approx(first["heard_ms"], abs=1.0)
    samples, fmt = load_wav(rec / "cut" / first["assistant_wav"])
    assert samples.shape[0] * 1000 / fmt.rate == pytest.approx(first["assistant_ms"], abs=1.0)
    assert [t["user_text"] for t in turns] == [QUESTION + "?", "stop please."]
