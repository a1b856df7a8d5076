"""`agent voice --vad` in a room whose speaker leaks into the microphone at full volume (no --headphones):
the assistant's own voice never becomes a user turn, and a long answer plays to the end uninterrupted."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.pulse import PulseRig
from tests.voice.e2e import VoiceProcess, espeak_wav, sound_span, write_script

pytestmark = [pytest.mark.e2e, pytest.mark.audio]
QUESTION = "tell me a long story please"
STORY = " ".join(f"This is part {n} of a long story that keeps going for a while." for n in range(1, 6))


def test_a_long_answer_plays_to_the_end_over_a_full_volume_echo(echo_path: PulseRig, tmp_path: Path) -> None:
    rig = echo_path
    speech = espeak_wav(tmp_path / "q.wav", QUESTION)
    script = write_script(tmp_path / "s.yaml", [QUESTION], [STORY])
    spk = rig.start_speaker_recording(tmp_path / "speaker.wav")
    voice = VoiceProcess("--sim-script", str(script), "--vad", "--session", "room")
    try:
        voice.wait_event("state", state="listening", timeout=30)
        rig.speak_into_mic(speech).wait(timeout=60)
        voice.wait_event("turn_latency", timeout=90)  # emitted once the whole answer has played
        time.sleep(1.5)  # the tail of the echo: it must not start a turn either
        assert voice.quit() == 0, voice.stderr
    finally:
        voice.kill()
        speaker = spk.stop()
    assert len(voice.of("turn_started")) == 1, [e["type"] for e in voice.events]
    assert voice.of("interrupted") == [] and voice.of("playback_paused") == []
    assert [e["text"] for e in voice.of("transcript_done") if e.get("role") == "user"] == [QUESTION]
    assert voice.of("turn_done")[0]["status"] == "ok"
    said = " ".join(e["text"] for e in voice.of("speech_done") if e.get("status") == "ok")
    assert said.split() == STORY.split()  # every sentence was spoken
    span = sound_span(speaker)
    assert span is not None and span[1] - span[0] > 10.0  # and it really played, for the length of a story
