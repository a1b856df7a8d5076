"""Turns of a realtime conversation: one user input (speech or a typed line) to the end of its answer.

A turn starts when the user's item reaches the conversation and ends when its answer has been heard,
cut off, stopped by a guardrail or lost with the connection. Its events: TurnStarted (dated at the start,
announced once the words are known), TurnLatency marks in ms from the end of the user's speech, TurnDone.

Every event of a turn carries its run turn id (`turn_id`), those before its TurnStarted too: the id is
taken when the user starts talking (`upcoming`), and the turn that speech opens keeps it; events about
an answer (its audio, a pause, an interruption) carry the id of the turn the answer belongs to.
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
        ids: ev.TurnIds | None = None,
    ):
        self.history = history
        self.emit = emit
        self.ids = ids or ev.TurnIds()
        self._upcoming: str | None = None  # the id taken for the turn the user's speech will open
        self._by_item: dict[str, str] = {}  # recent user items -> their turn's id (late transcripts)
        self.last_id: str | None = None  # the id of the last turn that ended
        self.agent_name = agent_name
        self.save = save
        self.current: TurnState | None = None
        self.finished = 0  # turns ended this session (in any status)
        self.answered_at: float | None = None  # perf_counter when the last answer was over (heard or cut)

    # --- turn ids ------------------------------------------------------------------------------------

    def upcoming(self) -> str:
        """The id of the next turn, taken now (the user started talking); the next turn to open keeps it."""
        if self._upcoming is None:
            self._upcoming = self.ids.next()
        return self._upcoming

    def current_id(self) -> str | None:
        """The open turn's id; else the last one's (an answer still heard after its turn ended)."""
        return self.current.turn_id if self.current is not None else self.last_id

    def id_of_item(self, item_id: str) -> str:
        """The turn of a user item (its transcript may come late); an item not seen yet belongs to the
        turn it will open."""
        return self._by_item.get(item_id) or self.upcoming()

    def tell(self, event: ev.Event, turn_id: str | None) -> None:
        """Emit an event of the turn `turn_id` (None: of no turn)."""
        if event.turn_id is None:
            event.turn_id = turn_id
        self.emit(event)

    def start(self, item_id: str, text: str, base: float, speech: ev.UserSpeech | None = None) -> dict[str, object]:
        """A user item reached the conversation: it opens a turn (ending one still open)."""
        if self.current is not None:
            self.finish("ok")
        t = self.open(base, text)
        t.item_id, t.speech = item_id, speech
        self._by_item[item_id] = t.turn_id
        if len(self._by_item) > 16:  # a transcript comes soon after its item, or never
            del self._by_item[next(iter(self._by_item))]
        entry = self.history.add({"type": "message", "role": "user", "content": text, "_id": item_id})
        if text:
            self.announce(t)
        return entry

    def open(self, base: float, text: str = "") -> TurnState:
        """A turn with no user item of its own (the server answered unprompted, or the user was silent)."""
        conversation = self.history.conversation
        conversation.turns += 1
        turn_id, self._upcoming = self._upcoming or self.ids.next(), None
        self.current = TurnState(index=conversation.turns, turn_id=turn_id, base=base, input=text)
        return self.current

    def announce(self, t: TurnState | None = None) -> None:
        """TurnStarted, once per turn, dated when the turn began: announced when its words are known
        (typed, transcribed), or before the first event that belongs inside the turn."""
        t = t or self.current
        if t is not None and not t.announced:
            t.announced = True
            if t.speech is not None:
                self.tell(t.speech, t.turn_id)
            self.tell(ev.TurnStarted(turn=t.index, input=t.input, agent=self.agent_name(), ts=t.started), t.turn_id)

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
        self.tell(ev.StateChanged(state="listening"), None)
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
        self.last_id = t.turn_id
        if t.output:
            self.answered_at = time.perf_counter()
        if t.closer is not None and t.closer is not asyncio.current_task():
            t.closer.cancel()
        self.announce(t)
        first = getattr(t.utterance, "first_sample_time", None)
        if first is not None:
            t.marks.setdefault("first_sample_played", round((first - t.base) * 1000, 1))
        if t.marks:
            self.tell(ev.TurnLatency(marks={"end_of_speech": 0.0, **t.marks}), t.turn_id)
        self.tell(
            ev.TurnDone(
                turn=t.index,
                agent=self.agent_name(),
                output=t.output,
                usage=t.usage,
                interrupted=interrupted,
                status=status,
                error=error,
            ),
            t.turn_id,
        )
        self.tell(ev.StateChanged(state="listening"), None)
        if self.save is not None:
            self.save(self.history.conversation)
