"""Streaming resampler vs one-shot, block edges, exact lengths; PCM conversion helpers."""

from __future__ import annotations

import numpy as np
import pytest

from agentcli.audio.resample import (
    Resampler,
    as_float32,
    dbfs,
    float_to_int16,
    float_to_pcm16,
    int16_to_float,
    pcm16_to_float,
    resample,
    to_mono,
)

RATE_PAIRS = [(48000, 16000), (44100, 16000), (24000, 44100), (16000, 24000), (22050, 16000)]


def _tone(rate: int, seconds: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _stream(x: np.ndarray, rs: Resampler, seed: int = 1) -> np.ndarray:
    """Feed x in random block sizes (1..1500 samples), then flush."""
    rng = np.random.default_rng(seed)
    out, pos = [], 0
    while pos < x.shape[0]:
        n = int(rng.integers(1, 1500))
        out.append(rs.process(x[pos : pos + n]))
        pos += n
    out.append(rs.flush())
    return np.concatenate(out)


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS)
def test_streaming_equals_one_shot_and_length_is_exact(in_rate: int, out_rate: int) -> None:
    x = _tone(in_rate, 1.3)
    streamed = _stream(x, Resampler(in_rate, out_rate, quality="HQ"))
    whole = resample(x, in_rate, out_rate, quality="HQ")
    expected_len = round(x.shape[0] * out_rate / in_rate)
    assert streamed.shape[0] == expected_len
    n = min(streamed.shape[0], whole.shape[0])
    assert np.max(np.abs(streamed[:n] - whole[:n])) < 1e-3


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS)
def test_low_latency_stream_has_no_clicks_at_block_edges(in_rate: int, out_rate: int) -> None:
    x = _tone(in_rate, 1.0, freq=300.0)
    rs = Resampler(in_rate, out_rate)  # the default low-latency quality used for mic and speaker
    y = _stream(x, rs, seed=7)
    assert y.shape[0] == round(x.shape[0] * out_rate / in_rate)
    body = y[200:-200]  # skip the filter's ramp at both ends
    # a 300 Hz sine at amplitude 0.5 moves at most 2*pi*300*0.5/out_rate per sample; a click would not
    max_step = 2 * np.pi * 300 * 0.5 / out_rate
    assert np.max(np.abs(np.diff(body))) < max_step * 1.1
    assert 0.48 < np.max(np.abs(body)) < 0.52


def test_stream_latency_is_small_for_20ms_blocks() -> None:
    rs = Resampler(48000, 16000)
    x = _tone(48000, 0.2)
    produced = sum(rs.process(x[i : i + 960]).shape[0] for i in range(0, x.shape[0], 960))
    assert produced >= rs.expected_out() - 16000 * 0.02  # at most one block (20 ms) held back


def test_same_rate_is_passthrough_and_reset_clears_counts() -> None:
    rs = Resampler(16000, 16000)
    x = _tone(16000, 0.1)
    assert rs.passthrough
    assert np.array_equal(rs.process(x), x)
    assert rs.flush().shape[0] == 0
    assert rs.samples_in == 0


def test_pcm_conversion_clips_instead_of_wrapping() -> None:
    x = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.7, -3.0], np.float32)
    i16 = float_to_int16(x)
    assert i16.tolist() == [0, 16384, -16384, 32767, -32768, 32767, -32768]
    back = pcm16_to_float(float_to_pcm16(x))
    assert np.allclose(back, np.clip(x, -1, 1), atol=1e-4)
    assert np.allclose(int16_to_float(i16), back)
    assert pcm16_to_float(b"\x00\x40\x01").tolist() == [0.5]  # odd trailing byte ignored


def test_as_float32_and_mono_mixdown() -> None:
    assert as_float32(np.array([16384], np.int16)).tolist() == [0.5]
    assert as_float32(np.array([192], np.uint8)).tolist() == [0.5]
    stereo = np.array([[1.0, 0.0], [0.5, 0.5]], np.float32)
    assert to_mono(stereo).tolist() == [0.5, 0.5]
    assert dbfs(np.zeros(10, np.float32)) == -120.0
    assert abs(dbfs(np.ones(10, np.float32) * 0.1) + 20.0) < 0.01
