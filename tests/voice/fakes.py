"""Test doubles for the voice pipeline: a model that streams a fixed answer, STT/TTS without a server,
and a player that "plays" on a fast virtual clock so heard milliseconds are known."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from agentcli.audio.sink import Utterance
from agentcli.events import Usage
from agentcli.models.base import Model, ModelCompleted, ModelRequest, ModelTextDelta, ModelToolCall
from agentcli.voice.stt import SpeechToText, TranscriptPart
from agentcli.voice.tts import TextToSpeech

MS_PER_CHAR = 50.0  # the fake voice's speed


class ScriptedModel(Model):
    """Streams `answer` word by word, `delay` seconds apart."""

    def __init__(self, answer: str, delay: float = 0.0) -> None:
        self.answer = answer
        self.delay = delay

    async def stream(self, request: ModelRequest) -> AsyncIterator[Any]:
        for word in self.answer.split(" "):
            if self.delay:
                await asyncio.sleep(self.delay)
            yield ModelTextDelta(word + " " if not word.endswith("\n") else word)
        yield ModelCompleted(Usage(3, 5))


class ToolCallingModel(Model):
    """Calls `tool` with `arguments` (JSON) first; once the call's output is in the request, says
    `answer` with it, after `delay` seconds."""

    def __init__(self, tool: str, arguments: str = "{}", answer: str = "Done: ", delay: float = 0.0) -> None:
        self.tool, self.arguments, self.answer, self.delay = tool, arguments, answer, delay
        self.calls = 0

    async def stream(self, request: ModelRequest) -> AsyncIterator[Any]:
        last = request.items[-1] if request.items else {}
        if last.get("type") == "function_call_output":
            await asyncio.sleep(self.delay)  # `delay`: the answer is slow to come
            yield ModelTextDelta(self.answer + str(last.get("output")))
        else:
            self.calls += 1
            yield ModelToolCall(call_id=f"call_{self.tool}_{self.calls}", name=self.tool, arguments=self.arguments)
        yield ModelCompleted(Usage(3, 5))


class FakeSTT(SpeechToText):
    """Hears `text`; or, given `texts`, each in turn (the last one again when they run out)."""

    model = "fake-stt"

    def __init__(self, text: str = "what is the weather", texts: list[str] | None = None) -> None:
        self.text = text
        self.texts = list(texts or [])
        self.heard: list[float] = []  # seconds of audio of each call

    async def transcribe(self, audio: np.ndarray, rate: int) -> AsyncIterator[TranscriptPart]:
        self.heard.append(audio.shape[0] / rate)
        text = self.texts.pop(0) if len(self.texts) > 1 else self.texts[0] if self.texts else self.text
        for word in text.split():
            yield TranscriptPart(word + " ")
        yield TranscriptPart(text, final=True)


class FakeTTS(TextToSpeech):
    """MS_PER_CHAR of a quiet tone per character, in 100 ms chunks."""

    model = "fake-tts"
    voice = "test"
    rate = 24000

    def __init__(self) -> None:
        self.said: list[str] = []

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        self.said.append(text)
        n = int(len(text) * MS_PER_CHAR * self.rate / 1000)
        tone = (np.sin(np.arange(n) * 0.05) * 3000).astype("<i2").tobytes()
        for i in range(0, len(tone), 4800):
            await asyncio.sleep(0)
            yield tone[i : i + 4800]


class FakePlayer:
    """Plays on a virtual clock `speed` times faster than real time; utterances play back to back."""

    def __init__(self, speed: float = 20.0, rate: int = 24000) -> None:
        self.rate = rate
        self.speed = speed
        self.total = 0  # frames queued on the timeline
        self._t0: float | None = None  # perf_counter when frame 0 of the timeline would play
        self._frozen: int | None = None  # position after a flush
        self.utterances: list[Utterance] = []
        self._offsets: dict[str, int] = {}
        self._current: Utterance | None = None
        self.flushes = 0
        self.pauses = 0
        self._paused_at: int | None = None  # position while paused
        self.writes = 0
        self.last_paused_time: float | None = None  # as the Player's: when the pause silenced the output

    def position(self) -> int:
        if self._paused_at is not None:
            return self._paused_at
        if self._frozen is not None:
            return self._frozen
        if self._t0 is None:
            return 0
        return min(self.total, int((time.perf_counter() - self._t0) * self.rate * self.speed))

    @property
    def energy(self) -> float:
        return 0.0

    @property
    def drained(self) -> bool:
        return self.position() >= self.total

    @property
    def queued_ms(self) -> float:
        return (self.total - self.position()) * 1000.0 / self.rate

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def begin_utterance(self, id: str | None = None) -> Utterance:
        self.end_utterance()
        utt = Utterance(id=id or f"u{len(self.utterances) + 1}", rate=self.rate, _clock=self)
        self._offsets[utt.id] = self.total
        self.utterances.append(utt)
        self._current = utt
        return utt

    def end_utterance(self) -> None:
        if self._current is not None:
            self._current.ended = True
            self._current = None

    def pause(self) -> None:
        if self._paused_at is None:
            self.pauses += 1
            self._paused_at = self.position()
            self.last_paused_time = time.perf_counter()  # the virtual device goes quiet at once

    def resume(self) -> None:
        if self._paused_at is not None:
            pos, self._paused_at = self._paused_at, None
            if self._t0 is not None and self._frozen is None:
                self._t0 = time.perf_counter() - pos / (self.rate * self.speed)

    @property
    def output_paused(self) -> bool:
        return self._paused_at is not None

    def write(self, audio: bytes) -> float:
        self.writes += 1
        utt = self._current or self.begin_utterance()
        frames = len(audio) // 2
        if self._frozen is not None or self._t0 is None or self.drained:
            # idle: playback of this audio starts now
            start = self.position()
            self._frozen = None
            self._t0 = time.perf_counter() - start / (self.rate * self.speed)
        if utt.first_sample_time is None:
            offset = self._offsets[utt.id]
            utt.first_sample_time = self._t0 + offset / (self.rate * self.speed)
        utt.queued += frames
        self.total += frames
        return frames * 1000.0 / self.rate

    def _heard_frames(self, utt: Utterance) -> int:
        return max(0, min(utt.queued, self.position() - self._offsets[utt.id]))

    def flush(self) -> float:
        self.flushes += 1
        pos = self.position()
        self._paused_at = None
        dropped = self.total - pos
        self._frozen = pos
        self.total = pos
        self._current = None
        return dropped * 1000.0 / self.rate

    async def wait_drained(self) -> None:
        self.end_utterance()
        while not self.drained:
            await asyncio.sleep(0.005)

    def heard_ms_total(self) -> float:
        return self.position() * 1000.0 / self.rate
