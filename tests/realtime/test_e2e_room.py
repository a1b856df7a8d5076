"""`agent voice --realtime` in a room whose speaker leaks into the microphone (issue 10): on the PulseAudio
rig, a `module-loopback` from the speaker's monitor into the microphone (full volume and 18 dB down), and
no `--headphones`. A long answer plays to its end: its own voice never interrupts it and never becomes a
user turn (the echo canceller, the pause-and-resume of suspected speech and the echo match all play a part).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from agentcli.sim.speech import synthesize_pcm
from tests.pulse import PulseRig
from tests.realtime.e2e import QUESTION, Live, check_wire
from tests.voice.e2e import espeak_wav, sound_span

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

LONG_ANSWER = "Here is a long answer about the weather in Paris, which goes on for a while. " * 3


@pytest.mark.audio
@pytest.mark.parametrize("gain_db", [0.0, -18.0])
def test_a_long_answer_plays_to_its_end_over_its_own_echo(pulse_rig: PulseRig, tmp_path: Path, gain_db: float,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_REALTIME_LOG", str(tmp_path / "wire.jsonl"))
    question = espeak_wav(tmp_path / "question.wav", QUESTION)
    script = {"hear": [QUESTION, "echo one", "echo two", "echo three", "echo four"],
              "turns": [{"match": "weather", "reply": [LONG_ANSWER]}, {"reply": ["I should not answer this."]}]}
    with pulse_rig.echo_path(gain_db):
        live = Live(pulse_rig, tmp_path, script)  # no --headphones
        try:
            live.say(question)
            done = live.proc.wait_event("turn_done", timeout=60)
            time.sleep(1.5)  # anything the echo set off would show now
            code, speaker = live.stop()
        finally:
            live.close()
    assert code == 0, live.proc.stderr
    assert done["status"] == "ok" and done["output"] == LONG_ANSWER, done
    assert not live.proc.of("interrupted"), live.proc.of("interrupted")
    assert len(live.proc.of("turn_started")) == 1, live.proc.of("turn_started")
    paused, resumed = live.proc.of("playback_paused"), live.proc.of("playback_resumed")
    assert len(paused) == len(resumed)  # every pause the echo caused was resumed
    print(f"pauses: {len(paused)}, paused ms: {[r['paused_ms'] for r in resumed]}")
    reference = np.frombuffer(synthesize_pcm(LONG_ANSWER, "cedar", 1.0), "<i2").astype(np.float32) / 32768
    loud = np.flatnonzero(np.abs(reference) > 0.01)  # sound_span's threshold, on the answer as sent
    expected = (loud[-1] - loud[0]) / 24000
    span = sound_span(speaker)
    assert span is not None and span[1] - span[0] >= expected - 0.1, (span, expected)  # played to its end
    sent, _ = check_wire(tmp_path / "wire.jsonl")
    assert [e for e in sent if e["type"] == "session.update"][0]["session"]["audio"]["input"]["turn_detection"][
        "interrupt_response"] is False
    assert len(live.proc.of("turn_done")) == 1
