"""The speech stage: sentences in, audio out, in order.

`say()` queues a sentence; its synthesis starts at once when it is next in line (or within `lookahead`
sentences of the one being written), so later sentences are synthesized while earlier ones play. A
feeder task writes each sentence's PCM to the sink as it arrives, one sink utterance per sentence, which
is what lets barge-in tell how much of each sentence was heard. It also stops running far ahead of the
speaker (`ahead_ms`) so an interruption wastes little synthesis.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentcli import events as ev
from agentcli.voice.history import SpokenSentence
from agentcli.voice.sentences import speakable
from agentcli.voice.tts import TextToSpeech

_END = object()


@dataclass(eq=False)
class _Sentence:
    raw: str
    text: str  # what is said
    spoken: SpokenSentence
    chunks: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None
    utterance: Any = None  # the sink's Utterance, once writing began
    started: float | None = None  # events.now() when synthesis began
    first_byte: float | None = None  # perf_counter when its first audio byte arrived
    audio_bytes: int = 0
    error: str | None = None


def to_ts(perf: float) -> float:
    """A time.perf_counter() reading as an event timestamp (events.now() clock)."""
    return ev.now() - (time.perf_counter() - perf)


class Speaker:
    """`emit` receives SpeechDone (and ErrorEvent) events; `on_audio(perf_time)` is called once, when the
    first audio byte of this speaker arrives; `record(pcm)` (optional) gets every chunk written.
    `gate` (optional): nothing is written to the sink before it is set (a prepared answer, synthesized
    while the turn may still go on); `on_sentence(text)` is called as each sentence starts playing."""

    def __init__(self, tts: TextToSpeech, sink: Any, emit: Callable[[ev.Event], None], *,
                 lookahead: int = 1, ahead_ms: float = 3000.0,
                 on_audio: Callable[[float], None] | None = None,
                 record: Callable[[bytes], None] | None = None, gate: asyncio.Event | None = None,
                 on_sentence: Callable[[str], None] | None = None) -> None:
        self.tts = tts
        self.sink = sink
        self.emit = emit
        self.lookahead = lookahead
        self.ahead_ms = ahead_ms
        self.on_audio = on_audio
        self.record = record
        self.gate = gate
        self.on_sentence = on_sentence
        self.sentences: list[_Sentence] = []
        self.first_byte_time: float | None = None  # perf_counter of the first audio byte of all
        self._next = 0  # index of the sentence the feeder writes now
        self._wakeup = asyncio.Event()
        self._closed = False
        self._feeder: asyncio.Task[None] | None = None

    # -- producer side -----------------------------------------------------------------------------
    def say(self, raw: str) -> None:
        """Queue one sentence (raw text as it streamed; Markdown is made speakable here)."""
        sentence = _Sentence(raw=raw, text=speakable(raw), spoken=SpokenSentence(raw=raw))
        self.sentences.append(sentence)
        if len(self.sentences) - 1 <= self._next + self.lookahead:
            self._synthesize(sentence)
        if self._feeder is None:
            self._feeder = asyncio.create_task(self._feed())
        self._wakeup.set()

    def close(self) -> None:
        """No more sentences will come."""
        self._closed = True
        self._wakeup.set()

    async def finish(self) -> None:
        """Wait until every sentence is written and played out."""
        self.close()
        if self._feeder is not None:
            await self._feeder
        await self.sink.wait_drained()

    @property
    def spoken(self) -> list[SpokenSentence]:
        """Each sentence written so far with its audio length and heard share, refreshed from the sink."""
        out: list[SpokenSentence] = []
        for s in self.sentences:
            if s.utterance is not None:
                s.spoken.heard_ms = s.utterance.heard_ms
                s.spoken.audio_ms = s.audio_bytes / 2 * 1000.0 / self.tts.rate
            out.append(s.spoken)
        return out

    @property
    def speaking(self) -> bool:
        """Audio has been written and is not all played yet (or more is on its way)."""
        return self.first_byte_time is not None and (
            not self.sink.drained or (self._feeder is not None and not self._feeder.done())
        )

    async def cancel(self) -> None:
        """Stop synthesis and writing now (the caller flushes the sink)."""
        self._closed = True
        tasks = [s.task for s in self.sentences if s.task is not None and not s.task.done()]
        if self._feeder is not None and not self._feeder.done():
            tasks.append(self._feeder)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for s in self.sentences[self._next :]:
            if s.utterance is not None and s.started is not None:
                self._done_event(s, "cancelled")

    # -- synthesis -----------------------------------------------------------------------------------
    def _synthesize(self, s: _Sentence) -> None:
        if s.task is None:
            s.task = asyncio.create_task(self._run_tts(s))

    async def _run_tts(self, s: _Sentence) -> None:
        s.started = ev.now()
        if not s.text:
            s.chunks.put_nowait(_END)
            return
        try:
            async for pcm in self.tts.synthesize(s.text):
                if s.first_byte is None:
                    s.first_byte = time.perf_counter()
                    if self.first_byte_time is None:
                        self.first_byte_time = s.first_byte
                        if self.on_audio is not None:
                            self.on_audio(s.first_byte)
                s.chunks.put_nowait(pcm)
        except Exception as e:  # noqa: BLE001 - one failed sentence is reported, the rest still spoken
            s.error = str(e) or type(e).__name__
        s.chunks.put_nowait(_END)

    # -- writing -------------------------------------------------------------------------------------
    async def _feed(self) -> None:
        while True:
            while self._next >= len(self.sentences):
                if self._closed:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
            s = self.sentences[self._next]
            for ahead in self.sentences[self._next : self._next + self.lookahead + 1]:
                self._synthesize(ahead)
            if self.gate is not None and not self.gate.is_set():
                await self.gate.wait()
            s.utterance = self.sink.begin_utterance(f"s{self._next + 1}")
            if self.on_sentence is not None:
                self.on_sentence(s.text)
            while (chunk := await s.chunks.get()) is not _END:
                self.sink.write(chunk)
                s.audio_bytes += len(chunk)
                if self.record is not None:
                    self.record(chunk)
            self.sink.end_utterance()
            s.spoken.complete = True
            s.spoken.audio_ms = s.audio_bytes / 2 * 1000.0 / self.tts.rate
            if s.error:
                self.emit(ev.ErrorEvent(message=f"speech failed: {s.error}", kind="model"))
            self._done_event(s, "error" if s.error else "ok")
            self._next += 1
            await self._keep_close()

    def _done_event(self, s: _Sentence, status: str) -> None:
        first = None
        if s.first_byte is not None and s.started is not None:
            first = max(0.0, (to_ts(s.first_byte) - s.started) * 1000.0)
        self.emit(ev.SpeechDone(text=s.text, model=self.tts.model, voice=self.tts.voice, chars=len(s.text),
                                audio_ms=s.audio_bytes / 2 * 1000.0 / self.tts.rate, first_byte_ms=first,
                                started=s.started, status=status))

    async def _keep_close(self) -> None:
        """Do not run more than `ahead_ms` of audio ahead of the speaker."""
        queued = getattr(self.sink, "queued_ms", None)
        if queued is None:
            return
        while getattr(self.sink, "queued_ms", 0.0) > self.ahead_ms:
            await asyncio.sleep(0.05)
