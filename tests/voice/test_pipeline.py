"""One voice turn through the real Runner with fake speech: ordering, latency marks, and the history
rewrite on barge-in (only what was heard stays, marked _interrupted)."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from agentcli import events as ev
from agentcli.runtime.conversation import Conversation
from agentcli.runtime.runner import RunConfig, Runner
from agentcli.spec.model import AgentSpec, Spec
from agentcli.voice.pipeline import TurnInput, VoiceContext, VoiceTurn
from tests.voice.fakes import MS_PER_CHAR, FakePlayer, FakeSTT, FakeTTS, ScriptedModel

ANSWER = "The weather in Paris is sunny today. It will rain tomorrow afternoon. Take an umbrella with you."


def make_ctx(answer: str = ANSWER, delay: float = 0.0, speed: float = 20.0) -> tuple[VoiceContext, list[Any]]:
    spec = Spec({"helper": AgentSpec(name="helper")}, "helper", None)
    runner = Runner(spec, RunConfig(model_factory=lambda agent: ScriptedModel(answer, delay)))
    events: list[Any] = []
    ctx = VoiceContext(runner=runner, conversation=Conversation(items=[], agent="helper", name="t"),
                       stt=FakeSTT(), tts=FakeTTS(), sink=FakePlayer(speed=speed), emit=events.append)
    return ctx, events


def audio_input() -> TurnInput:
    return TurnInput(audio=np.zeros(16000, np.float32), rate=16000)


def of(events: list[Any], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


async def test_a_turn_speaks_every_sentence_in_order_and_records_latency() -> None:
    ctx, events = make_ctx()
    result = await VoiceTurn(ctx, audio_input()).run()
    assert result.status == "ok"
    assert result.user_text == "what is the weather"
    spoken = [e.text for e in of(events, ev.SpeechDone)]
    assert spoken == ["The weather in Paris is sunny today.", "It will rain tomorrow afternoon.",
                      "Take an umbrella with you."]
    assert ctx.tts.said == spoken  # type: ignore[attr-defined]
    assert [e.status for e in of(events, ev.SpeechDone)] == ["ok"] * 3
    assert of(events, ev.SpeechDone)[0].audio_ms == pytest.approx(len(spoken[0]) * MS_PER_CHAR, abs=1)
    marks = of(events, ev.TurnLatency)[-1].marks
    order = ["end_of_speech", "transcript_final", "first_token", "first_sentence", "first_audio_byte",
             "first_sample_played"]
    assert list(marks) == order
    assert all(marks[a] <= marks[b] for a, b in zip(order, order[1:], strict=False))
    states = [e.state for e in of(events, ev.StateChanged)]
    assert states == ["thinking", "speaking"]
    assert of(events, ev.TranscriptDone)[0].text == "what is the weather"
    items = ctx.conversation.items
    assert [i["role"] for i in items] == ["user", "assistant"]
    assert items[1]["content"] == ANSWER + " "
    assert "_interrupted" not in items[1]


async def test_barge_in_after_the_answer_is_complete_keeps_only_what_was_heard() -> None:
    ctx, events = make_ctx(speed=10.0)
    turn = VoiceTurn(ctx, audio_input())
    turn.start()
    # wait until the first sentence is done and the second is partly played
    first_ms = len("The weather in Paris is sunny today.") * MS_PER_CHAR
    target = first_ms + 0.5 * len("It will rain tomorrow afternoon.") * MS_PER_CHAR
    player: FakePlayer = ctx.sink  # type: ignore[assignment]
    for _ in range(500):
        if player.heard_ms_total() >= target:
            break
        await asyncio.sleep(0.002)
    interrupted = await turn.interrupt()
    assert player.flushes == 1
    heard = interrupted.heard_text
    assert heard.startswith("The weather in Paris is sunny today. It will")
    assert "umbrella" not in heard and not heard.endswith("afternoon.")
    assert interrupted.heard_ms == pytest.approx(player.heard_ms_total(), abs=1)
    items = ctx.conversation.items
    assert [i["role"] for i in items] == ["user", "assistant"]
    assert items[1]["content"] == heard
    assert items[1]["_interrupted"] is True
    assert ctx.conversation.turns == 1
    assert of(events, ev.Interrupted) == [interrupted]
    assert turn.result.status == "interrupted"
    assert not turn.active


async def test_barge_in_while_the_agent_still_generates() -> None:
    # slow model: 30 ms a word, so the run is still going when the user interrupts
    ctx, events = make_ctx(delay=0.03, speed=5.0)
    turn = VoiceTurn(ctx, audio_input())
    turn.start()
    player: FakePlayer = ctx.sink  # type: ignore[assignment]
    for _ in range(500):
        if player.heard_ms_total() >= 600:
            break
        await asyncio.sleep(0.002)
    assert not of(events, ev.TurnDone)  # still generating
    interrupted = await turn.interrupt()
    items = ctx.conversation.items
    assert [i["role"] for i in items] == ["user", "assistant"]
    assert items[0]["content"] == "what is the weather"
    assert items[1]["_interrupted"] is True
    assert items[1]["content"] == interrupted.heard_text
    assert 0 < len(interrupted.heard_text) < len("The weather in Paris is sunny today.")
    assert "The weather in Paris is sunny today.".startswith(interrupted.heard_text)
    assert ctx.conversation.turns == 1


async def test_barge_in_before_any_audio_keeps_the_question_only() -> None:
    ctx, events = make_ctx(delay=0.05)
    turn = VoiceTurn(ctx, audio_input())
    turn.start()
    await asyncio.sleep(0.02)
    interrupted = await turn.interrupt()
    assert interrupted.heard_ms == 0 and interrupted.heard_text == ""
    assert [i["role"] for i in ctx.conversation.items] == ["user"]


async def test_typed_text_skips_transcription() -> None:
    ctx, events = make_ctx(answer="Short answer here, friend.")
    result = await VoiceTurn(ctx, TurnInput(text="hello there")).run()
    assert result.status == "ok"
    assert not of(events, ev.TranscriptDone)
    assert ctx.conversation.items[0]["content"] == "hello there"
    assert [e.text for e in of(events, ev.SpeechDone)] == ["Short answer here, friend."]


async def test_empty_transcript_ends_the_turn_quietly() -> None:
    ctx, events = make_ctx()
    ctx.stt = FakeSTT(text="")
    result = await VoiceTurn(ctx, audio_input()).run()
    assert result.status == "empty"
    assert ctx.conversation.items == []
    assert any("heard nothing" in e.message for e in of(events, ev.Notice))
