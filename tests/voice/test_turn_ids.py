"""Every event of a hands-free voice turn carries its turn id (issue 9): the user's speech starting
(`state: hearing`), its timing (`user_speech`) and transcript, which come before the turn's TurnStarted;
a pause, a resume and an interruption of an answer are that answer's turn's, and the speech that
interrupts opens the next turn. Ids never restart. The real LiveSession and Runner through the run's
fan-out, a scripted detector and fake speech."""

from __future__ import annotations

import time

import pytest

from agentcli import events as ev
from agentcli.app.consumers import EventFanout
from agentcli.audio.vad import Discarded, SpeechStart
from agentcli.voice.pipeline import TurnInput, VoiceTurn
from tests.turn_ids import check_turn_ids, of_turn
from tests.voice.fakes import FakePlayer
from tests.voice.test_pipeline import make_ctx, of
from tests.voice.test_turn_done import interrupt_with_the_next_question
from tests.voice.test_turn_taking import a_question, feed, session, until


async def test_hands_free_turns_cough_and_barge_in_carry_their_turn_ids() -> None:
    live, detector, events = session(speed=10.0)
    fanout = EventFanout([events.append])  # as in a run: the fan-out holds the turn ids
    live.ctx.emit, live.ctx.turn_ids = fanout.emit, fanout.ids
    player: FakePlayer = live.ctx.sink  # type: ignore[assignment]
    await a_question(live, detector)
    first = live.turn
    assert first is not None
    await until(lambda: player.heard_ms_total() > 500)
    await feed(live, detector, [SpeechStart(0.0, time.perf_counter(), player_block())], in_speech=True, speech_ms=60)
    await feed(live, detector, [Discarded(0.0, 150.0, 0.0)])  # a cough: paused, then resumed
    await until(lambda: player.heard_ms_total() > 2500)
    voiced = time.perf_counter() - 0.06
    await interrupt_with_the_next_question(live, detector, events, first, player_block(), voiced + 0.06)
    ids = check_turn_ids(events)
    assert ids == ["1", "2"]
    one, two = of_turn(events, "1"), of_turn(events, "2")
    assert one[0] == "state:hearing" and one.index("user_speech") < one.index("turn_started")
    assert one.index("transcript_done") < one.index("turn_started")
    assert {"playback_paused", "playback_resumed", "interrupted"} <= set(one)
    assert two[0] == "state:hearing" and two.index("user_speech") < two.index("turn_started")
    interrupted = of(events, ev.Interrupted)[0]
    assert interrupted.speech_started == pytest.approx(ev.from_perf(voiced), abs=1e-6)  # the first voiced frame
    assert interrupted.silenced is not None and interrupted.silenced >= interrupted.speech_started


async def test_a_file_turn_and_a_typed_line_take_the_next_ids() -> None:
    ctx, events = make_ctx()
    fanout = EventFanout([events.append])
    ctx.emit, ctx.turn_ids = fanout.emit, fanout.ids
    for turn_input in (TurnInput(audio=player_block(16000), rate=16000), TurnInput(text="and tomorrow?")):
        await VoiceTurn(ctx, turn_input).run()
    assert check_turn_ids(events) == ["1", "2"]
    one = of_turn(events, "1")
    assert one[:2] == ["state:thinking", "user_speech"]
    assert one.index("transcript_delta") < one.index("transcript_done") < one.index("turn_started")


def player_block(n: int = 160) -> object:
    import numpy as np

    return np.zeros(n, np.float32)
