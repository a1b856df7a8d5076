"""The acoustic front end on the microphone path: echo cancellation, noise suppression, high-pass filter.

WebRTC's audio processing module (the `pywebrtc-audio` wheel: AEC3, noise suppressor, high-pass) cleans
each mic block before anything else sees it (the VAD, speech-to-text, the Realtime server). The echo
canceller's far-end reference is what the player really played (`FarEndTap`, filled by the player's
audio callback). Reference and mic are lined up on one clock, the time each block was handed over by its
audio callback (player) or delivered by it (recorder): a far sample handed at h is heard at h + the output
latency and reaches the recorder's callback after the acoustic path and the input latency, so its echo
always comes after its reference, by a delay AEC3 finds by itself within a second or two. Reported
latencies are not trusted for this (PulseAudio's are off by tens of ms, which would put the reference
after its echo, where AEC3 cannot cancel anything).

Where the wheel cannot be imported the front end passes audio through and `guard` is the energy echo
guard (`audio/echo.py`), said once on stderr. `echo=False` (--headphones) turns echo handling off.

Wiring: `Recorder(..., frontend=FrontEnd(rate, far_end=player.far_end))`; readers of the recorder then
get cleaned blocks, and `frontend.guard.allows(block, player.energy)` replaces a separate EchoGuard.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from typing import Any

import numpy as np

from agentcli.audio.echo import EchoGuard
from agentcli.audio.resample import Resampler

_TAP_SECONDS = 2.0  # far-end audio kept for the front end; older blocks were never asked for
_GAP_S = 0.05  # a jump this large in the far-end timeline is a stream restart (silence in between)
_RESYNC_S = 0.02  # the reference read position drifting this far from the mic's time is re-anchored
# With AEC the mic hears ~30-60 dB less of us: the guard on the cleaned signal starts from -20 dB coupling
# (today's guard starts at 0 dB, which makes an early barge-in hard) and learns the rest.
_AEC_GUARD_COUPLING = 0.1
_warned: set[str] = set()


def _say_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        print(f"agent: {message}", file=sys.stderr)


class FarEndTap:
    """What the player handed the device, block by block, with when it was handed over and the output
    latency (it is heard at `handed_at + latency_s`).

    `push()` runs in the player's audio thread (an append under a lock); the front end `drain()`s it.
    Blocks nobody drains are dropped after `_TAP_SECONDS` (bounded memory when no front end listens).
    """

    def __init__(self, max_blocks: int = 200) -> None:
        self._lock = threading.Lock()
        self._blocks: deque[tuple[np.ndarray, int, float, bool]] = deque(maxlen=max_blocks)
        self.pushed_frames = 0
        self.latency_s = 0.0  # the output stream's reported latency

    def push(self, block: np.ndarray, rate: int, handed_at: float, restart: bool = False) -> None:
        """`block` (mono float32, not reused by the caller) at `rate` was handed to the device at
        `handed_at` (perf_counter, the callback's start); `restart`: the first block of a (re)started
        stream, after which silence may have played."""
        with self._lock:
            self._blocks.append((block, rate, handed_at, restart))
            self.pushed_frames += block.shape[0]

    def drain(self) -> list[tuple[np.ndarray, int, float, bool]]:
        with self._lock:
            out = list(self._blocks)
            self._blocks.clear()
        return out


class FarEndTimeline:
    """The tap's blocks at the front end's rate on one timeline: `take(n, t)` gives n samples of what was
    handed to the device from time t on (zeros where nothing played). Consecutive takes read contiguously, so the
    reference has no jumps from callback jitter; the read position is re-anchored only when it drifts
    more than `_RESYNC_S` from the asked time (a stream restart, clock drift)."""

    def __init__(self, tap: FarEndTap, rate: int, keep_s: float = _TAP_SECONDS) -> None:
        self.tap = tap
        self.rate = rate
        self._keep = int(keep_s * rate)
        self._buf = np.zeros(0, np.float32)
        self._t0 = 0.0  # handed time of _buf[0]
        self._resampler: Resampler | None = None
        self._read_t: float | None = None
        self.resyncs = 0

    def _ingest(self) -> None:
        for block, rate, handed_at, restart in self.tap.drain():
            if self._resampler is None or self._resampler.in_rate != rate:
                self._resampler = Resampler(rate, self.rate)
            x = block if self._resampler.passthrough else self._resampler.process(block)
            end_t = self._t0 + self._buf.shape[0] / self.rate
            if self._buf.shape[0] == 0:
                self._t0 = handed_at
            # Only a restarted stream leaves a gap: a late callback of a running one (a busy machine) is
            # mostly covered by the device's buffer, and a gap put in then would read the reference after
            # its echo, which AEC3 cannot cancel (it leaked a long answer's echo into the mic in CI).
            elif restart and handed_at - end_t > _GAP_S:  # what played meanwhile is silence
                gap = np.zeros(int((handed_at - end_t) * self.rate), np.float32)
                self._buf = np.concatenate([self._buf, gap])
            self._buf = np.concatenate([self._buf, x.astype(np.float32, copy=False)])
        if self._buf.shape[0] > self._keep:
            cut = self._buf.shape[0] - self._keep
            self._buf = self._buf[cut:]
            self._t0 += cut / self.rate

    def take(self, n: int, t: float) -> np.ndarray:
        self._ingest()
        if self._read_t is None or abs(self._read_t - t) > _RESYNC_S:
            if self._read_t is not None:
                self.resyncs += 1
            self._read_t = t
        start = int(round((self._read_t - self._t0) * self.rate))
        self._read_t += n / self.rate
        out = np.zeros(n, np.float32)
        lo, hi = max(0, start), min(self._buf.shape[0], start + n)
        if hi > lo:
            out[lo - start : hi - start] = self._buf[lo:hi]
        return out


def webrtc_available() -> str | None:
    """None when the WebRTC audio processing wheel imports, else why not."""
    try:
        import pywebrtc_audio  # noqa: F401
    except Exception as e:  # ImportError, or a broken shared library (OSError)
        return f"{type(e).__name__}: {e}"
    return None


_NS_RATES = (16000, 32000, 48000)  # what WebRTC's noise suppressor takes on its own


class FrontEnd:
    """Cleans mono float32 mic blocks at `rate`: `process(block, captured_at)` -> cleaned block (same length).

    echo: cancel the echo of `far_end` (False: headphones, no echo handling at all).
    noise_suppression / high_pass: WebRTC's noise suppressor (`ns_level` 0-3: 6-21 dB) and high-pass filter.
    The suppressor runs on the echo canceller's output as a stage of its own: inside WebRTC's combined
    processor it took 1-2 dB off the user's voice after a loud echo, on its own it takes ~0.02 dB.
    lead_ms: the reference is read this much ahead of the mic's time (0: on the callbacks' clock the echo
    already comes after its reference by the output and input latencies and the acoustic path).
    `backend` says what runs: "webrtc", or "passthrough" (no wheel: the energy guard handles echo).
    """

    def __init__(
        self,
        rate: int = 16000,
        *,
        far_end: FarEndTap | None = None,
        echo: bool = True,
        noise_suppression: bool = True,
        high_pass: bool = True,
        ns_level: int = 1,
        echo_ratio: float = 3.0,
        lead_ms: float = 0.0,
        stream_delay_ms: int = 0,
    ) -> None:
        self.rate = rate
        self.echo = echo and far_end is not None
        self.lead_s = lead_ms / 1000
        self.timeline = FarEndTimeline(far_end, rate) if (self.echo and far_end is not None) else None
        self.processed_frames = 0
        self._apm: Any = None  # echo canceller and high-pass
        self._ns: Any = None
        wanted = self.echo or noise_suppression or high_pass
        why = webrtc_available() if wanted else None
        if wanted and why is None:
            import pywebrtc_audio

            # the suppressor alone takes only 16, 32 and 48 kHz; at other rates (realtime's 24 kHz) it runs
            # inside the combined processor, which resamples for it
            separate_ns = noise_suppression and rate in _NS_RATES
            inner_ns = noise_suppression and not separate_ns
            if self.echo or high_pass or inner_ns:
                self._apm = pywebrtc_audio.AudioProcessor(
                    rate, echo_cancellation=self.echo, high_pass_filter=high_pass, noise_suppression=inner_ns,
                    ns_level=ns_level, stream_delay_ms=stream_delay_ms,
                )
            if separate_ns:
                self._ns = pywebrtc_audio.NoiseSuppressor(rate, level=ns_level)
        elif wanted:
            _say_once(f"echo cancellation unavailable (pywebrtc-audio: {why}); using the energy echo guard")
        self.backend = "webrtc" if (self._apm is not None or self._ns is not None) else "passthrough"
        coupling = _AEC_GUARD_COUPLING if self.cancels_echo else 1.0
        # headphones: the guard lets everything through, as before
        self.guard = EchoGuard(echo_ratio, headphones=not echo, coupling=coupling)

    @property
    def cancels_echo(self) -> bool:
        return self._apm is not None and self.echo

    @property
    def speech_probability(self) -> float:
        """The noise suppressor's spectral speech estimate for the latest block (0 without it)."""
        return float(self._ns.speech_probability) if self._ns is not None else 0.0

    def process(self, block: np.ndarray, captured_at: float | None = None) -> np.ndarray:
        """The cleaned block. `captured_at`: perf_counter when the recorder's callback delivered its first
        sample (the recorder's time for it, see Recorder.read); without it, "just now" is assumed."""
        x = np.asarray(block, dtype=np.float32).reshape(-1)
        self.processed_frames += x.shape[0]
        if x.shape[0] == 0:
            return x
        if self._apm is not None and self.timeline is not None:
            if captured_at is None:  # best guess: the block has just been delivered
                captured_at = time.perf_counter() - x.shape[0] / self.rate
            x = self._apm.process(x, self.timeline.take(x.shape[0], captured_at + self.lead_s))
        elif self._apm is not None:
            x = self._apm.process(x)
        if self._ns is not None:
            x = self._ns.process(x)
        return x

    def reset(self) -> None:
        for stage in (self._apm, self._ns):
            if stage is not None:
                stage.reset()
