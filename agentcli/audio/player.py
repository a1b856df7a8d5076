"""Speaker output: a PortAudio callback stream fed from a lock-protected queue of audio chunks.

The stream runs from start() to stop() and plays silence when nothing is queued. Everything is counted
in device frames so callers can tell how much of an utterance the user actually heard (for barge-in
truncation), when its first sample went out (latency metrics) and how loud playback is (echo guard).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import deque
from typing import Any

import numpy as np

from agentcli.audio.devices import DeviceInfo, portaudio, resolve_device, stream_format
from agentcli.audio.frontend import FarEndTap
from agentcli.audio.lifecycle import StartStop, call_in_loop
from agentcli.audio.resample import Resampler, as_float32, rms, to_mono
from agentcli.audio.sink import Utterance
from agentcli.errors import AudioError

# An output stream costs CPU even when it plays silence (PortAudio's and the sound server's threads, our
# callback): after this long with nothing to play it is paused, and the next write() restarts it, which
# takes about a millisecond.
IDLE_PAUSE_S = 1.0
_FADE_FRAMES = 240  # pause/resume fade: 5 ms at 48 kHz (10 ms at 24 kHz)
_ENERGY_WINDOW_MS = 100  # playback energy is the loudest block over the output latency plus this


class Player(StartStop):
    """Plays mono audio written at `rate` Hz on `device` (None = system default; id or name substring).

    write() queues audio (resampled to the device rate when the device does not take `rate`); the
    callback hands it out in blocks of `block_ms`. After an underrun, output waits until `prebuffer_ms`
    is queued (or that long has passed, or the utterance is ended) so a trickling producer does not
    stutter. flush() cuts playback: the next callback outputs zeros. Call start() inside an event loop.
    """

    def __init__(
        self,
        device: str | int | None = None,
        rate: int = 24000,
        block_ms: int = 20,
        prebuffer_ms: int = 60,
    ):
        self.device_spec = device
        self.rate = rate
        self.block_ms = block_ms
        self.prebuffer_ms = prebuffer_ms
        self.device: DeviceInfo | None = None
        self.device_rate = rate
        self.latency_s = 0.0  # the stream's reported output latency
        self.underruns = 0  # callbacks that ran out of queued audio mid-utterance
        self.last_flush_time: float | None = None  # perf_counter when flush() last dropped audio
        self.last_silence_time: float | None = None  # perf_counter of the first all-zero callback after it
        self._lock = threading.Lock()
        self._chunks: deque[tuple[np.ndarray, Utterance]] = deque()
        self._offset = 0  # frames of _chunks[0] already handed out
        self._buffered = 0  # frames queued and not yet handed out
        self._pos = 0  # frames the device has been handed, silence included
        self._holding = True  # waiting for the pre-buffer to fill
        self._held = 0  # frames of silence output while holding queued audio back
        self._handed_total = 0
        self._last_end_pos = 0
        self._last_cb_time: float | None = None
        self._last_cb_frames = 0
        self._energies: deque[float] = deque(maxlen=1)
        # What really went out, with when it was handed over: the echo canceller's reference (frontend.py)
        self.far_end = FarEndTap()
        self._current: Utterance | None = None
        self._ids = itertools.count(1)
        self._resampler = Resampler(rate, rate)
        self._stream: Any = None
        self._channels = 1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drained = asyncio.Event()
        self._flushed = False
        self._paused = False  # stopped while idle (loop thread only)
        self._restarted = False  # the stream (re)started: its next block tells the echo reference so
        self._pause_asked = False  # the callback asked the loop thread to pause the stream
        self._hold = 0  # pause(): 0 playing, 1 fade out in the next block, 2 paused (silence, nothing handed)
        self._fade_in = False  # resume(): the next block fades in
        self.last_paused_time: float | None = None  # perf_counter of the callback that faded out after pause()

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        if self._stream is not None:
            return
        sd = portaudio()
        self._loop = asyncio.get_running_loop()
        self._drained = asyncio.Event()
        self.device = resolve_device(self.device_spec, "output")
        self.device_rate, self._channels = stream_format(self.device, "output", self.rate)
        self._resampler = Resampler(self.rate, self.device_rate)
        block = max(1, self.device_rate * self.block_ms // 1000)
        try:
            stream = sd.OutputStream(
                device=self.device.index,
                samplerate=self.device_rate,
                channels=self._channels,
                dtype="float32",
                blocksize=block,
                callback=self._callback,
            )
        except Exception as e:  # PortAudioError: busy, vanished, unsupported
            raise AudioError(
                f"cannot open output device {self.device.index} ({self.device.name}): {e}; "
                "pick another with --output-device"
            ) from e
        lat = stream.latency
        self.latency_s = float(lat[1] if isinstance(lat, tuple) else lat)
        self.far_end.latency_s = self.latency_s
        window = self.latency_s * 1000 + _ENERGY_WINDOW_MS
        self._energies = deque(maxlen=max(1, int(window // self.block_ms) + 1))
        self._stream = stream
        self._restarted = True
        stream.start()

    def stop(self) -> None:
        """Stop at once (queued audio is dropped); use `await wait_drained()` first to finish playing."""
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()  # stop() would wait for PortAudio's buffers to drain
            finally:
                stream.close()
        self.flush()

    close = stop


    # --- utterances and writing --------------------------------------------------------------------

    def begin_utterance(self, id: str | None = None) -> Utterance:
        """Start counting a new utterance; audio written from now on belongs to it."""
        self.end_utterance()
        utt = Utterance(id=id or f"u{next(self._ids)}", rate=self.device_rate, _clock=self)
        self._current = utt
        return utt

    def end_utterance(self) -> None:
        """No more audio for the current utterance: its tail is released even below the pre-buffer."""
        utt, self._current = self._current, None
        if utt is None:
            return
        tail = self._resampler.flush() if not self._resampler.passthrough else None
        with self._lock:
            if tail is not None and tail.size:
                self._append(tail, utt)
            utt.ended = True

    @property
    def current(self) -> Utterance | None:
        return self._current

    def _append(self, frames: np.ndarray, utt: Utterance) -> None:
        self._chunks.append((frames, utt))
        self._buffered += frames.shape[0]
        utt.queued += frames.shape[0]
        self._drained.clear()

    def write(self, audio: np.ndarray | bytes) -> float:
        """Queue mono audio at `rate` (float32, int16 or PCM16 bytes) for the current utterance (one is
        begun if none is open). Returns the ms queued. Never blocks on the audio device."""
        if self._stream is None:
            raise AudioError("Player.write() before start(): the device rate is not known yet")
        samples = to_mono(as_float32(audio))
        utt = self._current or self.begin_utterance()
        frames = self._resampler.process(samples) if not self._resampler.passthrough else samples.copy()
        if frames.size:
            with self._lock:
                self._append(frames.astype(np.float32, copy=False), utt)
            if self._paused:
                self._paused = False
                self._restarted = True
                self._stream.start()
        return samples.shape[0] * 1000.0 / self.rate

    @property
    def paused(self) -> bool:
        """The stream is stopped because nothing has played for IDLE_PAUSE_S (write() restarts it)."""
        return self._paused

    def _pause_if_idle(self) -> None:
        """Loop thread: stop the stream if it still has nothing to play (a write() may have come first)."""
        self._pause_asked = False
        stream = self._stream
        if stream is None or self._paused:
            return
        with self._lock:
            if self._chunks or self._flushed:
                return
            self._paused = True
            self._energies.clear()
        stream.abort()  # nothing is queued: no need to wait for PortAudio's buffers (all silence)

    def pause(self) -> None:
        """Pause playback where it is (a short fade in the next block); queued audio is kept for resume()."""
        with self._lock:
            if self._hold == 0:
                self._hold = 1 if self._chunks else 2  # nothing playing: nothing to fade

    def resume(self) -> None:
        """Go on from where pause() stopped, with a short fade in."""
        with self._lock:
            if self._hold:
                self._hold = 0
                self._fade_in = True

    @property
    def output_paused(self) -> bool:
        return self._hold != 0

    def flush(self) -> float:
        """Drop everything queued; the next callback outputs silence. Returns the ms dropped.
        The current utterance is ended (write() after a flush begins a new one)."""
        self._current = None
        self._resampler.reset()
        with self._lock:
            dropped = self._buffered
            for i, (chunk, utt) in enumerate(self._chunks):
                utt.dropped += chunk.shape[0] - (self._offset if i == 0 else 0)
                utt.ended = True
            self._chunks.clear()
            self._offset = 0
            self._buffered = 0
            self._holding = True
            self._held = 0
            self._hold = 0
            if dropped:
                self._flushed = True
                self.last_silence_time = None
                self.last_flush_time = time.perf_counter()
        self._drained.set()
        return dropped * 1000.0 / self.device_rate

    # --- what was played ---------------------------------------------------------------------------

    def _in_flight(self, end_pos: int) -> int:
        """Of the frames handed up to `end_pos`, how many have not come out of the speaker yet: the
        speaker is `latency` behind the last callback, plus what it played since (at most a block)."""
        latency = int(self.latency_s * self.device_rate)
        since = 0
        if self._last_cb_time is not None and self._stream is not None:
            since = int((time.perf_counter() - self._last_cb_time) * self.device_rate)
            since = min(since, self._last_cb_frames)
        return max(0, latency - (self._pos - end_pos) - since)

    def _heard_frames(self, utt: Utterance) -> int:
        with self._lock:
            return max(0, utt.handed - self._in_flight(utt.end_pos))

    @property
    def played_ms(self) -> float:
        """All utterances' audio heard so far (handed to the device minus the output latency)."""
        with self._lock:
            frames = max(0, self._handed_total - self._in_flight(self._last_end_pos))
        return frames * 1000.0 / self.device_rate

    @property
    def queued_ms(self) -> float:
        """Audio queued and not yet handed to the device."""
        return self._buffered * 1000.0 / self.device_rate

    @property
    def energy(self) -> float:
        """RMS of the loudest recent output block: what the microphone may be hearing of us now."""
        with self._lock:
            return max(self._energies, default=0.0)

    @property
    def drained(self) -> bool:
        return self._buffered == 0

    async def wait_drained(self) -> None:
        """Ends the current utterance, then waits until all queued audio has been handed to the device
        and has had time to come out of the speaker."""
        self.end_utterance()
        while True:
            with self._lock:
                if not self._chunks:
                    break
                self._drained.clear()
            if self._stream is None:
                raise AudioError("Player.wait_drained() on a stopped player")
            await self._drained.wait()
        for _ in range(20):  # bounded: the stream could stall or stop under us
            with self._lock:
                remaining = self._in_flight(self._last_end_pos)
            if remaining <= 0 or self._stream is None:
                break
            await asyncio.sleep(remaining / self.device_rate + 0.001)

    # --- the audio thread --------------------------------------------------------------------------

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        now = time.perf_counter()
        out = np.zeros(frames, np.float32)
        n = 0
        with self._lock:
            if self._holding and self._chunks:
                tail_ready = self._chunks[-1][1].ended
                prebuffer = self.device_rate * self.prebuffer_ms // 1000
                if tail_ready or self._buffered >= prebuffer or self._held >= prebuffer:
                    self._holding = False
                else:
                    self._held += frames
            # paused: nothing is handed; the block that pauses plays a few ms faded out (no click)
            limit = frames if self._hold == 0 else min(frames, _FADE_FRAMES) if self._hold == 1 else 0
            if not self._holding and limit:
                while n < limit and self._chunks:
                    chunk, utt = self._chunks[0]
                    take = min(limit - n, chunk.shape[0] - self._offset)
                    out[n : n + take] = chunk[self._offset : self._offset + take]
                    if utt.first_sample_time is None:
                        utt.first_sample_time = now
                    n += take
                    utt.handed += take
                    utt.end_pos = self._pos + n
                    self._offset += take
                    if self._offset >= chunk.shape[0]:
                        self._chunks.popleft()
                        self._offset = 0
                if n:
                    self._buffered -= n
                    self._handed_total += n
                    self._last_end_pos = self._pos + n
                if self._hold == 1:
                    out[:n] *= np.linspace(1.0, 0.0, n, dtype=np.float32)
                elif self._fade_in and n:
                    k = min(n, _FADE_FRAMES)
                    out[:k] *= np.linspace(0.0, 1.0, k, dtype=np.float32)
                    self._fade_in = False
                if not self._chunks:
                    cur = self._current
                    if n < frames and cur is not None and not cur.ended:
                        self.underruns += 1  # ran dry while more audio was expected
                    self._holding = True
                    self._held = 0
                    if n:
                        call_in_loop(self._loop, self._drained.set)
            if self._hold == 1:
                self._hold = 2
                self.last_paused_time = now
            if self._flushed and n == 0:
                self.last_silence_time = now
                self._flushed = False
            self._pos += frames
            self._last_cb_time = now
            self._last_cb_frames = frames
            self._energies.append(rms(out) if n else 0.0)
            self.far_end.push(out, self.device_rate, now, restart=self._restarted)
            self._restarted = False
            quiet_for = (self._pos - self._last_end_pos) / self.device_rate  # seconds since the last sound
            idle = not self._chunks and quiet_for > self.latency_s + IDLE_PAUSE_S
            if idle and not self._pause_asked:
                self._pause_asked = True
                call_in_loop(self._loop, self._pause_if_idle)
        if self._channels == 1:
            outdata[:, 0] = out
        else:
            outdata[:] = out[:, None]
