"""Turns of a realtime conversation: one user input (speech or a typed line) to the end of its answer.

A turn starts when the user's item reaches the conversation and ends when its answer has been heard,
cut off, stopped by a guardrail or lost with the connection. Its events: TurnStarted (dated at the start,
announced once the words are known), TurnLatency marks in ms from the end of the user's speech, TurnDone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from agentcli import events as ev
from agentcli.realtime.state import History, TurnState
from agentcli.runtime.conversation import Conversation


class Turns:
    def __init__(
        self,
        history: History,
        emit: Callable[[ev.Event], None],
        agent_name: Callable[[], str],
        save: Callable[[Conversation], None] | None = None,
    ):
        self.history = history
        self.emit = emit
        self.agent_name = agent_name
        self.save = save
        self.current: TurnState | None = None
        self.finished = 0  # turns ended this session (in any status)
        self.answered_at: float | None = None  # perf_counter when the last answer was over (heard or cut)

    def start(self, item_id: str, text: str, base: float, speech: ev.UserSpeech | None = None) -> dict[str, object]:
        """A user item reached the conversation: it opens a turn (ending one still open)."""
        if self.current is not None:
            self.finish("ok")
        t = self.open(base, text)
        t.item_id, t.speech = item_id, speech
        entry = self.history.add({"type": "message", "role": "user", "content": text, "_id": item_id})
        if text:
            self.announce(t)
        return entry

    def open(self, base: float, text: str = "") -> TurnState:
        """A turn with no user item of its own (the server answered unprompted, or the user was silent)."""
        conversation = self.history.conversation
        conversation.turns += 1
        self.current = TurnState(index=conversation.turns, base=base, input=text)
        return self.current

    def announce(self, t: TurnState | None = None) -> None:
        """TurnStarted, once per turn, dated when the turn began: announced when its words are known
        (typed, transcribed), or before the first event that belongs inside the turn."""
        t = t or self.current
        if t is not None and not t.announced:
            t.announced = True
            if t.speech is not None:
                self.emit(t.speech)
            self.emit(ev.TurnStarted(turn=t.index, input=t.input, agent=self.agent_name(), ts=t.started))

    def answered_within(self, seconds: float) -> bool:
        return self.answered_at is not None and time.perf_counter() - self.answered_at < seconds

    def abandon(self) -> TurnState | None:
        """Forget the current turn (its input was dropped): unannounced, it leaves no trace; announced,
        it ends as `ignored`."""
        t = self.current
        if t is None:
            return None
        if t.announced:
            self.finish("ignored")
            return t
        self.current = None
        if t.closer is not None and t.closer is not asyncio.current_task():
            t.closer.cancel()
        if t.index == self.history.conversation.turns:
            self.history.conversation.turns -= 1
        self.emit(ev.StateChanged(state="listening"))
        return t

    def mark(self, name: str, at: float | None = None) -> None:
        t = self.current
        if t is not None and name not in t.marks:
            t.marks[name] = round(((at or time.perf_counter()) - t.base) * 1000, 1)

    def finish(self, status: str = "ok", *, error: str | None = None, interrupted: bool = False) -> None:
        t, self.current = self.current, None
        if t is None:
            return
        self.finished += 1
        if t.output:
            self.answered_at = time.perf_counter()
        if t.closer is not None and t.closer is not asyncio.current_task():
            t.closer.cancel()
        self.announce(t)
        first = getattr(t.utterance, "first_sample_time", None)
        if first is not None:
            t.marks.setdefault("first_sample_played", round((first - t.base) * 1000, 1))
        if t.marks:
            self.emit(ev.TurnLatency(marks={"end_of_speech": 0.0, **t.marks}))
        self.emit(
            ev.TurnDone(
                turn=t.index,
                agent=self.agent_name(),
                output=t.output,
                usage=t.usage,
                interrupted=interrupted,
                status=status,
                error=error,
            )
        )
        self.emit(ev.StateChanged(state="listening"))
        if self.save is not None:
            self.save(self.history.conversation)
