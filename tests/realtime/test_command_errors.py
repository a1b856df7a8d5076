"""`agent voice --realtime` failing the way a user meets it: an input file that cannot make a turn (it
used to end with exit 0 and no output), a refused handshake (printed twice, never retried). Each is one
clear line on stderr and exit 1. The real command against the simulator, no devices."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_agent

SPEC = Path(__file__).parent / "specs" / "realtime.yaml"
RATE = 24000


def write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(RATE)
        f.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def tone(seconds: float, amplitude: float) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return amplitude * np.sin(2 * np.pi * 220 * t)


@pytest.mark.parametrize(
    "samples, message",
    [
        (np.zeros(0), "no audio in the file"),
        (np.zeros(RATE * 2), "the file is silent"),
        (tone(0.01, 0.3), "10 ms of audio is too short"),
        (tone(1.0, 0.003), "no turn was heard in the file"),  # not silent, but too quiet to be speech
    ],
    ids=["empty", "silent", "10ms", "too-quiet"],
)
def test_input_file_with_nothing_to_answer(tmp_path: Path, samples: np.ndarray, message: str) -> None:
    wav = write_wav(tmp_path / "in.wav", samples)
    args = ["voice", str(SPEC), "--realtime", "--sim", "--input", str(wav), "--output", str(tmp_path / "out.wav")]
    r = run_agent(*args, timeout=60)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert message in r.stderr and str(wav) in r.stderr
    assert "Traceback" not in r.stderr
    assert r.stdout == ""


def test_input_file_with_speech_still_answers(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "in.wav", np.concatenate([tone(0.8, 0.3), np.zeros(RATE // 2)]))
    args = ["voice", str(SPEC), "--realtime", "--sim", "--input", str(wav), "--output", str(tmp_path / "out.wav")]
    r = run_agent(*args, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "You said: audio of" in r.stdout


def run_with_faults(tmp_path: Path, faults: list[dict[str, object]]) -> tuple[int, list[str]]:
    script = tmp_path / "script.yaml"
    script.write_text(json.dumps({"faults": faults}))
    wav = write_wav(tmp_path / "in.wav", np.concatenate([tone(0.8, 0.3), np.zeros(RATE // 2)]))
    r = run_agent("voice", str(SPEC), "--realtime", "--sim-script", str(script), "--input", str(wav),
                  "--output", str(tmp_path / "out.wav"), timeout=60)  # fmt: skip
    assert "Traceback" not in r.stderr
    return r.returncode, [line for line in r.stderr.splitlines() if line.startswith("agent: error:")]


def test_refused_handshake_is_one_line(tmp_path: Path) -> None:
    code, errors = run_with_faults(tmp_path, [{"status": 401}])
    assert code == 1 and len(errors) == 1 and "rejected the API key" in errors[0]


def test_overloaded_handshake_is_retried_then_one_line(tmp_path: Path) -> None:
    code, errors = run_with_faults(tmp_path, [{"status": 503, "times": 3}])  # provider.max_retries is 2
    assert code == 1 and len(errors) == 1 and "HTTP 503" in errors[0]
    assert run_with_faults(tmp_path, [{"status": 503, "times": 2}])[0] == 0  # the third attempt gets through
