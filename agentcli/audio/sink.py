"""What the voice and realtime loops play audio into: the `AudioSink` interface, the `Utterance` counter
it hands out, and `FileSink`, a sink that writes a WAV instead of playing (for `--output FILE`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from agentcli.audio.lifecycle import StartStop
from agentcli.audio.resample import as_float32, to_mono
from agentcli.audio.wavfile import WavWriter


class _Clock(Protocol):
    def _heard_frames(self, utt: Utterance) -> int: ...


@dataclass(eq=False)
class Utterance:
    """One stretch of assistant speech (a TTS sentence, a realtime response), counted in device frames.

    `queued_ms`: audio written for it; `handed_ms`: audio given to the device so far; `heard_ms`: what the
    user has heard, i.e. handed minus what is still inside the device's output latency.
    `first_sample_time`: time.perf_counter() of the audio callback that handed its first sample.
    """

    id: str
    rate: int  # the frame rate the counters are in (the device's)
    queued: int = 0
    handed: int = 0
    dropped: int = 0  # frames thrown away by a flush before they were played
    end_pos: int = 0  # the player's frame position just after this utterance's last handed frame
    ended: bool = False  # no more audio will be written for it
    first_sample_time: float | None = None
    _clock: _Clock | None = field(default=None, repr=False)

    def _ms(self, frames: int) -> float:
        return frames * 1000.0 / self.rate

    @property
    def queued_ms(self) -> float:
        return self._ms(self.queued)

    @property
    def handed_ms(self) -> float:
        return self._ms(self.handed)

    @property
    def dropped_ms(self) -> float:
        return self._ms(self.dropped)

    @property
    def heard_ms(self) -> float:
        if self._clock is None:
            return self._ms(self.handed)
        return self._ms(self._clock._heard_frames(self))


class AudioSink(Protocol):
    """The interface Player and FileSink share. Audio written is mono at `rate` Hz: float32 [-1, 1],
    int16, or little-endian 16-bit PCM bytes."""

    rate: int

    @property
    def energy(self) -> float: ...

    @property
    def played_ms(self) -> float: ...

    @property
    def drained(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def begin_utterance(self, id: str | None = None) -> Utterance: ...

    def end_utterance(self) -> None: ...

    def write(self, audio: np.ndarray | bytes) -> float: ...

    def flush(self) -> float: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    async def wait_drained(self) -> None: ...


class FileSink(StartStop):
    """An AudioSink that writes everything to a 16-bit WAV at `rate` as it comes (nothing is paced).

    Everything written counts as heard; `flush()` drops nothing (it was all "played" already) and
    `energy` is 0.0: there is no speaker for the microphone to hear.
    """

    def __init__(self, path: str | os.PathLike[str], rate: int = 24000):
        self.path = os.fspath(path)
        self.rate = rate
        self._writer: WavWriter | None = None
        self._current: Utterance | None = None
        self._count = 0
        self.utterances: list[Utterance] = []

    @property
    def energy(self) -> float:
        return 0.0

    @property
    def played_ms(self) -> float:
        return self._writer.duration_ms if self._writer else 0.0

    @property
    def drained(self) -> bool:
        return True

    def start(self) -> None:
        if self._writer is None:
            self._writer = WavWriter(self.path, self.rate)

    def stop(self) -> None:
        """Close the file (its header is fixed then)."""
        self.end_utterance()
        if self._writer is not None:
            self._writer.close()

    close = stop

    def begin_utterance(self, id: str | None = None) -> Utterance:
        self.end_utterance()
        self._count += 1
        self._current = Utterance(id=id or f"u{self._count}", rate=self.rate)
        self.utterances.append(self._current)
        return self._current

    def end_utterance(self) -> None:
        if self._current is not None:
            self._current.ended = True
            self._current = None

    def write(self, audio: np.ndarray | bytes) -> float:
        """Write mono audio at `rate`; returns the ms written."""
        self.start()
        assert self._writer is not None
        samples = to_mono(as_float32(audio))
        utt = self._current or self.begin_utterance()
        if samples.size and utt.first_sample_time is None:
            utt.first_sample_time = time.perf_counter()
        self._writer.write(samples)
        utt.queued += samples.shape[0]
        utt.handed += samples.shape[0]
        return samples.shape[0] * 1000.0 / self.rate

    def flush(self) -> float:
        self.end_utterance()
        return 0.0

    def pause(self) -> None:
        """Nothing to pause: a file is written, not played."""

    def resume(self) -> None:
        pass

    async def wait_drained(self) -> None:
        self.end_utterance()



def silent_since(sink: object, since: float) -> float | None:
    """perf_counter of the first output block at or after `since` that was silent for a pause or a flush
    (the block that faded out, or the first all-silent one after the flush), when the sink tells (a Player
    does); None when it does not, or not yet."""
    times = (getattr(sink, "last_paused_time", None), getattr(sink, "last_silence_time", None))
    return min((t for t in times if t is not None and t >= since), default=None)


async def silenced(sink: object, since: float, limit_s: float = 0.2) -> float | None:
    """`silent_since`, waiting (at most `limit_s`, about a block) for the silence of a flush since `since`
    that dropped audio and whose silent block has not gone out yet."""
    import asyncio

    deadline = time.perf_counter() + limit_s
    while (found := silent_since(sink, since)) is None:
        flushed = getattr(sink, "last_flush_time", None)
        if flushed is None or flushed < since or time.perf_counter() > deadline:
            return None
        await asyncio.sleep(0.002)
    return found
