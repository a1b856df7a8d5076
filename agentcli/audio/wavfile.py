"""WAV files: read any common PCM/float WAV, write 16-bit PCM (whole or streamed). The one WAV codec of
agentcli: files (--input, recordings), uploads (speech to text) and the simulator's audio all use it.

The stdlib `wave` module reads neither float samples nor WAVE_FORMAT_EXTENSIBLE with every bit depth, so
the RIFF chunks are parsed here. Every failure is one AudioError line naming the file.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np

from agentcli.audio.resample import float_to_int16, resample, to_mono
from agentcli.errors import AudioError

_PCM = 0x0001
_FLOAT = 0x0003
_EXTENSIBLE = 0xFFFE
# A declared size this large means "unknown" (written by a streaming writer that never fixed its header).
_UNKNOWN_SIZE = 0x7FFF0000


@dataclass(frozen=True, slots=True)
class WavFormat:
    rate: int
    channels: int
    bits: int
    is_float: bool
    frames: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.rate if self.rate else 0.0


def _fail(path: str | os.PathLike[str], why: str) -> AudioError:
    return AudioError(f"{os.fspath(path)}: not a usable WAV file: {why}")


def _parse_fmt(path: str | os.PathLike[str], body: bytes) -> tuple[int, int, int, int, int]:
    """-> (format_tag, channels, rate, block_align, bits)."""
    if len(body) < 16:
        raise _fail(path, "fmt chunk too short")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _EXTENSIBLE:
        if len(body) < 40:
            raise _fail(path, "WAVE_FORMAT_EXTENSIBLE fmt chunk too short")
        # the sub-format GUID starts with the real format tag (PCM or IEEE float)
        tag = struct.unpack("<H", body[24:26])[0]
    return tag, channels, rate, block_align, bits


def _decode(path: str | os.PathLike[str], raw: bytes, tag: int, channels: int, bits: int) -> np.ndarray:
    """Sample bytes -> float32 (frames, channels)."""
    width = bits // 8
    frame_bytes = width * channels
    usable = len(raw) - len(raw) % frame_bytes  # a cut-off last frame is dropped
    raw = raw[:usable]
    if tag == _FLOAT and bits == 32:
        a = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    elif tag == _FLOAT and bits == 64:
        a = np.frombuffer(raw, dtype="<f8").astype(np.float32)
    elif tag == _PCM and bits == 8:
        a = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif tag == _PCM and bits == 16:
        a = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif tag == _PCM and bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        a = (v.astype(np.float64) / float(1 << 23)).astype(np.float32)
    elif tag == _PCM and bits == 32:
        a = (np.frombuffer(raw, dtype="<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    else:
        kind = {_PCM: "PCM", _FLOAT: "float"}.get(tag, f"format 0x{tag:04x}")
        raise _fail(path, f"unsupported encoding ({kind}, {bits}-bit)")
    return a.reshape(-1, channels)


def load_wav(path: str | os.PathLike[str]) -> tuple[np.ndarray, WavFormat]:
    """The file's samples as float32 (frames, channels) at its own rate, and its format."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise AudioError(f"{os.fspath(path)}: cannot read: {e.strerror or e}") from e
    return parse_wav(data, path)


