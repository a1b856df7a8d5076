"""Microphone input as an asyncio stream of mono float32 blocks; `FileSource` does the same from a WAV.

Both sources share one interface (`AudioSource`): start()/stop() (or `async with`), `await read()`,
`async for block in source`, `level` (dBFS of the latest block) and `dropped_blocks`.

The PortAudio callback only mixes down to mono, measures the level and appends to a bounded deque; the
resampling to `rate` happens in the asyncio thread when the block is read, so the audio thread never
waits on anything. When the reader falls behind, the oldest blocks are dropped and counted.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from agentcli.audio.devices import DeviceInfo, portaudio, resolve_device, stream_format
from agentcli.audio.lifecycle import StartStop, call_in_loop
from agentcli.audio.resample import Resampler, dbfs, to_mono
from agentcli.audio.wavfile import read_wav
from agentcli.errors import AudioError

if TYPE_CHECKING:
    from agentcli.audio.frontend import FrontEnd


class AudioSource(Protocol):
    """What the voice and realtime loops read microphone audio from."""

    rate: int
    dropped_blocks: int

    @property
    def level(self) -> float: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    async def read(self) -> np.ndarray | None: ...

    def __aiter__(self) -> AsyncIterator[np.ndarray]: ...


class _BlockQueue(StartStop):
    """A bounded deque of blocks filled from any thread and read from asyncio. Not public."""

    def __init__(self, queue_blocks: int):
        self._blocks: deque[np.ndarray] = deque()
        self._max = max(1, queue_blocks)
        self._lock = threading.Lock()
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_pending = False
        self._ended = False
        self.dropped_blocks = 0

    async def read(self) -> np.ndarray | None:
        raise NotImplementedError

    async def __aiter__(self) -> AsyncIterator[np.ndarray]:
        while (block := await self.read()) is not None:
            yield block

    def _bind(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._ended = False

    def _wake(self) -> None:
        self._wake_pending = False
        self._wakeup.set()

    def _push(self, block: np.ndarray) -> None:
        """From any thread: queue a block, dropping the oldest when full; never blocks for long."""
        with self._lock:
            if len(self._blocks) >= self._max:
                self._blocks.popleft()
                self.dropped_blocks += 1
            self._blocks.append(block)
            if self._wake_pending or self._loop is None:
                return
            self._wake_pending = True  # one wake-up call in flight at a time: the loop's queue stays small
        call_in_loop(self._loop, self._wake)

    def _end(self) -> None:
        self._ended = True
        self._wakeup.set()

    async def _pop(self) -> np.ndarray | None:
        while True:
            with self._lock:
                if self._blocks:
                    return self._blocks.popleft()
                if self._ended:
                    return None
                self._wakeup.clear()
            await self._wakeup.wait()

    @property
    def queued_blocks(self) -> int:
        return len(self._blocks)


class Recorder(_BlockQueue):
    """The microphone as mono float32 blocks of about `block_ms` at `rate` Hz.

    `device`: None for the system default, an id or a name substring (see `resolve_device`).
    The stream opens at `rate` when the device takes it, else at the device's native rate (resampled here).
    Call `start()` from inside a running event loop; `read()` returns None once stopped and emptied.
    `frontend` (audio/frontend.py): blocks are cleaned (echo, noise) before read() returns them; it runs
    in the reading thread and gets each block's time on the callbacks' clock: when the first callback
    delivered its first sample, plus the samples since.
    """

    def __init__(
        self,
        device: str | int | None = None,
        rate: int = 16000,
        block_ms: int = 20,
        queue_blocks: int = 50,
        frontend: FrontEnd | None = None,
    ):
        super().__init__(queue_blocks)
        self.device_spec = device
        self.rate = rate
        self.block_ms = block_ms
        self.device: DeviceInfo | None = None
        self.device_rate = rate
        self.overflows = 0  # PortAudio reported lost input (the OS dropped samples)
        self._last: np.ndarray | None = None  # the latest block, for `level`
        self._stream: Any = None
        self._resampler: Resampler | None = None
        self.frontend = frontend
        self.latency_s = 0.0  # the input stream's reported latency
        self._t0: float | None = None  # perf_counter when the first callback delivered its first sample
        self._block_frames = 0  # device frames per callback block (to count dropped blocks' time)
        self._frames_read = 0  # device frames popped by read()
        self._dropped_before = 0
        self._runs = 0  # start() calls: tells this run's end-of-stream notice from an earlier one's

    @property
    def level(self) -> float:
        """RMS level in dBFS of the latest captured block (-120 when silent or not started)."""
        last = self._last
        return dbfs(last) if last is not None else -120.0

    @property
    def running(self) -> bool:
        return self._stream is not None

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        # PortAudio thread: keep it cheap and non-blocking.
        if status and status.input_overflow:
            self.overflows += 1
        if self._t0 is None:  # the blocks' times: the device's sample clock from here on
            # (not minus the reported input latency: see audio/frontend.py on why it is not trusted)
            self._t0 = time.perf_counter() - frames / self.device_rate
        block = to_mono(indata).astype(np.float32, copy=True)
        self._last = block  # its level is computed when asked for (a meter), not here on every block
        self._push(block)

    def _on_finished(self, run: int) -> None:
        # PortAudio thread: the stream ended (stopped, or the device went away): readers get None. The
        # notice of a stream stopped before a restart arrives after it, and must not end the new run.
        call_in_loop(self._loop, lambda: self._end() if run == self._runs else None)

    def start(self) -> None:
        if self._stream is not None:
            return
        sd = portaudio()
        self.device = resolve_device(self.device_spec, "input")
        self.device_rate, channels = stream_format(self.device, "input", self.rate)
        self._resampler = Resampler(self.device_rate, self.rate)
        self._bind()
        self._t0 = None
        self._frames_read = 0
        self._dropped_before = self.dropped_blocks  # drops of an earlier run are not on this timeline
        self._runs += 1
        run = self._runs
        self._block_frames = max(1, self.device_rate * self.block_ms // 1000)
        try:
            stream = sd.InputStream(
                device=self.device.index,
                samplerate=self.device_rate,
                channels=channels,
                dtype="float32",
                blocksize=self._block_frames,
                callback=self._callback,
                finished_callback=lambda: self._on_finished(run),
            )
            lat = stream.latency
            self.latency_s = float(lat[0] if isinstance(lat, tuple) else lat)
            stream.start()
        except Exception as e:  # PortAudioError: device busy, vanished, ...
            raise AudioError(
                f"cannot open input device {self.device.index} ({self.device.name}): {e}; "
                "pick another with --input-device"
            ) from e
        self._stream = stream

    def stop(self) -> None:
        """Stop capturing; blocks already queued can still be read, then read() returns None."""
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()  # abort, not stop: stop() may wait for buffers to drain
            finally:
                stream.close()
        if self._loop is not None:
            self._end()

    async def read(self) -> np.ndarray | None:
        """The next block at `rate` (resampled if needed), or None when stopped and drained."""
        while True:
            raw = await self._pop()
            if raw is None:
                return None
            # blocks dropped so far were all older than this one: their time has passed too
            captured = self._frames_read + (self.dropped_blocks - self._dropped_before) * self._block_frames
            self._frames_read += raw.shape[0]
            if self._resampler is None or self._resampler.passthrough:
                out = raw
            else:
                out = self._resampler.process(raw)
            if not out.size:  # the resampler may hold a first block back while its filter fills
                continue
            if self.frontend is not None:
                # the resampler's few ms of delay are within the front end's lead
                t0 = self._t0 if self._t0 is not None else time.perf_counter()
                out = self.frontend.process(out, t0 + captured / self.device_rate)
            return out



class FileSource(_BlockQueue):
    """A WAV file streamed as if it were the microphone (for `--input FILE`).

    Blocks come in real time (one every `block_ms`) unless `fast=True`, then as fast as they are read.
    `tail_silence_ms` of silence is appended so a turn detector sees the speech end. The file is read
    (and errors raised) when the FileSource is created.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        rate: int = 16000,
        block_ms: int = 20,
        fast: bool = False,
        tail_silence_ms: int = 0,
        queue_blocks: int = 50,
    ):
        super().__init__(queue_blocks)
        self.path = os.fspath(path)
        self.rate = rate
        self.block_ms = block_ms
        self.fast = fast
        samples = read_wav(path, rate)
        tail = np.zeros(rate * tail_silence_ms // 1000, np.float32)
        self.samples = np.concatenate([samples, tail]) if tail.size else samples
        self._block = max(1, rate * block_ms // 1000)
        self._pos = 0
        self._level = -120.0
        self._task: asyncio.Task[None] | None = None
        self._started = False

    @property
    def level(self) -> float:
        return self._level

    @property
    def duration_ms(self) -> float:
        return self.samples.shape[0] * 1000.0 / self.rate

    def _next_block(self) -> np.ndarray | None:
        if self._pos >= self.samples.shape[0]:
            return None
        block = self.samples[self._pos : self._pos + self._block].copy()
        self._pos += block.shape[0]
        self._level = dbfs(block)
        return block

    async def _pace(self) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        n = 0
        while (block := self._next_block()) is not None:
            n += 1
            # absolute deadlines: timer jitter does not accumulate into drift
            await asyncio.sleep(max(0.0, t0 + n * self._block / self.rate - loop.time()))
            self._push(block)
        self._end()

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._bind()
        if not self.fast:
            self._task = asyncio.get_running_loop().create_task(self._pace())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._pos = self.samples.shape[0]
        if self._loop is not None:
            self._end()

    async def read(self) -> np.ndarray | None:
        if not self._started:
            raise AudioError("FileSource.read() before start()")
        if self.fast:
            with self._lock:
                if self._blocks:
                    return self._blocks.popleft()
            return self._next_block()
        return await self._pop()
