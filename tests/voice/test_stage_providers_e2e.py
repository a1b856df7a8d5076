"""`agent voice --input q.wav --output a.wav --sim` with STT and TTS on a second `agent sim serve` (another
base URL than the agent's): the transcript comes from the second server, the reply is spoken."""

from __future__ import annotations

import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import ROOT, agent_env, run_agent
from tests.voice.e2e import sound_span

pytestmark = pytest.mark.e2e

HEARD = "what is on the menu tonight"


@pytest.fixture
def speech_server(tmp_path: Path) -> Iterator[str]:
    script = tmp_path / "speech.yaml"
    script.write_text(yaml.safe_dump({"hear": [HEARD]}))
    proc = subprocess.Popen([sys.executable, "-m", "agentcli", "sim", "serve", "--script", str(script)], cwd=ROOT,
                            env=agent_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def tone_wav(path: Path) -> Path:
    samples = (0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(samples.tobytes())
    return path


def test_stt_and_tts_on_a_second_server(tmp_path: Path, speech_server: str) -> None:
    spec = tmp_path / "agent.yaml"
    spec.write_text(yaml.safe_dump({"name": "waiter", "voice": {
        "stt": {"provider": {"base_url": speech_server}},
        "tts": {"provider": {"base_url": speech_server}},
    }}))
    out = tmp_path / "a.wav"
    r = run_agent("voice", str(spec), "--sim", "--input", str(tone_wav(tmp_path / "q.wav")), "--output", str(out),
                  timeout=60)
    assert r.returncode == 0, r.stderr
    # the embedded simulator (the agent's) would have heard "audio of 1.0 s": this came from the second one
    assert r.stdout.strip() == f"You said: {HEARD}"
    assert sound_span(out) is not None, "the reply WAV is silent"


def test_without_stage_providers_speech_stays_on_the_agents_server(tmp_path: Path, speech_server: str) -> None:
    spec = tmp_path / "agent.yaml"
    spec.write_text(yaml.safe_dump({"name": "waiter"}))
    r = run_agent("voice", str(spec), "--sim", "--input", str(tone_wav(tmp_path / "q.wav")), "--output",
                  str(tmp_path / "a.wav"), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "You said: audio of 1.0 s"
