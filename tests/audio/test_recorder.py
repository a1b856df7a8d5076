"""Recorder on the virtual microphone (paplay into vmic, read back), FileSource pacing and fast mode."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from agentcli.audio.mic import FileSource, Recorder
from agentcli.audio.resample import rms
from agentcli.audio.vad import SpeechEnd, TurnDetector
from agentcli.audio.wavfile import read_wav, write_wav
from agentcli.errors import AudioError
from agentcli.spec.model import VadSettings
from tests.pulse import PulseRig

RATE = 16000


def _tone_wav(path: Path, seconds: float, rate: int = 44100, freq: float = 440.0) -> Path:
    t = np.arange(int(rate * seconds)) / rate
    write_wav(path, (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)
    return path


@pytest.mark.audio
def test_recorder_hears_what_is_played_into_the_virtual_mic(pulse_rig: PulseRig, tmp_path: Path) -> None:
    wav = _tone_wav(tmp_path / "tone.wav", 1.0)

    async def run() -> tuple[list[np.ndarray], list[float], Recorder]:
        levels: list[float] = []
        async with Recorder(rate=RATE, block_ms=20) as rec:
            assert rec.device is not None and rec.device_rate == RATE  # pulse takes any rate
            player = pulse_rig.speak_into_mic(wav)
            blocks: list[np.ndarray] = []
            deadline = time.perf_counter() + 1.8
            while time.perf_counter() < deadline:
                block = await asyncio.wait_for(rec.read(), timeout=2)
                assert block is not None
                blocks.append(block)
                levels.append(rec.level)
            player.wait(timeout=5)
        rest = 0
        while await rec.read() is not None:  # stopped: what is queued drains, then None
            rest += 1
        assert rest <= rec._max
        return blocks, levels, rec

    blocks, levels, rec = asyncio.run(run())
    assert all(b.dtype == np.float32 and b.ndim == 1 for b in blocks)
    assert sum(b.shape[0] for b in blocks) == pytest.approx(1.8 * RATE, rel=0.08)
    loud = [b for b in blocks if rms(b) > 0.1]
    assert sum(b.shape[0] for b in loud) / RATE == pytest.approx(1.0, abs=0.06)
    x = np.concatenate(loud)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.shape[0])))
    assert np.argmax(spectrum) * RATE / x.shape[0] == pytest.approx(440, abs=3)
    assert max(levels) == pytest.approx(-9.0, abs=1.5)  # a 0.5 sine is -9 dBFS
    assert rec.dropped_blocks == 0


@pytest.mark.audio
def test_slow_reader_drops_oldest_blocks_and_counts_them(pulse_rig: PulseRig) -> None:
    async def run() -> tuple[int, int, int]:
        rec = Recorder(rate=RATE, block_ms=20, queue_blocks=5)
        rec.start()
        await asyncio.sleep(0.5)  # ~25 blocks arrive, 5 fit
        queued, dropped = rec.queued_blocks, rec.dropped_blocks
        rec.stop()
        left = 0
        while await rec.read() is not None:
            left += 1
        return queued, dropped, left

    queued, dropped, left = asyncio.run(run())
    assert queued == 5 and left == 5
    assert dropped >= 10


@pytest.mark.audio
def test_speech_through_the_mic_makes_one_turn(
    pulse_rig: PulseRig, speech_wav: Callable[[str], Path], tmp_path: Path
) -> None:
    wav = speech_wav("Turn on the lights in the kitchen please.")
    speech_s = read_wav(wav, RATE).shape[0] / RATE

    async def run() -> list[SpeechEnd]:
        det = TurnDetector(VadSettings(), RATE)
        turns: list[SpeechEnd] = []
        async with Recorder(rate=RATE) as rec:
            proc = pulse_rig.speak_into_mic(wav)
            deadline = time.perf_counter() + speech_s + 1.5
            while time.perf_counter() < deadline and not turns:
                block = await asyncio.wait_for(rec.read(), timeout=2)
                assert block is not None
                turns += [e for e in det.feed(block) if isinstance(e, SpeechEnd)]
            proc.wait(timeout=5)
        return turns

    turns = asyncio.run(run())
    assert len(turns) == 1
    assert turns[0].speech_ms / 1000 == pytest.approx(speech_s, abs=0.5)


def test_file_source_fast_mode_streams_the_whole_file(tmp_path: Path) -> None:
    wav = _tone_wav(tmp_path / "t.wav", 0.5, rate=44100)

    async def run() -> tuple[list[np.ndarray], FileSource]:
        src = FileSource(wav, rate=RATE, block_ms=20, fast=True, tail_silence_ms=300)
        async with src:
            blocks = [b async for b in src]
        return blocks, src

    blocks, src = asyncio.run(run())
    assert sum(b.shape[0] for b in blocks) == int(0.8 * RATE)
    assert all(b.shape[0] == 320 for b in blocks)
    assert rms(blocks[-1]) == 0.0 and src.level == -120.0  # the appended silence
    assert src.duration_ms == pytest.approx(800)


def test_file_source_paces_in_real_time_and_stops(tmp_path: Path) -> None:
    wav = _tone_wav(tmp_path / "t.wav", 0.4, rate=RATE)

    async def run() -> tuple[float, int, int]:
        src = FileSource(wav, rate=RATE, block_ms=20)
        with pytest.raises(AudioError):
            await src.read()
        t0 = time.perf_counter()
        src.start()
        n = 0
        async for _ in src:
            n += 1
        elapsed = time.perf_counter() - t0
        again = FileSource(wav, rate=RATE)
        again.start()
        await again.read()
        again.stop()
        rest = 0
        while await again.read() is not None:
            rest += 1
        return elapsed, n, rest

    elapsed, n, rest = asyncio.run(run())
    assert n == 20
    assert elapsed > 0.38  # paced like a microphone: a 0.4 s file takes 0.4 s
    assert rest <= 1  # stop() ends the stream promptly


def test_file_source_bad_file_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    with pytest.raises(AudioError) as err:
        FileSource(bad)
    assert str(bad) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.audio
def test_front_end_gets_each_block_with_its_time_counting_dropped_blocks(pulse_rig: PulseRig) -> None:
    """The recorder's times for its blocks (the echo canceller lines its reference up with them): one
    block length apart, with the blocks a slow reader lost counted in, on a restart too."""
    from agentcli.audio.frontend import FrontEnd

    class Times(FrontEnd):
        def __init__(self) -> None:
            super().__init__(RATE, echo=False, noise_suppression=False, high_pass=False)
            self.times: list[float] = []

        def process(self, block: np.ndarray, captured_at: float | None = None) -> np.ndarray:
            assert captured_at is not None
            self.times.append(captured_at)
            return block

    async def run() -> tuple[list[list[float]], list[int]]:
        runs, drops = [], []
        rec = Recorder(rate=RATE, block_ms=20, queue_blocks=5, frontend=(front := Times()))
        for _ in range(2):
            front.times = []
            before = rec.dropped_blocks
            t = time.perf_counter()
            rec.start()
            await rec.read()
            first_read = time.perf_counter() - t
            for _ in range(4):
                await rec.read()
            await asyncio.sleep(0.4)  # ~20 blocks arrive, 5 fit: the oldest are dropped
            while rec.queued_blocks:
                await rec.read()
            rec.stop()
            runs.append([x - t for x in front.times])
            drops.append(rec.dropped_blocks - before)
            reads.append(first_read)
        return runs, drops

    reads: list[float] = []
    runs, drops = asyncio.run(run())
    for times, dropped, first_read in zip(runs, drops, reads, strict=True):
        assert dropped >= 5
        steps = np.round(np.diff(times) / 0.02).astype(int)
        assert list(steps[:4]) == [1, 1, 1, 1]
        assert sorted(steps[4:]) == [1] * (len(steps) - 5) + [dropped + 1]  # one jump over the lost blocks
        # on the perf_counter clock, from this run's first callback: after the start, before it was read
        assert -0.05 < times[0] <= first_read
