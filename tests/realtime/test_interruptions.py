"""Speech over a realtime answer, decided by the client (issue 10): a short burst pauses the answer and it
resumes, long speech interrupts it, the assistant's own echo is never a turn, and latency counts from the
end of the user's speech. Against the simulator, with the clock sink (real-time "playback", no device)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from agentcli import events as ev
from agentcli.realtime.config import turn_detection
from agentcli.spec.model import TurnDetection
from agentcli.voice.turns import echo_of
from tests.realtime.harness import RATE, ClockSink, Harness, harness, pcm16, tone

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

LONG = "This answer keeps going long enough to cough over it, and then to hear the rest of it to its end."


async def paced(h: Harness, audio: np.ndarray, block_ms: int = 20) -> None:
    """Send audio in real time, block by block, as a microphone would."""
    step = RATE * block_ms // 1000
    for i in range(0, audio.size, step):
        await h.session.send_audio(pcm16(audio[i : i + step]))
        await asyncio.sleep(block_ms / 1000)


def speech(seconds: float, silence_after: float = 0.5) -> np.ndarray:
    return np.concatenate([tone(seconds), np.zeros(int(RATE * silence_after), np.float32)])


async def test_a_short_burst_pauses_the_answer_and_it_resumes_whole(tmp_path: Path) -> None:
    script = {"hear": ["tell me something", "huh"], "turns": [{"match": ".*", "reply": [LONG]}]}
    sink = ClockSink()
    async with harness(tmp_path, script, sink=sink) as h:
        recorded: list[bytes] = []
        h.session.output.tap = recorded.append  # what --record gets
        await h.say()
        await h.speaking()
        await asyncio.sleep(0.3)  # some of the answer plays
        await h.say(0.15)  # a cough: well under voice.interruption.min_speech_ms
        resumed = await h.wait_for(lambda: h.of(ev.PlaybackResumed))
        assert h.of(ev.PlaybackPaused)[0].heard_ms > 0  # some of the answer had played
        assert resumed[0].paused_ms >= 0 and 100 <= resumed[0].speech_ms < 400
        done = await h.turn_done(1, timeout=20)
        assert done.status == "ok" and not done.interrupted
        assert done.output == LONG
        assert not h.of(ev.Interrupted)
        assert not h.sent("conversation.item.truncate")
        # the burst's item is gone from the server and never became a turn or history
        stopped = [e for e in h.received("input_audio_buffer.speech_stopped")]
        burst_item = stopped[1]["item_id"]
        assert burst_item in [e["item_id"] for e in h.sent("conversation.item.delete")]
        assert [(i["role"], i["content"]) for i in h.session.conversation.items] == [
            ("user", "tell me something"),
            ("assistant", LONG),
        ]
        assert len(h.of(ev.TurnStarted)) == 1
        await h.wait_for(lambda: h.received("conversation.item.input_audio_transcription.completed")[1:])
        assert [t.text for t in h.of(ev.TranscriptDone) if t.role == "user"] == ["tell me something"]
        # the answer was paused (flushed) once and resumed as a second utterance of the same item
        assert len(sink.flushes) == 1
        assert [u.id for u in sink.utterances] == [sink.flushes[0][0]] * 2
        played = sum(u.queued for u in sink.utterances) - sink.utterances[0].queued + sink.utterances[0].handed
        received = h.session.output.current.received_ms
        assert abs(played / RATE * 1000 - received) < 1.0  # nothing lost or repeated
        assert sum(len(b) for b in recorded) == received * 48  # the recording holds the whole answer, once
        h.validate_wire()


async def test_long_speech_while_the_answer_is_made_cancels_and_truncates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_SIM_REALTIME_PACE", "1")  # the response is still active while it plays
    script = {"hear": ["tell me something", "stop, tell me about Rome"], "turns": [
        {"match": "Rome", "reply": ["Rome is old."]}, {"match": ".*", "reply": [LONG]}]}
    sink = ClockSink()
    async with harness(tmp_path, script, sink=sink) as h:
        await h.say()
        await h.speaking()
        await asyncio.sleep(0.3)
        await h.say(0.8)  # long enough to be an interruption
        interrupted = await h.wait_for(lambda: h.of(ev.Interrupted))
        assert len(h.sent("response.cancel")) == 1  # the server was told not to cancel: the client does
        assert h.sent("conversation.item.truncate")[0]["audio_end_ms"] == int(sink.flushes[0][1])
        assert not h.of(ev.PlaybackResumed)
        first = await h.turn_done(1)
        assert first.status == "interrupted" and first.output == interrupted[0].heard_text
        second = await h.turn_done(2, timeout=10)  # the interruption's own question is answered
        assert second.output == "Rome is old."
        h.validate_wire()


async def test_the_wire_says_interrupt_response_false_and_keeps_create_response() -> None:
    td = turn_detection(TurnDetection(interrupt_response=True, create_response=False))
    assert td is not None and td["interrupt_response"] is False and td["create_response"] is False


async def test_the_assistant_s_own_echo_is_not_a_turn(tmp_path: Path) -> None:
    answer = "Paris is the capital of France and a lovely city in the spring."
    script = {
        "hear": ["tell me about Paris", "the capital of France and a lovely city"],
        "turns": [{"match": ".*", "reply": [answer]}],
    }
    async with harness(tmp_path, script) as h:  # FileSink: the answer is "heard" at once
        await h.say()
        await h.turn_done(1)
        await h.say()  # its own voice comes back through the microphone
        notice = await h.wait_for(
            lambda: [n for n in h.of(ev.Notice) if "own voice" in n.message]
        )
        assert "capital of France" in notice[0].message
        await h.wait_for(lambda: h.session.is_idle())
        await asyncio.sleep(0.2)
        assert len(h.of(ev.TurnStarted)) == 1 and len(h.of(ev.TurnDone)) == 1
        assert [(i["role"], i["content"]) for i in h.session.conversation.items] == [
            ("user", "tell me about Paris"),
            ("assistant", answer),
        ]
        # whatever the server started answering is cancelled and deleted
        deleted = {e["item_id"] for e in h.sent("conversation.item.delete")}
        echo_item = h.received("input_audio_buffer.speech_stopped")[1]["item_id"]
        assert echo_item in deleted
        assert len(h.of(ev.RealtimeResponseDone)) <= 2
        h.validate_wire()


def test_the_echo_test_is_fuzzy_on_words_and_needs_enough_of_them() -> None:
    said = ["Paris is the capital of France, and a lovely city."]
    assert echo_of("the capital of France and lovely city", said)
    assert echo_of("PARIS is the capitol of France", said)  # one word mis-heard
    assert not echo_of("yes", said)  # too few words to tell
    assert not echo_of("what about the weather in Rome tomorrow", said)
    assert not echo_of("the capital of France", [])


async def test_latency_counts_from_the_end_of_speech(tmp_path: Path) -> None:
    script = {"hear": ["hello"], "turns": [{"match": ".*", "reply": ["Hi."]}]}
    async with harness(tmp_path, script) as h:
        await paced(h, speech(0.4, silence_after=0.6))
        await h.turn_done(1)
        marks = h.of(ev.TurnLatency)[0].marks
        assert marks["end_of_speech"] == 0.0
        # the server's end of turn came a silence window (350 ms in the spec) after the speech ended
        assert marks["end_of_turn"] >= 300
        assert marks["first_audio_byte"] > marks["end_of_turn"]
        spoken = h.of(ev.UserSpeech)[0]
        assert spoken.started is not None and spoken.ended is not None and spoken.detected is not None
        assert spoken.ended - spoken.started >= 0.3  # the tone lasted 0.4 s
        assert spoken.detected - spoken.ended >= 0.3
        # the user's speech is told just before its turn (the trace hangs it under the turn)
        kinds = [type(e).__name__ for e in h.events]
        assert kinds.index("UserSpeech") == kinds.index("TurnStarted") - 1


async def test_speech_still_going_on_is_confirmed_before_the_server_says_it_stopped(tmp_path: Path) -> None:
    script = {"hear": ["tell me something", "no wait, listen"], "turns": [{"match": ".*", "reply": [LONG]}]}
    sink = ClockSink()
    async with harness(tmp_path, script, sink=sink) as h:
        await h.say()
        await h.speaking()
        await paced(h, speech(1.5, silence_after=0.5))  # 1.5 s of talking over the answer, in real time
        await h.wait_for(lambda: h.of(ev.Interrupted))
        states = [(type(e).__name__, getattr(e, "state", None)) for e in h.events]
        interrupted_at = states.index(("Interrupted", None))
        thinking = [i for i, s in enumerate(states) if s == ("StateChanged", "thinking")]
        # the second speech_stopped ("thinking") came after the interruption was already confirmed
        assert len(thinking) >= 2 and thinking[1] > interrupted_at
        assert h.session.hearing.interruptions.confirmed == 1


async def test_spec_interrupt_response_false_lets_the_answer_play_on(tmp_path: Path) -> None:
    script = {"hear": ["tell me something", "uh huh"], "turns": [{"match": ".*", "reply": [LONG]}]}
    async with harness(tmp_path, script, sink=ClockSink()) as h:
        h.session.hearing.interruptions.enabled = False  # the spec's turn_detection.interrupt_response: false
        await h.say()
        await h.speaking()
        await h.say(0.8)
        await h.wait_for(lambda: len(h.received("input_audio_buffer.speech_stopped")) == 2)
        assert not h.of(ev.PlaybackPaused) and not h.of(ev.Interrupted)
        assert not h.sent("response.cancel") and not h.sent("conversation.item.truncate")


async def test_an_answer_that_quotes_the_question_does_not_make_it_an_echo(tmp_path: Path) -> None:
    # the answer comes after the question: it may quote it, it cannot be where the question came from
    script = {"hear": ["what is the weather in Paris", "and what is the weather in Rome"],
              "turns": [{"match": ".*", "reply": ["You asked: {input}. It is sunny."]}]}
    async with harness(tmp_path, script) as h:
        await h.say()
        await h.turn_done(1)
        await h.say()
        second = await h.turn_done(2)
        assert second.output == "You asked: and what is the weather in Rome. It is sunny."
        assert not [n for n in h.of(ev.Notice) if "own voice" in n.message]


async def test_words_of_the_answer_said_well_after_it_are_the_user_s(tmp_path: Path) -> None:
    answer = "Paris is the capital of France and a lovely city in the spring."
    script = {"hear": ["tell me about Paris", "the capital of France and a lovely city"],
              "turns": [{"match": ".*", "reply": [answer]}]}
    async with harness(tmp_path, script) as h:
        await h.say()
        await h.turn_done(1)
        await asyncio.sleep(1.2)  # past any echo of the answer
        await h.say()
        second = await h.turn_done(2)
        assert second.status == "ok" and not [n for n in h.of(ev.Notice) if "own voice" in n.message]


def test_how_long_no_stop_means_long_speech_follows_the_turn_detection() -> None:
    from agentcli.realtime.interrupting import Interruptions
    from agentcli.spec.model import RealtimeSettings

    def wait(**td: object) -> float:
        settings = RealtimeSettings(turn_detection=TurnDetection(**td))
        return Interruptions(None, settings, print, min_speech_ms=400, enabled=True)._wait_s()  # type: ignore[arg-type]

    assert wait(silence_duration_ms=350) == pytest.approx(0.9)  # 400 + 350 + the network margin
    assert wait() == pytest.approx(1.05)  # the server's default silence, 500 ms
    assert wait(type="semantic_vad", eagerness="high") == pytest.approx(2.55)
    assert wait(type="semantic_vad") == pytest.approx(4.55)
