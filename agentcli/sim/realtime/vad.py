"""The simulator's server VAD: an energy gate over 10 ms frames, honouring `turn_detection`."""

from __future__ import annotations

from typing import Any

import numpy as np

RATE = 24000
FRAME = RATE // 100  # 10 ms
START_FRAMES = 2  # voiced frames in a row before speech counts as started
EAGERNESS_SILENCE_MS = {"low": 900, "medium": 500, "auto": 500, "high": 250}


class EnergyVad:
    """Server VAD stand-in: 10 ms frames, voiced above an RMS level set by `threshold` (0.5 ~ -35 dBFS)."""

    def __init__(self, detection: dict[str, Any]):
        threshold = detection.get("threshold")
        self.level = 10 ** ((-60 + 50 * (0.5 if threshold is None else threshold)) / 20)
        self.prefix_ms = int(detection.get("prefix_padding_ms") or 300)
        silence = detection.get("silence_duration_ms")
        if detection.get("type") == "semantic_vad":
            silence = EAGERNESS_SILENCE_MS.get(detection.get("eagerness") or "auto", 500)
        self.silence_ms = int(500 if silence is None else silence)
        self.speaking = False
        self._voiced_run = 0
        self._silent_ms = 0
        self._last_voiced_end = 0
        self._rest = np.zeros(0, np.float32)

    def feed(self, samples: np.ndarray, start_pos: int) -> list[tuple[str, int]]:
        """Feed audio whose first sample is at `start_pos` (samples since the session began);
        returns ("start", audio_start_ms) / ("stop", audio_end_ms) in order."""
        out: list[tuple[str, int]] = []
        data = np.concatenate([self._rest, samples]) if self._rest.size else samples
        pos = start_pos - self._rest.size
        n = data.size // FRAME
        for i in range(n):
            frame = data[i * FRAME : (i + 1) * FRAME]
            voiced = float(np.sqrt(np.mean(frame.astype(np.float64) ** 2))) > self.level
            end_ms = (pos + (i + 1) * FRAME) * 1000 // RATE
            if voiced:
                self._voiced_run += 1
                self._silent_ms = 0
                self._last_voiced_end = end_ms
                if not self.speaking and self._voiced_run >= START_FRAMES:
                    self.speaking = True
                    first_ms = end_ms - START_FRAMES * 10
                    out.append(("start", max(0, first_ms - self.prefix_ms)))
            else:
                self._voiced_run = 0
                if self.speaking:
                    self._silent_ms += 10
                    if self._silent_ms >= self.silence_ms:
                        self.speaking = False
                        out.append(("stop", self._last_voiced_end))
        self._rest = data[n * FRAME :].copy()
        return out