def parse_wav(data: bytes, path: str | os.PathLike[str] = "audio") -> tuple[np.ndarray, WavFormat]:
    """A WAV file in memory: its samples as float32 (frames, channels) and its format. `path` names it in
    errors. Streamed WAVs (data size unknown, as espeak-ng --stdout writes) are read to the end."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        if data[:4] in (b"RF64", b"RIFX"):
            raise _fail(path, f"{data[:4].decode()} WAV files are not supported")
        raise _fail(path, "no RIFF/WAVE header")
    fmt: tuple[int, int, int, int, int] | None = None
    raw: bytes | None = None
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        start = pos + 8
        if cid == b"data":
            if start + size > len(data):
                if size < _UNKNOWN_SIZE:
                    have = len(data) - start
                    raise _fail(path, f"truncated (data chunk says {size} bytes, file has {have})")
                size = len(data) - start  # header never fixed by a streaming writer: read to the end
            raw = data[start : start + size]
            if fmt is not None:
                break
        elif cid == b"fmt ":
            if start + size > len(data):
                raise _fail(path, "truncated fmt chunk")
            fmt = _parse_fmt(path, data[start : start + size])
        pos = start + size + (size & 1)  # chunks are padded to even sizes
    if fmt is None:
        raise _fail(path, "no fmt chunk")
    if raw is None:
        raise _fail(path, "no data chunk")
    tag, channels, rate, _align, bits = fmt
    if channels < 1 or rate < 1 or bits < 8 or bits % 8:
        raise _fail(path, f"bad format ({channels} channels, {rate} Hz, {bits}-bit)")
    samples = _decode(path, raw, tag, channels, bits)
    return samples, WavFormat(rate, channels, bits, tag == _FLOAT, samples.shape[0])


def read_wav(path: str | os.PathLike[str], rate: int) -> np.ndarray:
    """The file as mono float32 at `rate` Hz, whatever its rate, channels and sample format."""
    samples, fmt = load_wav(path)
    mono = to_mono(samples).astype(np.float32, copy=False)
    return resample(mono, fmt.rate, rate) if fmt.rate != rate else mono.copy()


def wav_header(data_bytes: int, rate: int, channels: int = 1) -> bytes:
    """The 44-byte header of a 16-bit PCM WAV whose data is `data_bytes` long."""
    return _header(rate, channels, data_bytes)


def wav_bytes(samples: np.ndarray | bytes, rate: int, channels: int = 1) -> bytes:
    """float32/int16 samples (or PCM16 bytes) as a 16-bit PCM WAV file in memory."""
    pcm = _as_frames(samples).astype("<i2", copy=False).tobytes()
    return _header(rate, channels, len(pcm)) + pcm


def _header(rate: int, channels: int, data_bytes: int) -> bytes:
    block_align = channels * 2
    return (
        b"RIFF"
        + struct.pack("<I", min(0xFFFFFFFF, 36 + data_bytes))
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, _PCM, channels, rate, rate * block_align, block_align, 16)
        + b"data"
        + struct.pack("<I", min(0xFFFFFFFF, data_bytes))
    )


def _as_frames(samples: np.ndarray | bytes) -> np.ndarray:
    """float or int16 samples (or PCM16 bytes) -> int16 ready to write."""
    if isinstance(samples, bytes | bytearray | memoryview):
        return np.frombuffer(bytes(samples), dtype="<i2", count=len(samples) // 2)
    a = np.asarray(samples)
    return a.astype(np.int16) if a.dtype == np.int16 else float_to_int16(a)


def write_wav(path: str | os.PathLike[str], samples: np.ndarray, rate: int) -> None:
    """Write float32 (or int16) samples, 1-D mono or (frames, channels), as a 16-bit PCM WAV."""
    a = np.asarray(samples)
    with WavWriter(path, rate, channels=1 if a.ndim == 1 else a.shape[1]) as w:
        w.write(a)


class WavWriter:
    """A 16-bit PCM WAV written as audio arrives (recordings). The header's sizes are placeholders until
    `close()` fixes them; `load_wav` reads an unclosed file to its end anyway."""

    def __init__(self, path: str | os.PathLike[str], rate: int, channels: int = 1):
        self.path = os.fspath(path)
        self.rate = rate
        self.channels = channels
        self.frames = 0
        try:
            self._f: BinaryIO | None = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        except OSError as e:
            raise AudioError(f"{self.path}: cannot write: {e.strerror or e}") from e
        self._f.write(_header(rate, channels, 0xFFFFFFFF))

    @property
    def duration_ms(self) -> float:
        return self.frames * 1000.0 / self.rate

    def write(self, samples: np.ndarray | bytes) -> None:
        """Append float32/int16 samples (or PCM16 bytes); interleaved if (frames, channels)."""
        if self._f is None:
            raise AudioError(f"{self.path}: write after close")
        frames = _as_frames(samples)
        self._f.write(frames.astype("<i2", copy=False).tobytes())
        self._f.flush()  # a crash still leaves a readable recording
        self.frames += frames.size // self.channels

    def close(self) -> None:
        """Fix the header sizes and close; safe to call twice."""
        if self._f is None:
            return
        f, self._f = self._f, None
        try:
            f.seek(0)
            f.write(_header(self.rate, self.channels, self.frames * self.channels * 2))
        finally:
            f.close()

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
