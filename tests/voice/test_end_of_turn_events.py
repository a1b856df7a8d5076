"""The end-of-turn decision in the events and the trace: a hands-free turn's UserSpeech says how the turn
read when it was committed and the acoustic model's P(finished), and its end_of_turn span shows both."""

from __future__ import annotations

from typing import Any

from agentcli import events as ev
from agentcli.tracing.render import trace_lines
from tests.tracing.helpers import find, record
from tests.voice.test_end_of_turn import FakeModel, session
from tests.voice.test_turn_taking import end, feed, silence, start, until


async def committed(model: FakeModel | None, transcript: str, quiet_ms: int) -> tuple[ev.UserSpeech, list[Any]]:
    """One fragment, then `quiet_ms` more of silence: the committed turn's UserSpeech and the events."""
    live, detector, events = session(model, transcript)
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)
    await feed(live, detector, [end()])
    # a verdict in by the transcript may commit the turn at once
    await until(lambda: live.turn is not None or (live.hands_free.pending is not None
                                                  and live.hands_free.pending.reads is not None))
    await silence(live, detector, quiet_ms)
    assert live.turn is not None
    await until(lambda: any(isinstance(e, ev.UserSpeech) for e in events))
    await until(lambda: any(isinstance(e, ev.TurnLatency) for e in events))  # the turn is over
    speech = next(e for e in events if isinstance(e, ev.UserSpeech))
    return speech, events


def wait_span(events: list[Any]) -> tuple[dict[str, Any], str]:
    doc = record([ev.SessionStarted(kind="voice"), *events], kind="voice")
    text = "\n".join("".join(t for t, _ in line) for line in trace_lines(doc, 160, ascii_only=True))
    return find(doc, "end_of_turn"), next(line for line in text.splitlines() if "end_of_turn wait" in line)


async def test_the_models_verdict_and_score_are_on_the_user_speech_and_its_span() -> None:
    speech, events = await committed(FakeModel(0.95), "what is the weather in Paris", 20)
    assert (speech.end_of_turn, speech.turn_model_p) == ("complete", 0.95)
    assert speech.to_dict()["turn_model_p"] == 0.95  # what --jsonl prints
    span, line = wait_span(events)
    assert span["data"] == {"end_of_turn": "complete", "turn_model_p": 0.95}
    assert "complete  P(finished) 0.95" in line


async def test_a_full_stop_that_sounds_unfinished_is_committed_as_unfinished_at_max_wait() -> None:
    speech, _ = await committed(FakeModel(0.03), "I would like to book a table.", 1400)
    assert (speech.end_of_turn, speech.turn_model_p) == ("unfinished", 0.03)


async def test_without_the_model_the_transcript_rule_decides_and_there_is_no_score() -> None:
    speech, events = await committed(None, "what is the weather in Paris", 320)
    assert (speech.end_of_turn, speech.turn_model_p) == ("neutral", None)
    span, line = wait_span(events)
    assert span["data"] == {"end_of_turn": "neutral"}  # the store keeps no nulls
    assert line.split("wait")[1].split()[0] == "neutral" and "P(finished)" not in line
