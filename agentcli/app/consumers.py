"""What consumes a run's events, and what a consumer on the user's side may give back.

A consumer is any callable taking an Event (the --jsonl writer, the trace recorder, a recording). A
renderer is the consumer that faces the user: besides events it may answer approval questions, show a
level meter, show hints, say that a turn was cancelled, and is closed once at the end. The methods are
explicit (no probing with getattr); `RendererBase` gives every one a do-nothing default."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from agentcli.events import Event, SessionEnded, SessionStarted, TurnDone, TurnIds, TurnStarted

Meter = Callable[[], tuple[bool, float]]  # () -> (recording, input level in dBFS)


class Consumer(Protocol):
    def __call__(self, event: Event) -> None: ...


@runtime_checkable
class Renderer(Protocol):
    def __call__(self, event: Event) -> None: ...

    async def ask(self, question: str) -> str | None:
        """Ask the user on the terminal; None when this renderer cannot ask."""
        ...

    def set_meter(self, meter: Meter | None) -> None:
        """Show (or stop showing) an input level meter read from `meter`."""
        ...

    def hint(self, text: str) -> None:
        """A usage hint for humans (key bindings); machines' renderers ignore it."""
        ...

    def cancelled(self) -> None:
        """The user cancelled the answer in progress (Ctrl-C in the REPL)."""
        ...

    def close(self) -> None:
        """The run is over: stop live displays, flush."""
        ...


class RendererBase:
    """Defaults for the optional parts of `Renderer`."""

    can_ask = False

    def __call__(self, event: Event) -> None:  # pragma: no cover - every renderer overrides it
        raise NotImplementedError

    async def ask(self, question: str) -> str | None:
        return None

    def set_meter(self, meter: Meter | None) -> None:
        return None

    def hint(self, text: str) -> None:
        return None

    def cancelled(self) -> None:
        return None

    def close(self) -> None:
        return None


@dataclass
class EventFanout:
    """Hands every event to each consumer in order (renderer, --jsonl writer, trace recorder,
    recording), after stamping it with the run's turn. `ids` counts the turns of this run and never
    restarts; an event its producer stamped keeps its turn (a voice or realtime turn's events, some of
    which come before its TurnStarted or after its TurnDone); an unstamped TurnStarted takes the next id
    and the events after it, until its TurnDone, take its id."""

    consumers: list[Consumer] = field(default_factory=list)
    ids: TurnIds = field(default_factory=TurnIds)
    _current: str | None = None

    def emit(self, event: Event) -> None:
        if isinstance(event, TurnStarted):
            if event.turn_id is None:
                event.turn_id = self.ids.next()
            self._current = event.turn_id
        elif event.turn_id is None and not isinstance(event, SessionStarted | SessionEnded):
            event.turn_id = self._current
        if isinstance(event, TurnDone) and event.turn_id == self._current:
            self._current = None
        for consume in self.consumers:
            consume(event)


class CallbackRenderer(RendererBase):
    """A plain event callback (a test's or a benchmark's list.append) used as a renderer."""

    def __init__(self, callback: Consumer) -> None:
        self.callback = callback

    def __call__(self, event: Event) -> None:
        self.callback(event)


def as_renderer(consumer: Renderer | Consumer) -> Renderer:
    return consumer if isinstance(consumer, Renderer) else CallbackRenderer(consumer)
