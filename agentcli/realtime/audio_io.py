"""Audio in and out of a realtime session, 24 kHz pcm16 mono on the wire.

`MicPump` reads the microphone (or a WAV as one) and hands each block to the session as PCM, through the
echo guard while the assistant plays and only while push-to-talk is held. `OutputAudio` plays response
audio deltas on a sink (Player or FileSink) and knows, per item, how much was received and heard, which
is what a barge-in truncates the item to; its `tap` (--record) sees every delta it queues.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agentcli.realtime.config import RATE

FAST_FACTOR = 10  # --fast: the file goes in at 10x real time, pausing while the assistant answers
BYTES_PER_MS = RATE * 2 // 1000


@dataclass
class PlayingItem:
    item_id: str
    response_id: str
    utterance: Any  # agentcli.audio.sink.Utterance; None while paused (a new one begins on resume)
    received_ms: float = 0.0
    complete: bool = False  # no more audio will come for it
    stale: bool = False  # from a connection that dropped: the new server session does not know the item
    pcm: bytearray = field(default_factory=bytearray)  # all of it as received: a resume plays on from here
    offset_ms: float = 0.0  # played before the current utterance began (a pause splits the item)
    tapped: int = 0  # bytes of pcm handed to the tap (--record): not what arrived while paused, unless resumed

    def handed_ms(self) -> float:
        """Given to the device so far (what a cut leaves the user having heard)."""
        played = self.utterance.handed_ms if self.utterance is not None else 0.0
        return min(self.offset_ms + played, self.received_ms)

    def heard_ms(self) -> float:
        played = self.utterance.heard_ms if self.utterance is not None else 0.0
        return min(self.offset_ms + played, self.received_ms)


@dataclass
class Cut:
    """What a barge-in stopped: the item and how much of it the user heard."""

    item_id: str
    response_id: str
    heard_ms: float  # the player's counter (handed to the device), clamped to the audio received
    received_ms: float
    stale: bool = False  # nothing to truncate on the server (the item is from a dropped connection)


class OutputAudio:
    """Plays answer audio. `pause()` silences it within one block and keeps the rest (and whatever still
    arrives) to `resume()` where it stopped: the sink's flush does the silencing, the item's own copy of
    its audio the resuming, so any sink (Player, FileSink) can pause."""

    def __init__(self, sink: Any):
        self.sink = sink  # agentcli.audio.sink.AudioSink
        self.current: PlayingItem | None = None
        self.first_delta_at: float | None = None  # perf_counter of the current item's first delta
        self.tap: Callable[[bytes], None] | None = None  # --record: the answer audio as received
        self.paused_at: float | None = None  # perf_counter of the pause in progress

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    def write(self, item_id: str, response_id: str, b64: str) -> PlayingItem:
        """Queue one `response.output_audio.delta`; a new item id begins a new utterance."""
        pcm = base64.b64decode(b64)
        cur = self.current
        if cur is None or cur.item_id != item_id:
            utterance = None if self.paused else self.sink.begin_utterance(item_id)
            cur = self.current = PlayingItem(item_id, response_id, utterance)
        if pcm:
            cur.pcm += pcm
            cur.received_ms += len(pcm) / BYTES_PER_MS
            if not self.paused:
                self.sink.write(pcm)
                self._tap(cur)
        return cur

    def _tap(self, cur: PlayingItem) -> None:
        """Hand the tap what it has not seen of the item: a recording holds what played, and what a pause
        held back only once it resumes (an interrupted answer ends where it was paused)."""
        if self.tap is not None and cur.tapped < len(cur.pcm):
            self.tap(bytes(cur.pcm[cur.tapped :]))
        cur.tapped = len(cur.pcm)

    def orphan(self) -> None:
        """The connection dropped: what arrived keeps playing, but its item is no longer the server's."""
        if self.current is not None:
            self.current.stale = True
            self.complete(self.current.item_id)

    def complete(self, item_id: str) -> None:
        """The item's audio is all there: let the player release its tail."""
        cur = self.current
        if cur is not None and cur.item_id == item_id and not cur.complete:
            cur.complete = True
            if not self.paused:
                self.sink.end_utterance()

    def heard_ms(self) -> float:
        cur = self.current
        return cur.heard_ms() if cur else 0.0

    @property
    def playing(self) -> bool:
        """Audio of the current item is still to be heard (or more of it is still to come); a paused
        item is still playing."""
        cur = self.current
        if cur is None:
            return False
        return not cur.complete or cur.heard_ms() < cur.received_ms - 1.0

    def pause(self) -> bool:
        """Silence the answer within one block, keeping the rest to resume. False when already paused."""
        if self.paused:
            return False
        self.paused_at = time.perf_counter()
        cur = self.current
        if cur is not None and cur.utterance is not None:
            self.sink.flush()
            handed = cur.handed_ms()  # by the flush: the part inside the device's latency still comes out
            cur.offset_ms, cur.utterance = handed, None
        return True

    def resume(self) -> float:
        """Play on where the pause stopped (and what arrived meanwhile); returns how long it was paused."""
        if self.paused_at is None:
            return 0.0
        paused_ms = (time.perf_counter() - self.paused_at) * 1000
        self.paused_at = None
        cur = self.current
        if cur is not None and cur.utterance is None:
            cur.utterance = self.sink.begin_utterance(cur.item_id)
            rest = cur.pcm[int(cur.offset_ms * BYTES_PER_MS) // 2 * 2 :]
            if rest:
                self.sink.write(bytes(rest))
            self._tap(cur)
            if cur.complete:
                self.sink.end_utterance()
        return paused_ms

    def cut(self) -> Cut | None:
        """Barge-in: silence output within one block. None when playback had already finished.

        What the user hears of the item is what the player handed to the device by the flush: the part
        still inside the device's output latency comes out of the speaker all the same."""
        self.paused_at = None
        cur = self.current
        if cur is None or not self.playing:
            return None
        if cur.utterance is not None:
            self.sink.flush()
        heard = cur.handed_ms()
        self.current = None
        return Cut(cur.item_id, cur.response_id, heard, cur.received_ms, cur.stale)

    async def wait_heard(self, poll_s: float = 0.02, limit_s: float = 600.0) -> None:
        """Until the current item has been heard to its end (bounded; a pause extends the bound)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        while self.playing and (self.paused or loop.time() < deadline):
            await asyncio.sleep(poll_s)


class MicPump:
    """Microphone blocks -> `send(pcm16 bytes)`. `gate()` False drops blocks (push-to-talk released);
    while the sink plays, the echo guard replaces blocks it judges to be our own voice by silence, so the
    server's VAD does not hear the assistant (and the audio timeline stays continuous)."""

    def __init__(
        self,
        source: Any,
        send: Callable[[bytes], Awaitable[None]],
        *,
        gate: Callable[[], bool] = lambda: True,
        echo_guard: Any = None,
        playback_energy: Callable[[], float] = lambda: 0.0,
        fast: bool = False,
        wait_turn: Callable[[], Awaitable[None]] | None = None,
    ):
        self.source = source
        self.send = send
        self.gate = gate
        self.echo_guard = echo_guard
        self.playback_energy = playback_energy
        self.fast = fast
        self.wait_turn = wait_turn
        self.sent_ms = 0.0
        self.echo_blocks = 0

    async def run(self) -> None:
        """Until the source ends (a file) or the task is cancelled (the microphone)."""
        import numpy as np

        from agentcli.audio.resample import float_to_pcm16

        block_s = getattr(self.source, "block_ms", 20) / 1000
        while True:
            if self.fast and self.wait_turn is not None:
                await self.wait_turn()
            block = await self.source.read()
            if block is None:
                return
            if self.gate():
                if self.echo_guard is not None and not self.echo_guard.allows(block, self.playback_energy()):
                    self.echo_blocks += 1
                    block = np.zeros_like(block)
                await self.send(float_to_pcm16(block))
                self.sent_ms += block.shape[0] * 1000 / RATE
            if self.fast:
                await asyncio.sleep(block_s / FAST_FACTOR)
