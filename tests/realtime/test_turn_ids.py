"""Every event of a realtime turn carries its turn id, those before its TurnStarted too (the user's
speech starting and stopping, its timing, its transcript) and those about its answer after it ended; a
pause over an answer is the answer's turn's; ids never restart (issue 9). OpenAI's protocol and Gemini
Live's, against the simulator."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentcli import events as ev
from tests.realtime.gemini_harness import gemini_harness
from tests.realtime.harness import ClockSink, harness
from tests.turn_ids import check_turn_ids, of_turn

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

LONG = "This answer keeps going long enough to cough over it, and then to talk over it for real, at length."


async def test_openai_turns_cough_and_barge_in_carry_their_turn_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_SIM_REALTIME_PACE", "1")  # the answer is still coming when the user talks
    script = {"hear": ["tell me something", "huh", "stop, tell me about Rome"],
              "turns": [{"match": "Rome", "reply": ["Rome is old."]}, {"match": ".*", "reply": [LONG]}]}
    async with harness(tmp_path, script, sink=ClockSink()) as h:
        await h.say()
        await h.wait_for(lambda: h.of(ev.StateChanged) and h.of(ev.StateChanged)[-1].state == "speaking")
        await asyncio.sleep(0.3)
        await h.say(0.15)  # a cough: the answer pauses and resumes
        await h.wait_for(lambda: h.of(ev.PlaybackResumed))
        await asyncio.sleep(0.2)
        await h.say(0.8)  # a real interruption, then its own question
        await h.wait_for(lambda: h.of(ev.Interrupted))
        await h.turn_done(2, timeout=10)
        await h.wait_for(lambda: len([t for t in h.of(ev.TranscriptDone) if t.role == "user"]) == 2)
    first, second = check_turn_ids(h.events)
    assert (first, second) == ("1", "2")
    one, two = of_turn(h.events, first), of_turn(h.events, second)
    # the first speech's start and stop come before its turn began, and carry its id
    assert one[:2] == ["state:hearing", "state:thinking"] and one.index("user_speech") < one.index("turn_started")
    # the cough and the interruption are about the first answer: its turn's
    assert {"playback_paused", "playback_resumed", "interrupted"} <= set(one)
    # the interrupting speech opens the second turn: its start, stop and timing carry that id
    assert two[0] == "state:hearing" and "user_speech" in two and "transcript_done" in two
    assert two.index("state:hearing") < two.index("turn_started")
    interrupted = h.of(ev.Interrupted)[0]
    assert interrupted.turn_id == first and interrupted.speech_started is not None
    assert interrupted.silenced is None  # the clock sink does not say when its output went silent


async def test_gemini_barge_in_carries_turn_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_SIM_REALTIME_PACE", "1")
    long = "This is a long answer that keeps going and going so that the user has time to interrupt it."
    script = {"hear": ["tell me", "stop"], "turns": [{"match": "tell", "reply": [long]}, {"reply": ["Okay."]}]}
    async with gemini_harness(tmp_path, script, sink=ClockSink()) as h:
        await h.say()
        await h.wait_for(lambda: h.session.output is not None and h.session.output.playing)
        await asyncio.sleep(0.3)
        await h.say(0.3)
        await h.wait_for(lambda: h.of(ev.Interrupted))
        await h.turn_done(2, timeout=15)
        await h.say()  # a third turn: ids go on
        await h.turn_done(3, timeout=15)
    ids = check_turn_ids(h.events)
    assert ids == ["1", "2", "3"]
    assert h.of(ev.Interrupted)[0].turn_id == "1"
    for turn_id in ids:
        kinds = of_turn(h.events, turn_id)
        assert kinds[0] == "state:hearing" and "transcript_done" in kinds and "turn_done" in kinds
    assert of_turn(h.events, "1")[-1] == "realtime_response_done"  # the cut answer's end: still its turn's
