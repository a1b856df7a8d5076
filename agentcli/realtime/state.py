"""The mutable state of one realtime conversation, in named parts: the link to the model, what the user
is doing, the response in progress, the turn, and the history. RealtimeSession owns one of each."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agentcli import events as ev
from agentcli.models.base import ModelToolCall
from agentcli.realtime.connection import ConnectionLost
from agentcli.realtime.guard import OutputGuard
from agentcli.realtime.model import RealtimeModel
from agentcli.runtime.conversation import Conversation


@dataclass
class Link:
    """The connection to the model, across reconnects."""

    model: RealtimeModel | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)  # configured and able to take audio
    closing: bool = False
    reconnects: int = 0
    resumed: bool = False  # a --session with history: recreate it on the first server session
    # what the last replay created on the server: (history entry, server item id), in order
    replayed: list[tuple[dict[str, Any], str]] = field(default_factory=list)

    async def send(self, op: Callable[[RealtimeModel], Awaitable[Any]]) -> Any:
        if self.model is None:
            raise ConnectionLost("not connected")
        return await op(self.model)

    async def soft(self, op: Callable[[RealtimeModel], Awaitable[Any]]) -> Any:
        """Send, or drop it while the connection is down (the reader handles the drop)."""
        with contextlib.suppress(ConnectionLost):
            return await self.send(op)
        return None


BYTES_PER_MS = 48  # 24 kHz pcm16 mono


class SentAudio:
    """The last `keep_ms` of microphone audio sent, on the sent-audio timeline: a question that a drop
    left unanswered, and that has no transcript, can be asked again as audio. Holds the blocks as sent
    (no copy on the audio path)."""

    def __init__(self, keep_ms: float = 30_000.0):
        self.keep_ms = keep_ms
        self.blocks: deque[tuple[float, bytes]] = deque()  # (where the block begins in ms, pcm)
        self.sent_at: deque[tuple[float, float]] = deque()  # (where each block ends in ms, perf_counter sent)
        self.end_ms = 0.0

    def add(self, pcm: bytes, at: float | None = None) -> None:
        self.blocks.append((self.end_ms, pcm))
        self.end_ms += len(pcm) / BYTES_PER_MS
        self.sent_at.append((self.end_ms, time.perf_counter() if at is None else at))
        while self.blocks and self.blocks[0][0] < self.end_ms - self.keep_ms:
            self.blocks.popleft()
            self.sent_at.popleft()

    def local_time(self, ms: float) -> float | None:
        """When the sample at `ms` of the sent audio was captured, on the local perf_counter clock: a
        block is sent as soon as it is read, so its last sample is about as old as its sending. None when
        that audio is older than what is kept."""
        if not self.sent_at or ms < self.blocks[0][0]:
            return None
        end_ms, at = self.sent_at[-1]
        for block_end, block_at in reversed(self.sent_at):  # speech ends in the newest blocks
            if block_end < ms:
                break
            end_ms, at = block_end, block_at
        return at - (end_ms - ms) / 1000

    def between(self, start_ms: float, end_ms: float) -> bytes:
        out = bytearray()
        for at, pcm in self.blocks:
            if at >= end_ms or at + len(pcm) / BYTES_PER_MS <= start_ms:
                continue
            a = max(0, int((start_ms - at) * BYTES_PER_MS) // 2 * 2)
            b = min(len(pcm), int((end_ms - at) * BYTES_PER_MS) // 2 * 2)
            out += pcm[a:b]
        return bytes(out)


@dataclass
class UserInput:
    """The user's side: speech detected, push-to-talk, and where speech lies in the audio sent."""

    speaking: bool = False  # the server hears speech
    awaiting_reply: bool = False  # a user turn went in and its response has not started
    unanswered: dict[str, Any] | None = None  # the open turn's question (asked again after a reconnect)
    unanswered_speech: tuple[float, float] | None = None  # where its speech lies in sent_audio (no transcript)
    sent_audio: SentAudio = field(default_factory=SentAudio)
    talking: bool = False  # push-to-talk held
    ptt_ms: float = 0.0
    speech_stopped_at: float | None = None  # perf_counter
    committed_ts: float | None = None  # when the user's audio went to transcription (events ts)
    audio_span: tuple[int, int] = (0, 0)  # the server's start/end ms of the current speech
    sent_ms: float = 0.0  # microphone audio sent this session, over every connection
    connection_ms: float = 0.0  # sent_ms when this connection began: the server counts from there
    speech_from_ms: float | None = None  # where the speech in progress began, on sent_ms's timeline
    speech: tuple[float, float] | None = None  # finished speech waiting for the item it makes
    # the same speech on the local perf_counter clock: began, ended, and when the end of turn was known
    speech_times: tuple[float, float, float] | None = None

    def unanswered_audio(self) -> bytes:
        span = self.unanswered_speech
        return self.sent_audio.between(*span) if span is not None else b""

    def speech_ended(self, end_ms: float) -> None:
        start = end_ms if self.speech_from_ms is None else min(self.speech_from_ms, end_ms)
        self.speech, self.speech_from_ms = (start, end_ms), None


