"""Player counters on the virtual speaker (verified by recording vspk.monitor) and FileSink."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from agentcli.audio import player as player_mod
from agentcli.audio.player import Player
from agentcli.audio.resample import float_to_pcm16
from agentcli.audio.sink import FileSink
from agentcli.audio.wavfile import load_wav
from agentcli.errors import AudioError
from tests.pulse import PulseRig

RATE = 24000


def _tone(seconds: float, freq: float = 440.0, amp: float = 0.5, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _loud_ms(path: Path, threshold: float = 0.05) -> tuple[float, np.ndarray]:
    """ms of 10 ms windows louder than `threshold` RMS in a recording, and the per-window RMS."""
    x, fmt = load_wav(path)
    win = fmt.rate // 100
    n = x.shape[0] // win
    env = np.sqrt(np.mean(x[: n * win, 0].reshape(n, win) ** 2, axis=1))
    return float(np.sum(env > threshold) * 10.0), env


def _peak_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.shape[0])))
    return float(np.argmax(spectrum) * rate / x.shape[0])


def test_file_sink_counts_everything_written_as_heard(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"

    async def run() -> None:
        async with FileSink(path, RATE) as sink:
            first = sink.begin_utterance("a")
            tone = _tone(1.0)
            for i in range(0, tone.shape[0], 480):
                sink.write(tone[i : i + 480])
            second = sink.begin_utterance()
            assert first.ended and first.heard_ms == pytest.approx(1000.0)
            assert sink.write(float_to_pcm16(_tone(0.25))) == pytest.approx(250.0)  # PCM16 bytes work too
            assert sink.flush() == 0.0 and sink.energy == 0.0
            await sink.wait_drained()
            assert second.heard_ms == pytest.approx(250.0) and second.first_sample_time is not None
            assert sink.played_ms == pytest.approx(1250.0)

    asyncio.run(run())
    samples, fmt = load_wav(path)
    assert (fmt.rate, fmt.channels, samples.shape[0]) == (RATE, 1, int(1.25 * RATE))
    assert np.max(np.abs(samples[:RATE, 0] - _tone(1.0))) < 1e-3


@pytest.mark.audio
def test_played_tone_is_heard_whole_after_draining(pulse_rig: PulseRig, tmp_path: Path) -> None:
    rec = pulse_rig.start_speaker_recording(tmp_path / "spk.wav")

    async def run() -> tuple[float, float, float]:
        async with Player(rate=RATE) as player:
            utt = player.begin_utterance("tone")
            t0 = time.perf_counter()
            player.write(_tone(1.0))
            await asyncio.sleep(0.5)
            assert 0.25 < player.energy < 0.45  # a 0.5 sine has RMS 0.354
            mid = utt.heard_ms
            await player.wait_drained()
            elapsed = time.perf_counter() - t0
            # it started playing early, not once all was handed over (how early: bench/)
            assert utt.first_sample_time is not None and t0 <= utt.first_sample_time < t0 + elapsed / 4
            await asyncio.sleep(0.25)
            assert player.energy == 0.0  # silence again once the window has passed
            return mid, utt.heard_ms, elapsed

    mid, heard, elapsed = asyncio.run(run())
    rec.stop()
    assert 0 < mid < 1000  # half way: some heard, not all
    assert heard == pytest.approx(1000.0, abs=1)
    assert elapsed > 0.95  # drained: the whole second played
    loud, _ = _loud_ms(rec.path)
    assert loud == pytest.approx(1000, abs=40)


@pytest.mark.audio
def test_flush_cuts_within_a_block_and_heard_matches_the_recording(pulse_rig: PulseRig, tmp_path: Path) -> None:
    rec = pulse_rig.start_speaker_recording(tmp_path / "spk.wav")

    async def run() -> tuple[float, float, float, Player]:
        async with Player(rate=RATE, block_ms=20) as player:
            utt = player.begin_utterance()
            player.write(_tone(2.0))
            await asyncio.sleep(0.6)
            dropped = player.flush()
            handed = utt.handed_ms
            await asyncio.sleep(0.3)
            assert player.drained
            return dropped, handed, utt.heard_ms, player

    dropped, handed, heard, player = asyncio.run(run())
    rec.stop()
    assert handed > 400 and dropped > 0  # cut half way: some handed over, the rest dropped
    assert dropped + handed == pytest.approx(2000, abs=1)
    assert heard == pytest.approx(handed, abs=1)  # what was in flight played out after the flush
    assert player.last_flush_time is not None and player.last_silence_time is not None
    assert player.last_flush_time <= player.last_silence_time  # after the flush: zeros
    loud, env = _loud_ms(rec.path)
    # the speaker played what was handed over and then stopped: nothing dropped reached it
    assert loud == pytest.approx(handed, abs=30)
    last = int(np.nonzero(env > 0.05)[0][-1])
    assert np.all(env[last + 2 :] < 0.002)


@pytest.mark.audio
def test_prebuffer_holds_a_trickle_but_not_a_finished_utterance(pulse_rig: PulseRig) -> None:
    async def run() -> tuple[float, float]:
        async with Player(rate=RATE, prebuffer_ms=100) as player:
            await asyncio.sleep(0.1)
            held = player.begin_utterance()
            t0 = time.perf_counter()
            player.write(_tone(0.03))  # less than the pre-buffer, more may come: wait for it a while
            await asyncio.sleep(0.3)
            assert held.first_sample_time is not None
            held_delay = held.first_sample_time - t0
            short = player.begin_utterance()  # ends `held`; this one is ended right away
            t1 = time.perf_counter()
            player.write(_tone(0.03))
            player.end_utterance()
            await player.wait_drained()
            assert short.first_sample_time is not None and short.heard_ms == pytest.approx(30, abs=1)
            return held_delay, short.first_sample_time - t1

    held_delay, short_delay = asyncio.run(run())
    assert held_delay > 0.08  # the trickle waited for the pre-buffer (and then played: first_sample_time)
    assert short_delay < held_delay  # a finished utterance is not held


@pytest.mark.audio
def test_resampling_to_the_device_rate_and_stereo_devices(
    pulse_rig: PulseRig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pretend the device only takes 48 kHz stereo: the player resamples and duplicates channels
    monkeypatch.setattr(player_mod, "stream_format", lambda device, kind, rate: (48000, 2))
    rec = pulse_rig.start_speaker_recording(tmp_path / "spk.wav")

    async def run() -> float:
        async with Player(rate=RATE) as player:
            assert player.device_rate == 48000
            utt = player.begin_utterance()
            player.write(float_to_pcm16(_tone(0.5, freq=1000.0)))
            await player.wait_drained()
            return utt.heard_ms

    heard = asyncio.run(run())
    rec.stop()
    assert heard == pytest.approx(500, abs=1)
    loud, _ = _loud_ms(rec.path)
    assert loud == pytest.approx(500, abs=30)
    x, fmt = load_wav(rec.path)
    assert _peak_hz(x[:, 0], fmt.rate) == pytest.approx(1000, abs=5)


@pytest.mark.audio
def test_unknown_output_device_is_one_line_error(pulse_rig: PulseRig) -> None:
    async def run() -> None:
        Player(device="no-such-speaker-xyz").start()

    with pytest.raises(AudioError) as err:
        asyncio.run(run())
    assert "--output-device" in str(err.value) and "\n" not in str(err.value)


def test_write_before_start_is_an_error_not_a_silent_rate_mismatch() -> None:
    with pytest.raises(AudioError, match="before start"):
        Player().write(_tone(0.1))


@pytest.mark.audio
def test_idle_stream_pauses_and_the_next_write_plays_in_full(pulse_rig: PulseRig, tmp_path: Path) -> None:
    async def run() -> tuple[bool, bool, float, float]:
        async with Player(rate=RATE) as player:
            await asyncio.sleep(player_mod.IDLE_PAUSE_S + player.latency_s + 0.3)
            paused = player.paused  # nothing played yet: the stream stopped to save CPU
            rec = pulse_rig.start_speaker_recording(tmp_path / "spk.wav")
            utt = player.begin_utterance("after-pause")
            t0 = time.perf_counter()
            player.write(_tone(0.5))
            resumed = not player.paused
            await player.wait_drained()
            drained_s = time.perf_counter() - t0
            rec.stop()
            assert utt.first_sample_time is not None
            return paused, resumed, utt.first_sample_time - t0, drained_s, utt.heard_ms

    paused, resumed, first_sample_s, drained_s, heard = asyncio.run(run())
    assert paused and resumed
    assert 0 <= first_sample_s < drained_s / 4  # the resumed stream plays at once, not after a restart delay
    assert heard == pytest.approx(500.0, abs=1)
    loud, _ = _loud_ms(tmp_path / "spk.wav")
    assert loud == pytest.approx(500, abs=40)
