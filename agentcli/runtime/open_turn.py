"""A runner turn as its driver forwards the events (chat's turn, a voice turn): whether it has begun and
not ended, and which tool calls have started and not finished. A turn cut off midway (Ctrl-C, a barge-in,
the session's end) cancels the runner, which cannot yield any more: `cut` gives the events that still end
it, a ToolCallFinished(cancelled=True) for each call left running (those of a sub-agent nested as they
began, before the call they run under) and then TurnDone(status interrupted). Kept on the events that
went out, so every ToolCallStarted emitted gets exactly one ToolCallFinished, and none is finished twice."""

from __future__ import annotations

from agentcli import events as ev

# (the SubAgentEvent wrappers it came in, outermost first; the call's ToolCallStarted)
_Call = tuple[tuple[ev.SubAgentEvent, ...], ev.ToolCallStarted]


class OpenTurn:
    def __init__(self) -> None:
        self.begun: ev.TurnStarted | None = None  # the runner's, until its TurnDone went out
        self._calls: dict[tuple[str, ...], _Call] = {}  # by the call_ids from the outermost call in

    def note(self, event: ev.Event) -> None:
        """An event of the turn that went out (call after emitting it: its ids are stamped then)."""
        if isinstance(event, ev.TurnStarted):
            self.begun = event
        elif isinstance(event, ev.TurnDone):
            self.begun = None
            self._calls.clear()
        wrappers: list[ev.SubAgentEvent] = []
        while isinstance(event, ev.SubAgentEvent) and event.event is not None:
            wrappers.append(event)
            event = event.event
        if isinstance(event, ev.ToolCallStarted | ev.ToolCallFinished):
            key = (*(w.call_id for w in wrappers), event.call_id)
            if isinstance(event, ev.ToolCallStarted):
                self._calls[key] = (tuple(wrappers), event)
            else:
                self._calls.pop(key, None)

    def cut(self, error: str) -> list[ev.Event]:
        """The events that end the turn now, or none when it is not open (not begun, or done already)."""
        begun, self.begun = self.begun, None
        calls, self._calls = self._calls, {}
        if begun is None:
            return []
        out: list[ev.Event] = []
        for key in sorted(calls, key=len, reverse=True):  # the deepest first; in the order they began
            wrappers, started = calls[key]
            finished: ev.Event = ev.ToolCallFinished(
                agent=started.agent, call_id=started.call_id, name=started.name, error=error, cancelled=True,
                turn_id=started.turn_id, parent_id=started.parent_id)
            for wrapper in reversed(wrappers):
                finished = ev.SubAgentEvent(call_id=wrapper.call_id, tool=wrapper.tool, event=finished,
                                            turn_id=wrapper.turn_id, parent_id=wrapper.parent_id)
            out.append(finished)
        out.append(ev.TurnDone(turn=begun.turn, agent=begun.agent, status="interrupted", interrupted=True,
                               error=error, turn_id=begun.turn_id))
        return out
