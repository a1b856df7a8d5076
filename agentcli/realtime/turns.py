"""Turns of a realtime conversation: one user input (speech or a typed line) to the end of its answer.

A turn starts when the user's item reaches the conversation and ends when its answer has been heard,
cut off, stopped by a guardrail or lost with the connection. Its events: TurnStarted (dated at the start,
announced once the words are known), TurnLatency marks in ms from the end of the user's speech, TurnDone.
Mixed into RealtimeSession (agentcli/realtime/session.py).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentcli import events as ev

if TYPE_CHECKING:
    from agentcli.realtime.session import RealtimeSession


@dataclass
class TurnState:
    index: int
    base: float  # perf_counter of the end of the user's speech (or of the typed line): latency zero
    input: str = ""
    announced: bool = False  # TurnStarted emitted
    started: float = field(default_factory=ev.now)  # TurnStarted's ts, even when announced later
    usage: ev.Usage = field(default_factory=ev.Usage)
    marks: dict[str, float] = field(default_factory=dict)
    output: str = ""
    utterance: Any = None  # the answer's audio, for the first-sample-played mark
    closer: asyncio.Task[None] | None = None


class TurnHandling:
    """The turn half of RealtimeSession."""

    def start_turn(self: RealtimeSession, item_id: str, text: str, base: float) -> None:
        if self.turn is not None:
            self.finish_turn("ok")
        self.conversation.turns += 1
        self.turn = TurnState(index=self.conversation.turns, base=base, input=text)
        entry = {"type": "message", "role": "user", "content": text, "_id": item_id}
        self.by_id[item_id] = entry
        self.conversation.items.append(entry)
        if text:
            self.announce_turn()

    def announce_turn(self: RealtimeSession, t: TurnState | None = None) -> None:
        """TurnStarted, once per turn, dated when the turn began: announced when its words are known
        (typed, transcribed), or before the first event that belongs inside the turn."""
        t = t or self.turn
        if t is not None and not t.announced:
            t.announced = True
            agent = self.tools.agent(self.agent).name
            self.emit(ev.TurnStarted(turn=t.index, input=t.input, agent=agent, ts=t.started))

    def mark(self: RealtimeSession, name: str, at: float | None = None) -> None:
        t = self.turn
        if t is not None and name not in t.marks:
            t.marks[name] = round(((at or time.perf_counter()) - t.base) * 1000, 1)

    def finish_turn(
        self: RealtimeSession, status: str = "ok", *, error: str | None = None, interrupted: bool = False
    ) -> None:
        t, self.turn = self.turn, None
        if t is None:
            return
        if t.closer is not None and t.closer is not asyncio.current_task():
            t.closer.cancel()
        self.announce_turn(t)
        first = getattr(t.utterance, "first_sample_time", None)
        if first is not None:
            t.marks.setdefault("first_sample_played", round((first - t.base) * 1000, 1))
        if t.marks:
            self.emit(ev.TurnLatency(marks={"speech_stopped": 0.0, **t.marks}))
        self.emit(
            ev.TurnDone(
                turn=t.index,
                agent=self.tools.agent(self.agent).name,
                output=t.output,
                usage=t.usage,
                interrupted=interrupted,
                status=status,
                error=error,
            )
        )
        self.emit(ev.StateChanged(state="listening"))
        if self.save is not None:
            self.save(self.conversation)

    def is_idle(self: RealtimeSession) -> bool:
        return not (self.user_speaking or self.awaiting_reply or self.turn is not None or self.busy_responding())

    async def wait_idle(self: RealtimeSession, poll_s: float = 0.02) -> None:
        while not self.is_idle():
            await asyncio.sleep(poll_s)

    async def wait_quiet(self: RealtimeSession, quiet_s: float = 0.5, poll_s: float = 0.02) -> None:
        """Until the session has been idle for `quiet_s` in a row (the server may still be answering
        input it just got)."""
        loop = asyncio.get_running_loop()
        since = loop.time()
        while loop.time() - since < quiet_s:
            await asyncio.sleep(poll_s)
            if not self.is_idle():
                since = loop.time()

    async def wait_turn_over(self: RealtimeSession) -> None:
        """For --fast input: hold the microphone while a turn is being answered (no talking over)."""
        while self.awaiting_reply or self.turn is not None or self.busy_responding():
            await asyncio.sleep(0.01)
