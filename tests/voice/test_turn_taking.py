"""Hands-free turn taking with a scripted detector, fake speech and a virtual-clock player: a cough pauses
and resumes an answer, enough speech interrupts it, fragments with thinking pauses merge into one turn, a
prepared answer is held back until the turn is committed, and the session never answers its own voice."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from agentcli import events as ev
from agentcli.audio.vad import Discarded, SpeechEnd, SpeechStart
from agentcli.spec.model import InterruptionSettings, TurnSettings, VadSettings
from agentcli.voice.live import LiveSession
from agentcli.voice.options import VoiceOptions
from agentcli.voice.turns import echo_of, reads
from tests.voice.fakes import FakePlayer, FakeSTT
from tests.voice.test_pipeline import ANSWER, make_ctx, of

BLOCK = np.zeros(320, np.float32)  # 20 ms at 16 kHz


class ScriptedDetector:
    """Stands in for the TurnDetector: each feed() returns what the test queued for it."""

    def __init__(self) -> None:
        self.next: list[Any] = []
        self.in_speech = False
        self.speech_ms = 0.0
        self.position_ms = 0.0  # where the detector's stream is (a real one: the end of the latest block)
        self.trailing_ms = 200.0  # the silence it has seen past a fragment's end when it reports it
        self._heard = 0  # blocks of the utterance in progress

    def utterance_audio(self) -> np.ndarray:
        return np.full(self._heard * BLOCK.shape[0], 0.1, np.float32)

    def feed(self, block: np.ndarray, *, allow_speech: bool = True) -> list[Any]:
        out, self.next = self.next, []
        ends = [e for e in out if isinstance(e, SpeechEnd)]
        if self.in_speech:
            self._heard += 1
        self.position_ms = ends[-1].end_ms + self.trailing_ms if ends else self.position_ms + 20.0
        return out


def start(t: float = 0.0) -> SpeechStart:
    return SpeechStart(0.0, t, np.zeros(160, np.float32))


def end(seconds: float = 1.0, reason: str = "silence") -> SpeechEnd:
    return SpeechEnd(0.0, seconds * 1000, np.full(int(seconds * 16000), 0.1, np.float32), reason, 0.0, 0.0)


def session(stt: FakeSTT | None = None, answer: str = ANSWER, speed: float = 20.0,
            min_speech_ms: int = 400, min_words: int = 0) -> tuple[LiveSession, ScriptedDetector, list[Any]]:
    ctx, events = make_ctx(answer, speed=speed)
    if stt is not None:
        ctx.stt = stt
    live = LiveSession(ctx, VoiceOptions(vad=True), VadSettings(), turn=TurnSettings(),
                       interruption=InterruptionSettings(min_speech_ms=min_speech_ms, min_words=min_words))
    detector = ScriptedDetector()
    live.hands_free.detector = detector
    return live, detector, events


async def feed(live: LiveSession, detector: ScriptedDetector, events: list[Any] | None = None,
               in_speech: bool = False, speech_ms: float = 0.0, playing: bool = False) -> None:
    detector.next = list(events or [])
    detector.in_speech, detector.speech_ms = in_speech, speech_ms
    await live.hands_free.feed(BLOCK, True, playing)


async def silence(live: LiveSession, detector: ScriptedDetector, ms: float) -> None:
    for _ in range(int(ms // 20)):
        await feed(live, detector)
        await asyncio.sleep(0.002)  # the prepared turn runs meanwhile


async def until(cond: Any, steps: int = 2000) -> None:
    for _ in range(steps):
        if cond():
            return
        await asyncio.sleep(0.002)
    raise AssertionError("condition never met")


async def a_question(live: LiveSession, detector: ScriptedDetector) -> None:
    """One complete question; returns once its answer is committed."""
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)
    await feed(live, detector, [end()])
    for _ in range(200):
        if live.turn is not None:
            return
        await silence(live, detector, 20)
    raise AssertionError("the question was never committed")


# --- the transcript rules ---------------------------------------------------------------------------


def test_how_a_transcript_reads() -> None:
    assert reads("What is the weather in Paris?") == "complete"
    assert reads("It is late.") == "complete"
    assert reads("And so, my fellow Americans,") == "unfinished"
    assert reads("ask not...") == "unfinished"
    assert reads("I went to the shop and") == "unfinished"
    assert reads("tell me about the um") == "unfinished"
    assert reads("what is the weather in Paris") == "neutral"


def test_echo_is_the_assistant_own_words_in_order() -> None:
    said = ["It is sunny in Paris today.", "The temperature is twenty degrees."]
    assert echo_of("it is sunny in paris today the temperature", said)
    assert echo_of("Sunny in Paris today, the temperature is", said)
    assert not echo_of("what is the temperature in Rome tomorrow", said)
    assert not echo_of("sunny today", said)  # too short to tell
    assert not echo_of("it is sunny in paris today", [])


# --- interruptions ----------------------------------------------------------------------------------


async def test_a_cough_during_an_answer_pauses_it_and_the_answer_resumes_and_finishes() -> None:
    live, detector, events = session(speed=10.0)
    player: FakePlayer = live.ctx.sink  # type: ignore[assignment]
    await a_question(live, detector)
    turn = live.turn
    assert turn is not None
    await until(lambda: player.heard_ms_total() > 500)
    await feed(live, detector, [start()], in_speech=True, speech_ms=60)
    assert player.output_paused and player.pauses == 1
    at_pause = player.heard_ms_total()
    for _ in range(5):  # 200 ms of "cough", below min_speech_ms
        await feed(live, detector, in_speech=True, speech_ms=200)
    await asyncio.sleep(0.05)
    assert player.heard_ms_total() == at_pause  # nothing played while paused
    await feed(live, detector, [Discarded(0.0, 200.0, 0.0)])
    assert not player.output_paused
    await until(lambda: not turn.active)
    assert not of(events, ev.Interrupted)
    assert len(of(events, ev.PlaybackPaused)) == 1 and len(of(events, ev.PlaybackResumed)) == 1
    assert of(events, ev.PlaybackResumed)[0].speech_ms == 200.0
    assert player.flushes == 0
    assert turn.result.status == "ok"
    spoken = of(events, ev.SpeechDone)
    assert [e.status for e in spoken] == ["ok"] * 3
    assert player.heard_ms_total() == sum(e.audio_ms for e in spoken)  # the whole answer was played
    assert live.ctx.conversation.items[-1]["content"] == ANSWER + " "
    assert "_interrupted" not in live.ctx.conversation.items[-1]


async def test_speech_longer_than_min_speech_ms_interrupts_and_keeps_what_was_heard() -> None:
    live, detector, events = session(speed=10.0)
    player: FakePlayer = live.ctx.sink  # type: ignore[assignment]
    await a_question(live, detector)
    turn = live.turn
    assert turn is not None
    await until(lambda: player.heard_ms_total() > 2500)
    await feed(live, detector, [start()], in_speech=True, speech_ms=60)
    await feed(live, detector, in_speech=True, speech_ms=300)
    assert not of(events, ev.Interrupted) and player.flushes == 0
    await feed(live, detector, in_speech=True, speech_ms=420)
    assert player.flushes == 1
    await until(lambda: bool(of(events, ev.Interrupted)))
    interrupted = of(events, ev.Interrupted)[0]
    assert interrupted.heard_text and ANSWER.startswith(interrupted.heard_text)
    assert len(interrupted.heard_text) < len(ANSWER)
    assert not of(events, ev.PlaybackResumed)
    await until(lambda: not turn.active)
    assert live.ctx.conversation.items[-1]["_interrupted"] is True


async def _talk_over(stt: FakeSTT, min_words: int) -> tuple[LiveSession, ScriptedDetector, list[Any], Any]:
    """A question answered, then speech past min_speech_ms over the answer (min_words set)."""
    live, detector, events = session(stt, speed=10.0, min_words=min_words)
    player: FakePlayer = live.ctx.sink  # type: ignore[assignment]
    await a_question(live, detector)
    turn = live.turn
    await until(lambda: player.heard_ms_total() > 500)
    await feed(live, detector, [start()], in_speech=True, speech_ms=60)
    await feed(live, detector, in_speech=True, speech_ms=420)  # past min_speech_ms: its words are counted
    return live, detector, events, turn


async def test_with_min_words_a_backchannel_does_not_interrupt() -> None:
    stt = FakeSTT(texts=["What is the weather in Paris?", "okay"])
    live, detector, events, turn = await _talk_over(stt, min_words=2)
    player: FakePlayer = live.ctx.sink  # type: ignore[assignment]
    await until(lambda: len(stt.heard) >= 2)  # the speech so far was transcribed: one word
    await asyncio.sleep(0.02)
    assert player.output_paused and player.flushes == 0 and not of(events, ev.Interrupted)
    await feed(live, detector, [end(0.5)])  # it ends: all of it is counted, still one word
    await until(lambda: not player.output_paused)
    await until(lambda: not turn.active)
    assert not of(events, ev.Interrupted) and len(of(events, ev.PlaybackResumed)) == 1
    assert turn.result.status == "ok" and len(of(events, ev.TurnStarted)) == 1  # "okay" was not a turn


async def test_with_min_words_enough_words_interrupt_and_become_the_turn() -> None:
    stt = FakeSTT(texts=["What is the weather in Paris?", "stop please"])
    live, detector, events, turn = await _talk_over(stt, min_words=2)
    player: FakePlayer = live.ctx.sink  # type: ignore[assignment]
    await until(lambda: bool(of(events, ev.Interrupted)))
    assert player.flushes == 1 and not of(events, ev.PlaybackResumed)
    await feed(live, detector, [end(0.6)])
    await silence(live, detector, 600)  # "stop please" reads neither way: vad.silence_ms
    await until(lambda: len(of(events, ev.TurnStarted)) == 2)


async def test_with_min_words_speech_past_the_cap_interrupts_whatever_its_words() -> None:
    stt = FakeSTT(texts=["What is the weather in Paris?", "hmm"])
    live, detector, events, turn = await _talk_over(stt, min_words=3)
    await until(lambda: len(stt.heard) >= 2)
    await asyncio.sleep(0.02)
    assert not of(events, ev.Interrupted)
    await feed(live, detector, in_speech=True, speech_ms=1520)  # past min_words_cap_ms (1500)
    await until(lambda: bool(of(events, ev.Interrupted)))


async def test_a_short_fragment_during_an_answer_is_not_a_turn() -> None:
    live, detector, events = session(speed=10.0)
    player: FakePlayer = live.ctx.sink  # type: ignore[assignment]
    await a_question(live, detector)
    await until(lambda: player.heard_ms_total() > 300)
    await feed(live, detector, [start()], in_speech=True, speech_ms=60)
    await feed(live, detector, [end(0.35)])  # voiced 350 ms: a turn's length, below min_speech_ms
    assert not player.output_paused and live.hands_free.pending is None
    await until(lambda: live.turn is not None and not live.turn.active)
    assert len(of(events, ev.TurnStarted)) == 1


# --- end of turn --------------------------------------------------------------------------------------


async def test_fragments_with_thinking_pauses_become_one_turn() -> None:
    stt = FakeSTT(texts=["And so, my fellow Americans,", "And so, my fellow Americans, ask not...",
                         "And so, my fellow Americans, ask not what your country can do for you."])
    live, detector, events = session(stt)
    player: FakePlayer = live.ctx.sink  # type: ignore[assignment]
    for seconds in (2.0, 0.5):
        await feed(live, detector, [start()], in_speech=True, speech_ms=30)
        await feed(live, detector, [end(seconds)])
        await silence(live, detector, 1000)  # a thinking pause: shorter than max_wait_ms
        assert live.turn is None and player.writes == 0
        assert not of(events, ev.TurnStarted) and not of(events, ev.TranscriptDone)
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)
    await feed(live, detector, [end(1.5)])
    await silence(live, detector, 400)  # reads complete: committed after complete_ms
    assert live.turn is not None
    await until(lambda: not live.turn.active)  # type: ignore[union-attr]
    assert stt.heard == [2.0, 2.5, 4.0]  # each transcript is of all the fragments so far
    assert [e.text for e in of(events, ev.TranscriptDone)] == [
        "And so, my fellow Americans, ask not what your country can do for you."]
    assert len(of(events, ev.TurnStarted)) == 1
    users = [i["content"] for i in live.ctx.conversation.items if i["role"] == "user"]
    assert users == ["And so, my fellow Americans, ask not what your country can do for you."]
    assert live.ctx.conversation.turns == 1


async def test_a_prepared_answer_waits_for_the_end_of_the_turn() -> None:
    live, detector, events = session(FakeSTT("what is the weather in Paris"))
    player: FakePlayer = live.ctx.sink  # type: ignore[assignment]
    tts = live.ctx.tts
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)
    await feed(live, detector, [end()])
    await until(lambda: bool(tts.said))  # type: ignore[attr-defined]
    assert live.hands_free.pending is not None and live.turn is None
    assert player.writes == 0  # synthesized, nothing played or shown yet
    assert [e.type for e in events] == ["state"] and live.ctx.state == "hearing"
    await silence(live, detector, 260)  # neutral: waits for vad.silence_ms (500)
    assert live.turn is None
    await silence(live, detector, 300)
    assert live.turn is not None
    await until(lambda: not live.turn.active)  # type: ignore[union-attr]
    marks = of(events, ev.TurnLatency)[-1].marks
    assert marks["end_of_turn"] <= marks["first_sample_played"]
    assert marks["first_audio_byte"] <= marks["end_of_turn"]  # synthesized while the user's turn could go on
    kinds = [e.type for e in events]
    assert kinds.index("transcript_done") < kinds.index("turn_started") < kinds.index("turn_done")
    assert [e.state for e in of(events, ev.StateChanged)][:2] == ["hearing", "speaking"]


async def test_a_prepared_answer_is_dropped_when_the_user_goes_on() -> None:
    stt = FakeSTT(texts=["what is the weather", "what is the weather in Paris tomorrow?"])
    live, detector, events = session(stt)
    tts = live.ctx.tts
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)
    await feed(live, detector, [end()])
    await until(lambda: bool(tts.said))  # type: ignore[attr-defined]
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)  # the user goes on
    await feed(live, detector, [end()])
    await silence(live, detector, 300)
    await until(lambda: live.turn is not None and not live.turn.active)
    assert len(of(events, ev.TurnStarted)) == 1
    assert [i["content"] for i in live.ctx.conversation.items if i["role"] == "user"] == [
        "what is the weather in Paris tomorrow?"]
    assert len(of(events, ev.SpeechDone)) == 3  # the dropped answer's speech was never reported


async def test_the_session_does_not_answer_its_own_voice() -> None:
    live, detector, events = session(FakeSTT("The weather in Paris is sunny today. It will rain"))
    live.ctx.said.extend(["The weather in Paris is sunny today.", "It will rain tomorrow afternoon."])
    await feed(live, detector, [start()], in_speech=True, speech_ms=30, playing=True)  # heard while it played
    await feed(live, detector, [end()])
    await silence(live, detector, 600)
    await until(lambda: live.turn is not None and not live.turn.active)
    notices = [e.message for e in of(events, ev.Notice)]
    assert any("my own voice" in m for m in notices), notices
    assert not of(events, ev.TurnStarted)
    assert live.ctx.conversation.items == []


async def test_a_short_word_after_a_pause_belongs_to_the_turn_but_a_lone_click_starts_none() -> None:
    stt = FakeSTT(texts=["ask,", "ask not."])
    live, detector, events = session(stt)
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)
    await feed(live, detector, [end(0.1)])  # below vad.min_utterance_ms with nothing before it: noise
    await silence(live, detector, 600)
    assert live.hands_free.pending is None and stt.heard == []
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)
    await feed(live, detector, [end(0.4)])
    await silence(live, detector, 240)
    await until(lambda: live.hands_free.pending is not None and live.hands_free.pending.reads is not None)
    assert live.ctx.tts.said == []  # type: ignore[attr-defined]  # reads unfinished: no agent run yet
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)
    await feed(live, detector, [end(0.28)])  # "not": short, but the turn is in progress
    await silence(live, detector, 300)
    await until(lambda: live.turn is not None and not live.turn.active)
    assert stt.heard == [0.4, 0.68]
    assert [e.text for e in of(events, ev.TranscriptDone)] == ["ask not."]


async def test_a_typed_line_replaces_the_spoken_turn_in_progress() -> None:
    live, detector, events = session(FakeSTT("and then"))
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)
    await feed(live, detector, [end()])
    await until(lambda: bool(live.ctx.tts.said))  # type: ignore[attr-defined]
    live._typed("what time is it")
    assert live.hands_free.pending is None
    await until(lambda: bool(of(events, ev.TurnLatency)))
    assert [i["content"] for i in live.ctx.conversation.items if i["role"] == "user"] == ["what time is it"]
    assert not of(events, ev.TranscriptDone) and len(of(events, ev.TurnStarted)) == 1


async def test_words_of_the_answer_said_after_it_ended_are_answered() -> None:
    live, detector, events = session(FakeSTT("the weather in Paris is sunny today?"))
    live.ctx.said.extend(["The weather in Paris is sunny today.", "It will rain tomorrow afternoon."])
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)  # nothing was playing
    await feed(live, detector, [end()])
    await silence(live, detector, 300)
    await until(lambda: bool(of(events, ev.TurnLatency)))
    assert len(of(events, ev.TurnStarted)) == 1 and not of(events, ev.Notice)


async def test_a_complete_question_is_committed_at_the_first_short_pause() -> None:
    live, detector, events = session(FakeSTT("What is the weather in Paris?"))
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)
    await feed(live, detector, [end()])  # the detector has seen prepare_ms (200) of silence
    # complete_ms (200) has passed once the transcript reads complete: committed then, no block later
    await until(lambda: live.turn is not None)
    assert live.hands_free.pending is None and live.turn.reads == "complete"


async def test_the_wait_counts_the_silence_really_seen_past_the_fragment() -> None:
    live, detector, events = session(FakeSTT("What is the weather in Paris?"))
    live.hands_free.settings = TurnSettings(complete_ms=250)
    detector.trailing_ms = 210  # the fragment ended on a block's first frame: 210 ms of silence seen
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)
    await feed(live, detector, [end()])
    await until(lambda: live.hands_free.pending is not None and live.hands_free.pending.reads == "complete")
    await silence(live, detector, 20)
    assert live.turn is None  # 230 ms
    await silence(live, detector, 20)
    assert live.turn is not None  # 250 ms: complete_ms, not vad.silence_ms (500)


class HeldSTT(FakeSTT):
    """Gives its transcript only once `release` is set (a slow transcriber)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.release = asyncio.Event()

    async def transcribe(self, audio: np.ndarray, rate: int) -> Any:
        await self.release.wait()
        async for part in super().transcribe(audio, rate):
            yield part


async def test_a_transcript_later_than_the_wait_commits_when_it_comes() -> None:
    stt = HeldSTT("What is the weather in Paris?")
    live, detector, events = session(stt)
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)
    await feed(live, detector, [end()])
    await silence(live, detector, 100)
    assert live.turn is None and live.hands_free.pending is not None  # how it reads is not known yet
    stt.release.set()
    await until(lambda: live.turn is not None)  # no further microphone block needed
    assert live.hands_free.pending is None
