"""The simulator's realtime voice: the same speech as its /v1/audio/speech endpoint."""

from __future__ import annotations

import numpy as np

RATE = 24000


def synthesize(text: str, voice: str, speed: float) -> bytes:
    """24 kHz 16-bit mono PCM for `text`: the simulator's speech voice (the one /v1/audio/speech uses)."""
    try:
        from agentcli.sim.speech import synthesize_pcm  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return _placeholder_voice(text, speed)
    return bytes(synthesize_pcm(text, voice=voice, speed=speed))


def _placeholder_voice(text: str, speed: float) -> bytes:
    """A voice-like signal ~70 ms per character, until the sim's speech module is there."""
    n = int(RATE * 0.07 * max(1, len(text)) / max(0.25, speed))
    t = np.arange(n) / RATE
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)
    wave = 0.25 * env * (np.sin(2 * np.pi * 160 * t) + 0.5 * np.sin(2 * np.pi * 320 * t))
    return (np.clip(wave, -1, 1) * 32767).astype("<i2").tobytes()
