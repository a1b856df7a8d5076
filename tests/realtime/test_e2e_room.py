"""`agent voice --realtime` in a room whose speaker leaks into the microphone (issue 10): on the PulseAudio
rig, a `module-loopback` from the speaker's monitor into the microphone at full volume, and no
`--headphones`. A long answer plays to its end: its own voice never interrupts it and never becomes a user
turn (the echo guard, the pause-and-resume of suspected speech and the echo match all play their part).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from agentcli.sim.speech import synthesize_pcm
from tests.pulse import MIC_SINK, SPEAKER_SINK, PulseRig
from tests.realtime.test_e2e import QUESTION, Live, check_wire
from tests.voice.e2e import espeak_wav, sound_span

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

LONG_ANSWER = "Here is a long answer about the weather in Paris, which goes on for a while. " * 3


@contextmanager
def echo_path(latency_ms: int = 30, volume: str = "100%") -> Iterator[None]:
    """The speaker heard by the microphone: what plays on vspk is played into vmic as well."""
    r = subprocess.run(
        ["pactl", "load-module", "module-loopback", f"source={SPEAKER_SINK}.monitor", f"sink={MIC_SINK}",
         f"latency_msec={latency_ms}", "source_dont_move=true", "sink_dont_move=true"],
        capture_output=True, text=True, timeout=10,
    )
    assert r.returncode == 0, r.stderr
    module = r.stdout.strip()
    try:
        subprocess.run(["pactl", "set-sink-volume", MIC_SINK, volume], capture_output=True, timeout=10)
        time.sleep(0.3)  # the loopback settles before anything plays
        yield
    finally:
        subprocess.run(["pactl", "unload-module", module], capture_output=True, timeout=10)


@pytest.mark.audio
def test_a_long_answer_plays_to_its_end_over_its_own_echo(pulse_rig: PulseRig, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_REALTIME_LOG", str(tmp_path / "wire.jsonl"))
    question = espeak_wav(tmp_path / "question.wav", QUESTION)
    script = {"hear": [QUESTION, "echo one", "echo two", "echo three", "echo four"],
              "turns": [{"match": "weather", "reply": [LONG_ANSWER]}, {"reply": ["I should not answer this."]}]}
    with echo_path():
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
    expected = len(synthesize_pcm(LONG_ANSWER, "cedar", 1.0)) / 48000
    span = sound_span(speaker)
    assert span is not None and span[1] - span[0] >= expected - 0.3, (span, expected)  # played to its end
    sent, _ = check_wire(tmp_path / "wire.jsonl")
    assert [e for e in sent if e["type"] == "session.update"][0]["session"]["audio"]["input"]["turn_detection"][
        "interrupt_response"] is False
    assert len(live.proc.of("turn_done")) == 1
