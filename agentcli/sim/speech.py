"""The simulator's voice: deterministic 24 kHz 16-bit mono PCM for a text.

espeak-ng when installed (resampled with soxr), otherwise a synthetic voice-like signal whose length
follows the text (~70 ms a character). Results are cached per (text, voice, speed). numpy and soxr are
imported only when speech is first made.
"""

from __future__ import annotations

import shutil
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
    from agentcli.audio.resample import float_to_pcm16, resample, to_mono
    from agentcli.audio.wavfile import parse_wav
    from agentcli.errors import AudioError

    try:
        samples, fmt = parse_wav(done.stdout, "espeak-ng output")
    except AudioError:
        return None
    mono = to_mono(samples)
    return float_to_pcm16(resample(mono, fmt.rate, RATE) if fmt.rate != RATE and mono.size else mono)


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
