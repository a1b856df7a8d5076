"""The acoustic end-of-turn model in the real `agent voice --vad` on the PulseAudio virtual devices: a
request spoken with a ~1 s thinking pause, whose transcript (the simulator's) ends every fragment with a
full stop as a real STT does, is one turn with `voice.turn.model: smart-turn`, and two without it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.pulse import PulseRig
from tests.voice.e2e import VoiceProcess, phrases_wav, write_script

pytestmark = [pytest.mark.e2e, pytest.mark.audio]

FIRST = "I would like to book a table for two."
# one entry per transcription: the first fragment alone, then the whole turn (more than needed)
HEARD = [FIRST] + [FIRST + " At eight tonight, please."] * 6
REPLY = "Your table for two is booked."


def _turns(rig: PulseRig, tmp_path: Path, model: str) -> tuple[int, VoiceProcess]:
    # the comma gives espeak-ng's rising, unfinished tone: the transcript's full stop says otherwise
    speech = phrases_wav(tmp_path / "pause.wav", ["I would like to book a table for two,",
                                                  "at eight tonight please."], pause_s=1.0)
    script = write_script(tmp_path / "s.yaml", HEARD, [REPLY])
    spec = tmp_path / "agent.yaml"
    spec.write_text(f"name: booker\nvoice:\n  turn: {{model: {model}}}\n")
    voice = VoiceProcess(str(spec), "--sim-script", str(script), "--vad", "--headphones", "--session", "book")
    try:
        voice.wait_event("state", state="listening", timeout=30)
        rig.speak_into_mic(speech).wait(timeout=60)
        voice.wait_event("turn_latency", timeout=60)
        time.sleep(2.5)  # longer than max_wait_ms: a second turn would have started by now
        assert voice.quit() == 0, voice.stderr
    finally:
        voice.kill()
    return len(voice.of("turn_started")), voice


def test_a_thinking_pause_after_a_full_stop_is_one_turn_with_the_model(pulse_rig: PulseRig,
                                                                        tmp_path: Path) -> None:
    turns, voice = _turns(pulse_rig, tmp_path, "smart-turn")
    assert "Smart Turn" not in voice.stderr, voice.stderr  # the model was loaded, not skipped
    assert turns == 1, [e["text"] for e in voice.of("transcript_done")]
    assert [e["text"] for e in voice.of("transcript_done")] == [HEARD[1]]
    assert "".join(e["delta"] for e in voice.of("text_delta")).strip() == REPLY


def test_without_the_model_the_full_stop_ends_the_turn_at_the_pause(pulse_rig: PulseRig, tmp_path: Path) -> None:
    turns, voice = _turns(pulse_rig, tmp_path, "none")
    assert turns >= 2, [e["text"] for e in voice.of("transcript_done")]
    assert voice.of("transcript_done")[0]["text"] == FIRST
