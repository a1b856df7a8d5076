"""Shared by the realtime end-to-end tests (test_e2e.py, test_e2e_live.py, test_e2e_room.py and others):
the spec and script, the wire check, the Live process on the PulseAudio rig, and their fixtures."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agentcli.audio.wavfile import load_wav
from agentcli.realtime.protocol import validate_client_event, validate_server_event
from tests.pulse import PulseRig
from tests.voice.e2e import VoiceProcess, espeak_wav

SPEC = Path(__file__).parent / "specs" / "realtime.yaml"
QUESTION = "what is the weather in Paris"
ANSWER = "It is sunny in Paris today."
LONG_AH = "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaah"


def write_script(path: Path, script: dict[str, Any]) -> Path:
    path.write_text(json.dumps(script))  # JSON is YAML
    return path


def check_wire(log: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every sent event validates as a client event, every received one as a server event."""
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    sent = [r["event"] for r in records if r["dir"] == "sent"]
    received = [r["event"] for r in records if r["dir"] == "received"]
    for event in sent:
        validate_client_event(event)
    for event in received:
        validate_server_event(event)
    assert sent and received
    return sent, received


def played_until_cut(recording: Path, answer: str, voice: str = "cedar") -> float:
    """How many ms of the answer's audio the speaker played before it went silent. The answer is found
    in the recording by correlating with its audio (the sim's voice, made again here); being a vowel
    held without a pause, it only goes silent where playback was cut."""
    from agentcli.sim.speech import synthesize_pcm

    ref = np.frombuffer(synthesize_pcm(answer, voice, 1.0), "<i2").astype(np.float32) / 32768
    samples, fmt = load_wav(recording)
    assert fmt.rate == 24000
    rec = samples.reshape(-1).astype(np.float32)
    probe = ref[: fmt.rate // 4]
    corr = np.correlate(rec, probe, mode="valid")
    start = int(np.argmax(corr))
    window = fmt.rate // 50  # 20 ms of digital silence marks the cut
    quiet = np.abs(rec[start:]) < 0.01
    run = np.convolve(quiet.astype(np.int32), np.ones(window, np.int32), mode="valid")
    end = int(np.flatnonzero(run == window)[0])
    return end * 1000 / fmt.rate


@pytest.fixture
def wire_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "wire.jsonl"
    monkeypatch.setenv("AGENT_REALTIME_LOG", str(log))
    return log


@pytest.fixture
def question_wav(tmp_path: Path) -> Path:
    return espeak_wav(tmp_path / "question.wav", QUESTION)


class Live:
    """`agent voice SPEC --realtime --jsonl` on the virtual devices, with the speaker recorded."""

    def __init__(self, rig: PulseRig, tmp_path: Path, script: dict[str, Any], *extra: str, spec: Path = SPEC):
        self.rig = rig
        self.speaker = rig.start_speaker_recording(tmp_path / "speaker.wav")
        path = write_script(tmp_path / "script.yaml", script)
        self.proc = VoiceProcess(str(spec), "--realtime", "--sim-script", str(path), *extra)
        self.proc.wait_event("state", state="listening", timeout=30)

    def say(self, wav: Path) -> None:
        self.rig.speak_into_mic(wav).wait(timeout=60)

    def stop(self) -> tuple[int, Path]:
        time.sleep(0.3)
        code = self.proc.quit()
        return code, self.speaker.stop()

    def close(self) -> None:
        self.proc.kill()
        self.speaker.stop()


def push_to_talk_turns(proc: Any, rig: PulseRig, question: Path) -> None:
    """Through the pty of `agent voice --realtime --ptt`: a spoken turn between two presses of Space, then a
    typed line, then Ctrl-D; the process exits 0."""
    proc.expect("Space or Enter", timeout=30)
    time.sleep(0.3)
    proc.send(" ")
    time.sleep(0.2)
    rig.speak_into_mic(question).wait(timeout=60)
    time.sleep(0.2)
    proc.send(" ")
    proc.expect(f"Heard: {QUESTION}", timeout=30)
    proc.send("typed words\r")
    proc.expect("Heard: typed words", timeout=30)
    proc.send("\x04")
    assert proc.wait(timeout=20) == 0

