"""Every voice turn that started ends with exactly one TurnDone (issue 9): a barge-in while the model is
still writing its answer ends the turn as interrupted, after its Interrupted, and so does the session's
end (Ctrl-C) during a generating turn; the trace shows the turn as interrupted. The real LiveSession and
Runner through the run's fan-out, a slow scripted model, a scripted detector and fake speech."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np

from agentcli import events as ev
from agentcli.app.consumers import EventFanout
from agentcli.audio.vad import SpeechStart
from agentcli.tracing.spans import SpanRecord
from agentcli.tracing.tree import SpanTree
from agentcli.voice.live import LiveSession
from agentcli.voice.pipeline import TurnInput, VoiceTurn
from tests.turn_ids import check_turn_ids, of_turn
from tests.voice.fakes import FakePlayer
from tests.voice.test_pipeline import ANSWER, make_ctx, of
from tests.voice.test_turn_taking import ScriptedDetector, a_question, end, feed, session, silence, until

SLOW = 0.04  # seconds between the model's words: it is still writing when the first sentence plays


class Spans:
    def __init__(self) -> None:
        self.spans: list[SpanRecord] = []

    def span_ended(self, span: SpanRecord) -> None:
        self.spans.append(span)

    def span_amended(self, span: SpanRecord) -> None:
        pass

    def trace_error(self, message: str) -> None:
        pass

    def trace_notice(self, notice: Any) -> None:
        pass


def slow_session() -> tuple[LiveSession, ScriptedDetector, list[Any]]:
    live, detector, events = session(speed=10.0)
    live.ctx.runner = make_ctx(ANSWER, delay=SLOW)[0].runner
    fanout = EventFanout([events.append])  # as in a run: the fan-out holds the turn ids
    live.ctx.emit, live.ctx.turn_ids = fanout.emit, fanout.ids
    return live, detector, events


def turns_in_trace(events: list[Any]) -> dict[str, SpanRecord]:
    sink = Spans()
    tree = SpanTree(sink)
    for event in events:
        tree.feed(event)
    tree.finish(time.time(), "ok")
    return {s.name: s for s in sink.spans if s.kind == "turn"}


async def interrupt_with_the_next_question(live: LiveSession, detector: Any, events: list[Any], first: VoiceTurn,
                                          block: np.ndarray, voiced: float | None = None) -> VoiceTurn:
    """Speech over `first`'s answer, long enough to interrupt it (its first frame `block`, voiced at
    `voiced`), that goes on to be the next question; returns that next turn once it is over."""
    start = SpeechStart(0.0, time.perf_counter() if voiced is None else voiced, block)
    await feed(live, detector, [start], in_speech=True, speech_ms=60)
    await feed(live, detector, in_speech=True, speech_ms=420)  # long enough: an interruption
    await until(lambda: bool(of(events, ev.Interrupted)))
    await feed(live, detector, [end(1.0)])  # the interrupting speech is the next question
    for _ in range(200):
        if live.turn is not first:
            break
        await silence(live, detector, 20)
    second = live.turn
    assert second is not None and second is not first
    await until(lambda: not second.active)
    return second


async def test_a_barge_in_while_the_model_still_writes_ends_the_turn_as_interrupted() -> None:
    live, detector, events = slow_session()
    player: FakePlayer = live.ctx.sink  # type: ignore[assignment]
    await a_question(live, detector)
    first = live.turn
    assert first is not None
    await until(lambda: player.heard_ms_total() > 300)  # the first sentence plays ...
    assert not of(events, ev.TurnDone)  # ... while the model is still writing
    await interrupt_with_the_next_question(live, detector, events, first, np.zeros(160, np.float32))
    assert check_turn_ids(events) == ["1", "2"]  # also: one TurnDone per turn
    one = of_turn(events, "1")
    assert one.index("interrupted") < one.index("turn_done")
    done = [e for e in of(events, ev.TurnDone) if e.turn_id == "1"][0]
    assert done.status == "interrupted" and done.interrupted
    assert "umbrella" not in (first.result.heard or "")
    assert [e.status for e in of(events, ev.TurnDone) if e.turn_id == "2"] == ["ok"]
    turns = turns_in_trace(events)
    assert turns["turn 1"].status == "interrupted"
    assert turns["turn 2"].status == "ok"


async def test_the_session_ending_during_a_generating_turn_still_ends_it() -> None:
    live, detector, events = slow_session()
    await a_question(live, detector)
    turn, task = live.turn, live._turn_task
    assert turn is not None and task is not None
    await until(lambda: bool(of(events, ev.TextDelta)))
    task.cancel()  # what the session's end (Ctrl-C) does to a turn still running
    await asyncio.wait([task])
    assert check_turn_ids(events) == ["1"]
    done = of(events, ev.TurnDone)
    assert [(d.turn_id, d.status) for d in done] == [("1", "interrupted")]
    assert of_turn(events, "1")[-1] == "turn_done"
    assert turns_in_trace(events)["turn 1"].status == "interrupted"


async def test_a_turn_cut_off_after_its_answer_keeps_its_one_ok_turn_done() -> None:
    ctx, events = make_ctx(speed=10.0)
    fanout = EventFanout([events.append])
    ctx.emit, ctx.turn_ids = fanout.emit, fanout.ids
    turn = VoiceTurn(ctx, TurnInput(text="what is the weather"))
    turn.start()
    await until(lambda: bool(of(events, ev.TurnDone)))  # the model is done; its answer still plays
    await turn.interrupt()
    assert check_turn_ids(events) == ["1"]
    assert [d.status for d in of(events, ev.TurnDone)] == ["ok"]
