"""Sample-rate conversion (soxr), mono mix-down and float32 <-> 16-bit PCM conversion.

Convention across agentcli.audio: audio is a 1-D float32 numpy array in [-1, 1] (mono) unless said
otherwise; 16-bit PCM bytes are little-endian signed, as OpenAI's audio APIs send and take them.
"""

from __future__ import annotations

import numpy as np
import soxr

# soxr's "LQ" adds ~2-7 ms of delay on a stream and is plenty for speech; "HQ" buffers 10-40 ms,
# which would show up as latency on the microphone and speaker paths.
STREAM_QUALITY = "LQ"


def as_float32(x: np.ndarray | bytes) -> np.ndarray:
    """Any int16/int32/float array, or 16-bit PCM bytes, as float32 in [-1, 1] (channels kept)."""
    if isinstance(x, bytes | bytearray | memoryview):
        return pcm16_to_float(bytes(x))
    a = np.asarray(x)
    if a.dtype == np.int16:
        return a.astype(np.float32) / 32768.0
    if a.dtype == np.int32:
        return (a.astype(np.float64) / 2147483648.0).astype(np.float32)
    if a.dtype == np.uint8:  # 8-bit WAV is unsigned, centred on 128
        return (a.astype(np.float32) - 128.0) / 128.0
    return a.astype(np.float32, copy=False)


def to_mono(x: np.ndarray) -> np.ndarray:
    """(frames, channels) -> (frames,) by averaging the channels; 1-D input is returned as is."""
    a = np.asarray(x)
    if a.ndim == 1:
        return a
    if a.shape[1] == 1:
        return a[:, 0]
    return a.mean(axis=1, dtype=np.float32)


def float_to_int16(x: np.ndarray) -> np.ndarray:
    """float32 [-1, 1] -> int16, clipping out-of-range samples instead of wrapping around."""
    a = np.asarray(x, dtype=np.float32) * 32768.0
    return np.clip(np.rint(a), -32768, 32767).astype(np.int16)


def int16_to_float(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.int16).astype(np.float32) / 32768.0


def float_to_pcm16(x: np.ndarray) -> bytes:
    """float32 samples -> little-endian 16-bit PCM bytes (clipping-safe)."""
    return float_to_int16(x).astype("<i2", copy=False).tobytes()


def pcm16_to_float(data: bytes) -> np.ndarray:
    """Little-endian 16-bit PCM bytes -> float32. A trailing odd byte is ignored."""
    n = len(data) // 2
    return np.frombuffer(data, dtype="<i2", count=n).astype(np.float32) / 32768.0


def rms(x: np.ndarray) -> float:
    """Root mean square of a block (0.0 for an empty one)."""
    a = np.asarray(x, dtype=np.float32)
    if a.size == 0:
        return 0.0
    v = a.ravel()
    return float(np.sqrt(np.dot(v, v) / v.size))  # a float32 dot: exact enough, and no float64 copy


def dbfs(x: np.ndarray) -> float:
    """RMS level in dBFS (a full-scale square wave is 0 dBFS); -120.0 for silence."""
    r = rms(x)
    return max(-120.0, 20.0 * float(np.log10(r))) if r > 0 else -120.0


def resample(x: np.ndarray, in_rate: int, out_rate: int, quality: str = "HQ") -> np.ndarray:
    """One-shot resampling of a whole signal (1-D or (frames, channels)) to float32 at `out_rate`."""
    a = as_float32(x)
    if in_rate == out_rate or a.shape[0] == 0:
        return a.copy()
    return soxr.resample(np.ascontiguousarray(a), in_rate, out_rate, quality=quality).astype(np.float32)


class Resampler:
    """Streaming mono resampler: feed blocks of any length, state carries across blocks so the output
    equals resampling the whole signal at once (no clicks at block edges).

    Output lags input by soxr's filter delay; `flush()` returns the tail and pads/trims so that the total
    output is exactly round(samples_in * out_rate / in_rate) samples.
    """

    def __init__(self, in_rate: int, out_rate: int, quality: str = STREAM_QUALITY):
        if in_rate <= 0 or out_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {in_rate} -> {out_rate}")
        self.in_rate = in_rate
        self.out_rate = out_rate
        self.quality = quality
        self.samples_in = 0
        self.samples_out = 0
        self._stream = (
            None if in_rate == out_rate else soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality=quality)
        )

    @property
    def passthrough(self) -> bool:
        return self._stream is None

    def process(self, x: np.ndarray | bytes) -> np.ndarray:
        """Resample the next block (mono float32 or int16 or PCM16 bytes); may return fewer samples
        than expected (or none) while the filter fills."""
        a = np.ascontiguousarray(to_mono(as_float32(x)), dtype=np.float32)
        self.samples_in += a.shape[0]
        out = a.copy() if self._stream is None else self._stream.resample_chunk(a)
        self.samples_out += out.shape[0]
        return out

    def expected_out(self) -> int:
        """How many output samples the input so far should make in total."""
        return round(self.samples_in * self.out_rate / self.in_rate)

    def flush(self) -> np.ndarray:
        """End of the stream: the remaining output, with the total made exact. Resets the state."""
        tail = np.zeros(0, np.float32)
        if self._stream is not None:
            tail = self._stream.resample_chunk(np.zeros(0, np.float32), last=True)
        missing = self.expected_out() - (self.samples_out + tail.shape[0])
        if missing > 0:
            tail = np.concatenate([tail, np.zeros(missing, np.float32)])
        elif missing < 0:
            tail = tail[: max(0, tail.shape[0] + missing)]
        self.samples_out += tail.shape[0]
        self.reset()
        return tail.astype(np.float32, copy=False)

    def reset(self) -> None:
        """Forget buffered input (after a flush or a playback cut) and start counting afresh."""
        if self._stream is not None:
            self._stream.clear()
        self.samples_in = 0
        self.samples_out = 0
