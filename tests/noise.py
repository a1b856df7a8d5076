"""Noise for the microphone, made with sox: steady noise (a fan, a car), a cough-like burst, typing clicks.

Each helper writes a 16 kHz mono 16-bit WAV and returns its path; play it into the virtual mic with
`PulseRig.speak_into_mic()` (tests/pulse.py) or mix it in numpy. Skips the test when sox is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from agentcli.audio.wavfile import read_wav, write_wav

RATE = 16000


def _sox(*args: str) -> None:
    if shutil.which("sox") is None:
        pytest.skip("sox is not installed (apt-get install sox)")
    subprocess.run(["sox", *args], check=True, capture_output=True, timeout=30)


def noise_wav(path: str | os.PathLike[str], kind: str = "brown", seconds: float = 10.0, level_db: float = -30) -> Path:
    """Steady noise (`kind`: white, pink or brown: a fan, a car) at `level_db` dBFS RMS."""
    out = os.fspath(path)
    _sox("-n", "-r", str(RATE), "-c", "1", "-b", "16", out, "synth", f"{seconds}", f"{kind}noise", "norm", "-1")
    x = read_wav(out, RATE).astype(np.float64)
    x *= 10 ** (level_db / 20) / max(1e-9, float(np.sqrt(np.mean(x**2))))
    write_wav(out, np.clip(x, -1, 1).astype(np.float32), RATE)  # sox sets the peak, we want the RMS
    return Path(out)


def cough_wav(path: str | os.PathLike[str], ms: int = 200) -> Path:
    """A cough-like burst: band-passed noise with a fast attack and a decay, `ms` long, loud."""
    out = os.fspath(path)
    s = ms / 1000
    _sox("-n", "-r", str(RATE), "-c", "1", "-b", "16", out, "synth", f"{s}", "pinknoise", "bandpass", "700", "1.2q",
         "fade", "t", "0.01", f"{s}", f"{s * 0.7}", "norm", "-3")
    return Path(out)


def clicks_wav(path: str | os.PathLike[str], seconds: float = 5.0, per_second: float = 8.0) -> Path:
    """Typing: 4 ms clicks (decaying noise bursts) every 1/`per_second` s, with silence between."""
    out = Path(path)
    click = out.with_suffix(".click.wav")
    _sox("-n", "-r", str(RATE), "-c", "1", "-b", "16", str(click), "synth", "0.004", "whitenoise", "fade", "t", "0",
         "0.004", "0.004", "pad", "0", f"{1 / per_second - 0.004:.4f}", "norm", "-2")
    _sox(str(click), str(out), "repeat", str(max(0, int(seconds * per_second) - 1)))
    return out
