"""The simulator's voice: deterministic 24 kHz 16-bit mono PCM for a text.

espeak-ng when installed (resampled with soxr), otherwise a synthetic voice-like signal whose length
follows the text (~70 ms a character). Results are cached per (text, voice, speed). numpy and soxr are
imported only when speech is first made.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import threading
import zlib
from collections import OrderedDict

RATE = 24000
_ESPEAK_VARIANTS = ["m3", "f3", "m1", "f2", "m7", "f4", "m5", "f5"]  # a voice name picks one, stably
_CACHE_SIZE = 256
_cache: OrderedDict[tuple[str, str, float], bytes] = OrderedDict()
_lock = threading.Lock()  # synthesize_pcm runs in worker threads


def synthesize_pcm(text: str, voice: str = "alloy", speed: float = 1.0) -> bytes:
    """Speech for `text` as raw 24 kHz s16le mono PCM; the same input always gives the same bytes."""
    key = (text, voice, round(float(speed), 3))
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    if not text.strip():
        pcm = b""
    else:
        pcm = _espeak(text, voice, speed) if shutil.which("espeak-ng") else None
        if pcm is None:
            pcm = _synthetic(text, voice, speed)
    with _lock:
        _cache[key] = pcm
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return pcm


def _voice_hash(voice: str) -> int:
    return zlib.crc32(voice.encode())


def _espeak(text: str, voice: str, speed: float) -> bytes | None:
    variant = _ESPEAK_VARIANTS[_voice_hash(voice) % len(_ESPEAK_VARIANTS)]
    wpm = max(80, min(450, round(175 * speed)))
    try:
        # the text goes on stdin: never parsed as options, never through a shell
        done = subprocess.run(
            ["espeak-ng", "--stdout", "-v", f"en+{variant}", "-s", str(wpm)],
            input=text.encode(),
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    parsed = parse_wav(done.stdout)
    if parsed is None or parsed.bits != 16:
        return None
    return _to_24k_mono(parsed.pcm, parsed.rate, parsed.channels)


def _to_24k_mono(pcm: bytes, rate: int, channels: int) -> bytes:
    import numpy as np

    samples = np.frombuffer(pcm[: len(pcm) // (2 * channels) * 2 * channels], dtype="<i2")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype("<i2")
    if rate != RATE and samples.size:
        import soxr

        samples = soxr.resample(samples, rate, RATE)
    return np.ascontiguousarray(samples, dtype="<i2").tobytes()


def _synthetic(text: str, voice: str, speed: float) -> bytes:
    """Harmonics of a voice-dependent pitch under a syllable-rate envelope: speech-like to a VAD."""
    import numpy as np

    seconds = 0.07 * len(text) / max(0.25, speed)
    t = np.arange(int(RATE * seconds)) / RATE
    f0 = 110 + _voice_hash(voice) % 110
    pitch = f0 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))  # a little intonation
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    wave = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = np.clip(np.sin(2 * np.pi * 4 * speed * t), 0, None) ** 0.5  # ~4 syllables a second
    fade = np.minimum(1, np.minimum(t, seconds - t) / 0.01)  # no clicks at the ends
    return (np.clip(0.3 * wave * envelope * fade, -1, 1) * 32767).astype("<i2").tobytes()


class WavInfo:
    __slots__ = ("rate", "channels", "bits", "format", "pcm")

    def __init__(self, rate: int, channels: int, bits: int, fmt: int, pcm: bytes):
        self.rate, self.channels, self.bits, self.format, self.pcm = rate, channels, bits, fmt, pcm

    @property
    def seconds(self) -> float:
        frame = self.channels * max(1, self.bits // 8)
        return len(self.pcm) / (self.rate * frame) if self.rate else 0.0


def parse_wav(data: bytes) -> WavInfo | None:
    """The fmt and data chunks of a RIFF/WAVE file; None when it is not one. Streamed WAVs (data size
    unknown, as espeak-ng --stdout writes) take the rest of the file."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos = 12
    fmt: tuple[int, int, int, int] | None = None
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if chunk_id == b"fmt " and len(body) >= 16:
            audio_format, channels, rate, _byte_rate, _align, bits = struct.unpack("<HHIIHH", body[:16])
            fmt = (audio_format, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt is None or fmt[1] == 0 or fmt[2] == 0:
                return None
            return WavInfo(rate=fmt[2], channels=fmt[1], bits=fmt[3], fmt=fmt[0], pcm=body)
        pos += 8 + size + (size & 1)
    return None


def wav_header(pcm_bytes: int, rate: int = RATE, channels: int = 1, bits: int = 16) -> bytes:
    align = channels * bits // 8
    return (
        b"RIFF"
        + struct.pack("<I", 36 + pcm_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * align, align, bits)
        + b"data"
        + struct.pack("<I", pcm_bytes)
    )