@dataclass
class ResponseState:
    id: str
    started: float  # events.now() at response.created
    t0: float  # perf_counter at response.created
    first_delta: float | None = None
    transcript: str = ""
    item_id: str | None = None  # its assistant message
    calls: list[ModelToolCall] = field(default_factory=list)
    cancelled: bool = False  # cut off by us: its late deltas are ignored
    ignored: bool = False  # an answer to dropped input: cancelled at once, its item kept out of the history
    turn: int | None = None  # the turn it answers
    turn_id: str | None = None  # and that turn's run id (its events carry it)
    guard: OutputGuard | None = None


@dataclass
class Responding:
    """Responses are strictly one at a time: a response.create asked for while one is active (or being
    created, or while tools run) waits for it to end."""

    current: ResponseState | None = None
    create_pending: bool = False  # response.create sent, response.created not yet seen
    want_response: bool = False  # a response.create waits for the active response to end
    tool_task: asyncio.Task[None] | None = None
    # the server may answer speech the client dropped (a cough, an echo): the next response it makes on
    # its own is cancelled unheard (cleared when the user speaks again)
    ignore_auto: bool = False

    def busy(self) -> bool:
        return self.current is not None or self.create_pending or self.want_response or self.tool_task is not None


@dataclass
class TurnState:
    index: int
    turn_id: str  # the run's id of the turn: every event of the turn carries it
    base: float  # perf_counter of the end of the user's speech (or of the typed line): latency zero
    input: str = ""
    announced: bool = False  # TurnStarted emitted
    started: float = field(default_factory=ev.now)  # TurnStarted's ts, even when announced later
    usage: ev.Usage = field(default_factory=ev.Usage)
    marks: dict[str, float] = field(default_factory=dict)
    output: str = ""
    utterance: Any = None  # the answer's audio, for the first-sample-played mark
    item_id: str | None = None  # the user's item
    speech: ev.UserSpeech | None = None  # where the user's speech was: emitted just before TurnStarted
    closer: asyncio.Task[None] | None = None


@dataclass
class History:
    """The conversation (neutral items, saved with --session) and which realtime item is which entry."""

    conversation: Conversation
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)  # realtime item id -> its history entry
    own_ids: set[str] = field(default_factory=set)  # items we created: their echo is not news

    def add(self, entry: dict[str, Any]) -> dict[str, Any]:
        if "_id" in entry:
            self.by_id[entry["_id"]] = entry
        self.conversation.items.append(entry)
        return entry

    def known(self, item_id: str) -> bool:
        return item_id in self.own_ids or item_id in self.by_id


def heard_part(text: str, heard_ms: float, total_ms: float) -> str:
    """The words of `text` the user heard, by the share of its audio played (cut at a word end)."""
    if total_ms <= 0 or heard_ms >= total_ms:
        return text
    cut = int(len(text) * max(0.0, heard_ms) / total_ms)
    head = text[:cut]
    if cut < len(text) and not text[cut].isspace() and " " in head:
        head = head[: head.rfind(" ")]
    return head.rstrip()
