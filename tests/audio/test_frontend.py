"""The acoustic front end on synthetic signals: a laptop echo path (delayed, filtered, attenuated far end),
near-end speech over it, the far-end timeline's alignment, the fallback without the WebRTC wheel."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from agentcli.audio import frontend as fe
from agentcli.audio.frontend import FarEndTap, FarEndTimeline, FrontEnd
from agentcli.audio.resample import resample
from agentcli.audio.wavfile import read_wav

RATE = 16000
PLAY_RATE = 24000  # what the player runs at in voice and realtime
BLOCK_S = 0.02
T0 = 1000.0  # a perf_counter-like origin for the virtual clock

FAR_TEXT = (
    "Here is the weather for today. It will be sunny with a light breeze from the west, "
    "temperatures around twenty degrees, and a small chance of rain late in the evening."
)
NEAR_TEXT = "Wait, stop, I have another question for you."


def db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def laptop_echo(far: np.ndarray, delay_ms: float, gain_db: float, seed: int = 7) -> np.ndarray:
    """A small speaker a few cm from the mic: direct path plus 60 ms of decaying reflections, a low-pass
    (the speaker has no bass and little treble), `delay_ms` of acoustic and converter delay."""
    rng = np.random.default_rng(seed)
    n = int(0.06 * RATE)
    h = rng.standard_normal(n) * np.exp(-np.arange(n) / (0.012 * RATE))
    h[0] += 3.0
    h = np.convolve(h, np.ones(4) / 4)
    h /= np.sqrt(np.sum(h**2))
    y = np.convolve(far, h)[: far.shape[0]]
    d = int(delay_ms * RATE / 1000)
    y = np.concatenate([np.zeros(d), y])[: far.shape[0]]
    return (y * 10 ** (gain_db / 20)).astype(np.float32)


class Scene:
    """Far-end speech played for its length, near-end speech starting 2 s before the far end stops and
    running on after it; the mic hears echo + near + a faint noise floor."""

    def __init__(self, far: np.ndarray, near: np.ndarray, delay_ms: float = 30.0, gain_db: float = -6.0):
        total = far.shape[0] + near.shape[0] + RATE
        self.far = np.zeros(total, np.float32)
        self.far[: far.shape[0]] = far
        self.echo = laptop_echo(self.far, delay_ms, gain_db)
        self.near = np.zeros(total, np.float32)
        self.near_at = far.shape[0] - 2 * RATE
        self.near[self.near_at : self.near_at + near.shape[0]] = near * 0.5
        noise = np.random.default_rng(3).standard_normal(total).astype(np.float32) * 1e-4
        self.mic = self.echo + self.near + noise
        self.far_end_s = far.shape[0] / RATE

    def run(self, front: FrontEnd, tap: FarEndTap, out_latency_ms: int = 60, in_latency_ms: float = 20) -> np.ndarray:
        """Play and capture block by block as the player's and recorder's callbacks would: the player hands
        each 24 kHz block over `out_latency_ms` before it is heard; the recorder delivers each mic block
        `in_latency_ms` after it was captured. The canceller sees the echo that much after its reference."""
        block = int(BLOCK_S * RATE)
        far24 = resample(self.far, RATE, PLAY_RATE)
        pblock = int(BLOCK_S * PLAY_RATE)
        out = np.zeros_like(self.mic)
        ahead = out_latency_ms // 20
        k = 0  # the next far block to hand over
        for i in range(self.mic.shape[0] // block):
            label = T0 + i * BLOCK_S + in_latency_ms / 1000  # the recorder's time for this block
            now = label + BLOCK_S  # when its callback delivers it
            while T0 + (k - ahead) * BLOCK_S <= now:  # every player callback until then (heard `ahead` later)
                tap.push(far24[k * pblock : (k + 1) * pblock].copy(), PLAY_RATE, T0 + (k - ahead) * BLOCK_S)
                k += 1
            out[i * block : (i + 1) * block] = front.process(self.mic[i * block : (i + 1) * block], label)
        return out

    def echo_reduction_db(self, out: np.ndarray) -> float:
        """Mic vs output while only the echo is there, after 2 s for the canceller to converge."""
        a, b = 2 * RATE, self.near_at
        return db(self.mic[a:b]) - db(out[a:b])

    def near_change_db(self, out: np.ndarray) -> float:
        """Output vs the near end alone, where only the near end speaks (the far end has stopped)."""
        a, b = int(self.far_end_s * RATE) + RATE // 10, self.near.shape[0] - RATE
        return db(out[a:b]) - db(self.near[a:b])


needs_webrtc = pytest.mark.skipif(fe.webrtc_available() is not None, reason="pywebrtc-audio is not importable")


@pytest.fixture(scope="module")
def voices(speech_wav: Callable[[str], Path]) -> tuple[np.ndarray, np.ndarray]:
    far = read_wav(speech_wav(FAR_TEXT), RATE) * 0.7
    near = read_wav(speech_wav(NEAR_TEXT), RATE)
    return far, near


@needs_webrtc
@pytest.mark.parametrize(
    ("delay_ms", "gain_db", "out_ms", "in_ms"),
    [(30, -6, 60, 20), (30, 0, 40, 0), (60, -18, 100, 45), (10, -6, 200, 80)],
)
def test_echo_is_reduced_30_db_and_the_near_end_kept_within_1_db(
    voices: tuple[np.ndarray, np.ndarray], delay_ms: float, gain_db: float, out_ms: int, in_ms: float
) -> None:
    """Echo cancellation and the high-pass filter (the speech path's own changes, without the noise
    suppressor's, which the next test bounds), over output and input latencies from a sound server's
    to a slow USB headset's: the echo comes 60-290 ms after its reference."""
    scene = Scene(*voices, delay_ms=delay_ms, gain_db=gain_db)
    tap = FarEndTap()
    out = scene.run(FrontEnd(RATE, far_end=tap, noise_suppression=False), tap, out_ms, in_ms)
    assert scene.echo_reduction_db(out) >= 30.0
    assert abs(scene.near_change_db(out)) <= 1.0


@needs_webrtc
@pytest.mark.parametrize("gain_db", [0, -6])
def test_the_whole_front_end_with_noise_suppression(voices: tuple[np.ndarray, np.ndarray], gain_db: float) -> None:
    """The noise suppressor (its own stage after the canceller) takes more echo off and leaves the near end
    alone (inside WebRTC's combined processor it took 1-2 dB off it after a full-volume echo)."""
    scene = Scene(*voices, delay_ms=30, gain_db=gain_db)
    tap = FarEndTap()
    out = scene.run(FrontEnd(RATE, far_end=tap), tap)
    assert scene.echo_reduction_db(out) >= 40.0
    assert abs(scene.near_change_db(out)) <= 1.0


@needs_webrtc
def test_without_a_reference_the_echo_stays(voices: tuple[np.ndarray, np.ndarray]) -> None:
    """The reduction comes from the far-end reference, not from noise suppression eating speech."""
    scene = Scene(*voices)
    out = scene.run(FrontEnd(RATE, far_end=FarEndTap()), FarEndTap())  # a tap nobody plays into
    assert scene.echo_reduction_db(out) < 6.0


@needs_webrtc
def test_headphones_turn_echo_handling_off(voices: tuple[np.ndarray, np.ndarray]) -> None:
    tap = FarEndTap()
    front = FrontEnd(RATE, far_end=tap, echo=False)
    assert not front.cancels_echo and front.timeline is None
    assert front.guard.headphones
    scene = Scene(*voices)
    out = scene.run(front, tap)
    assert scene.echo_reduction_db(out) < 6.0
    assert len(tap._blocks) == tap._blocks.maxlen  # nobody drains it: it keeps only the latest blocks


@needs_webrtc
def test_noise_suppression_lowers_steady_noise() -> None:
    noise = np.random.default_rng(5).standard_normal(4 * RATE).astype(np.float32) * 0.03
    front = FrontEnd(RATE, far_end=None)
    out = np.concatenate([front.process(noise[i : i + 320]) for i in range(0, noise.shape[0], 320)])
    assert db(noise[2 * RATE :]) - db(out[2 * RATE :]) >= 6.0


def test_high_pass_removes_hum_and_dc() -> None:
    if fe.webrtc_available() is not None:
        pytest.skip("pywebrtc-audio is not importable")
    t = np.arange(2 * RATE) / RATE
    hum = (0.2 + 0.2 * np.sin(2 * np.pi * 30 * t)).astype(np.float32)
    front = FrontEnd(RATE, far_end=None, noise_suppression=False)
    out = np.concatenate([front.process(hum[i : i + 320]) for i in range(0, hum.shape[0], 320)])
    assert db(hum[RATE:]) - db(out[RATE:]) >= 20.0


def test_timeline_lines_up_by_handed_time_and_fills_gaps_with_silence() -> None:
    tap = FarEndTap()
    line = FarEndTimeline(tap, RATE)
    ones = np.ones(320, np.float32)
    tap.push(ones, RATE, T0)  # handed over at T0 (covers T0 to T0 + 20 ms)
    tap.push(ones * 2, RATE, T0 + 0.5, restart=True)  # the stream paused, restarted 480 ms later
    before = line.take(160, T0 - 0.01)
    assert np.all(before == 0)  # nothing played yet 10 ms before T0
    assert np.all(line.take(160, T0) == 1)  # contiguous from where the last take ended
    got = line.take(320, T0 + 0.01)
    assert np.all(got[:160] == 1) and np.all(got[160:] == 0)
    assert np.all(line.take(320, T0 + 0.5) == 2)  # past the gap: re-anchored on the handed time
    assert line.resyncs == 1
    assert np.all(line.take(320, T0 + 0.52) == 0)  # after the last block: silence


def test_a_late_callback_of_a_running_stream_leaves_no_gap_in_the_reference() -> None:
    """A busy machine delays the player's callback by 80 ms; the device's buffer covered it, so the audio
    played on without a gap and the reference must too (a gap would put it after its echo)."""
    tap = FarEndTap()
    line = FarEndTimeline(tap, RATE)
    ramp = np.arange(640, dtype=np.float32)
    tap.push(ramp[:320], RATE, T0)
    tap.push(ramp[320:], RATE, T0 + 0.02 + 0.08)  # late, same stream
    assert np.array_equal(line.take(640, T0), ramp)


def test_timeline_ignores_jitter_smaller_than_the_resync_window() -> None:
    tap = FarEndTap()
    line = FarEndTimeline(tap, RATE)
    ramp = np.arange(3200, dtype=np.float32)
    tap.push(ramp, RATE, T0)
    a = line.take(320, T0)
    b = line.take(320, T0 + 0.02 + 0.004)  # the mic's block time jittered by 4 ms: read on contiguously
    assert np.array_equal(np.concatenate([a, b]), ramp[:640])
    assert line.resyncs == 0


def test_timeline_resamples_the_player_rate() -> None:
    tap = FarEndTap()
    line = FarEndTimeline(tap, RATE)
    t = np.arange(PLAY_RATE) / PLAY_RATE
    tap.push(np.sin(2 * np.pi * 440 * t).astype(np.float32), PLAY_RATE, T0)
    got = line.take(RATE // 2, T0 + 0.25)
    spectrum = np.abs(np.fft.rfft(got * np.hanning(got.shape[0])))
    assert abs(np.argmax(spectrum) * RATE / got.shape[0] - 440) < 5


def test_without_the_wheel_audio_passes_and_the_guard_is_said_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(fe, "webrtc_available", lambda: "ModuleNotFoundError: No module named 'pywebrtc_audio'")
    monkeypatch.setattr(fe, "_warned", set())
    x = np.random.default_rng(1).standard_normal(320).astype(np.float32) * 0.1
    front = FrontEnd(RATE, far_end=FarEndTap())
    assert front.backend == "passthrough" and not front.cancels_echo
    assert np.array_equal(front.process(x, T0), x)
    assert front.guard.coupling == 1.0 and not front.guard.headphones  # today's energy guard
    FrontEnd(RATE, far_end=FarEndTap())
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("agent: echo cancellation unavailable") and "energy echo guard" in err


@needs_webrtc
@pytest.mark.parametrize("noise_suppression", [False, True])
def test_realtime_rate_24k(voices: tuple[np.ndarray, np.ndarray], noise_suppression: bool) -> None:
    """Realtime's microphone runs at 24 kHz: the same front end there (the player's tap at 24 kHz too). With
    every stage on it still builds: the suppressor alone takes only 16/32/48 kHz, so at 24 kHz it runs inside
    the combined processor."""
    scene = Scene(*voices, delay_ms=30, gain_db=-6)
    rate = 24000
    mic, far = resample(scene.mic, RATE, rate), resample(scene.far, RATE, rate)
    tap = FarEndTap()
    front = FrontEnd(rate, far_end=tap, noise_suppression=noise_suppression)
    assert front.backend == "webrtc"
    block, ahead = rate // 50, 3
    out = np.zeros_like(mic)
    for i in range(mic.shape[0] // block):
        k = i + ahead
        tap.push(far[k * block : (k + 1) * block].copy(), rate, T0 + i * BLOCK_S)
        out[i * block : (i + 1) * block] = front.process(mic[i * block : (i + 1) * block], T0 + i * BLOCK_S)
    a, b = 2 * rate, int(scene.near_at * rate / RATE)
    assert db(mic[a:b]) - db(out[a:b]) >= 30.0
