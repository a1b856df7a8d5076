"""The acoustic end-of-turn model in hands-free turn taking (voice.turn.model), with a stand-in model: it
decides between complete and unfinished, a trailing "and" stays unfinished, the transcript alone decides
when the model is off, missing or failing, and the commit waits for the model's verdict."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from typing import Any

import numpy as np
import pytest

from agentcli.audio.vad import SpeechEnd, SpeechStart
from agentcli.spec.model import TurnSettings
from agentcli.voice import turns
from agentcli.voice.turns import Listener, end_of_turn
from tests.conftest import ROOT
from tests.voice.fakes import FakeSTT
from tests.voice.test_turn_taking import end, feed, silence, start, until
from tests.voice.test_turn_taking import session as make_session


class FakeModel:
    """P(finished) fixed by the test; `gate` holds an inference back until it is set."""

    def __init__(self, finished: float | None, gate: threading.Event | None = None) -> None:
        self.p = finished
        self.gate = gate
        self.heard: list[int] = []  # the length of each audio scored

    def finished(self, audio: np.ndarray, rate: int) -> float:
        if self.gate is not None:
            self.gate.wait(10)
        self.heard.append(audio.shape[0])
        if self.p is None:
            raise RuntimeError("inference failed")
        return self.p


def test_the_model_decides_between_complete_and_unfinished_but_not_over_a_trailing_and() -> None:
    assert end_of_turn("complete", 0.03) == "unfinished"  # a full stop on a fragment (a real STT's habit)
    assert end_of_turn("neutral", 0.9) == "complete"  # no punctuation, but it sounds over
    assert end_of_turn("complete", 0.9) == "complete"
    assert end_of_turn("neutral", 0.2) == "unfinished"
    assert end_of_turn("unfinished", 0.99) == "unfinished"  # "... and": a pause for thought
    assert end_of_turn("complete", 0.6, threshold=0.7) == "unfinished"
    assert end_of_turn("complete", None) == "complete"  # no model, or it failed: the transcript rule
    assert end_of_turn(None, 0.9) is None  # no transcript yet


def session(model: FakeModel | None, transcript: str) -> tuple[Any, Any, list[Any]]:
    live, detector, events = make_session(FakeSTT(transcript))
    if model is not None:
        live.hands_free.listener = Listener(model, TurnSettings().threshold)
    return live, detector, events


async def test_a_full_stop_on_a_fragment_that_sounds_unfinished_waits_for_more() -> None:
    model = FakeModel(0.03)
    live, detector, _ = session(model, "I would like to book a table.")
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)
    await feed(live, detector, [end()])
    await until(lambda: live.hands_free.pending is not None and live.hands_free.pending.reads == "complete")
    await silence(live, detector, 600)  # 800 ms: past complete_ms and vad.silence_ms
    assert live.turn is None and model.heard == [16000]
    await silence(live, detector, 800)  # 1600 ms: max_wait_ms (1500)
    assert live.turn is not None


async def test_a_question_without_punctuation_that_sounds_finished_is_answered_at_the_first_short_pause() -> None:
    live, detector, _ = session(FakeModel(0.95), "what is the weather in Paris")
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)
    await feed(live, detector, [end()])  # the detector has seen prepare_ms (200) of silence: complete_ms
    await until(lambda: live.turn is not None or (live.hands_free.pending is not None
                                                  and live.hands_free.pending.reads == "neutral"))
    await silence(live, detector, 20)  # the model's verdict is read at the next block
    assert live.turn is not None and live.hands_free.pending is None  # 220 ms


async def test_a_question_without_punctuation_that_sounds_finished_is_answered_at_complete_ms() -> None:
    live, detector, _ = session(FakeModel(0.95), "what is the weather in Paris")
    live.hands_free.settings = TurnSettings(complete_ms=250)
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)
    await feed(live, detector, [end()])
    await until(lambda: live.hands_free.pending is not None and live.hands_free.pending.reads == "neutral")
    await silence(live, detector, 40)
    assert live.turn is None  # 240 ms
    await silence(live, detector, 20)
    assert live.turn is not None  # 260 ms: complete_ms, not vad.silence_ms (500) as the transcript alone


async def test_without_the_model_the_same_question_waits_for_the_silence_window() -> None:
    live, detector, _ = session(None, "what is the weather in Paris")
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)
    await feed(live, detector, [end()])
    await until(lambda: live.hands_free.pending is not None and live.hands_free.pending.reads == "neutral")
    await silence(live, detector, 200)
    assert live.turn is None  # 400 ms
    await silence(live, detector, 120)
    assert live.turn is not None


async def test_the_commit_waits_for_the_models_verdict() -> None:
    gate = threading.Event()
    live, detector, _ = session(FakeModel(0.95, gate), "What is the weather in Paris?")
    try:
        await feed(live, detector, [start()], in_speech=True, speech_ms=30)
        await feed(live, detector, [end()])
        await until(lambda: live.hands_free.pending is not None and live.hands_free.pending.reads == "complete")
        await silence(live, detector, 400)
        assert live.turn is None  # the transcript reads complete, but the model has not spoken
    finally:
        gate.set()
    await silence(live, detector, 40)
    assert live.turn is not None


async def test_a_failing_model_leaves_the_decision_to_the_transcript() -> None:
    live, detector, _ = session(FakeModel(None), "What is the weather in Paris?")
    live.hands_free.settings = TurnSettings(complete_ms=250)
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)
    await feed(live, detector, [end()])
    await until(lambda: live.hands_free.pending is not None and live.hands_free.pending.reads == "complete")
    await silence(live, detector, 60)
    assert live.turn is not None  # complete_ms, as without a model


async def test_nothing_heard_is_not_waited_for_whatever_the_model_hears() -> None:
    live, detector, _ = session(FakeModel(0.03), "")
    await feed(live, detector, [start()], in_speech=True, speech_ms=30)
    await feed(live, detector, [end()])
    await until(lambda: live.hands_free.pending is not None and live.hands_free.pending.result.status == "empty")
    await silence(live, detector, 60)
    assert live.turn is not None  # complete_ms, not max_wait_ms


async def test_each_pause_scores_the_whole_turn_so_far() -> None:
    model = FakeModel(0.03)
    live, detector, _ = session(model, "and so my fellow Americans.")
    for _ in range(2):
        await feed(live, detector, [start()], in_speech=True, speech_ms=30)
        await feed(live, detector, [end()])
        await until(lambda: live.hands_free.pending is not None and live.hands_free.pending.reads is not None)
        await silence(live, detector, 300)
    await until(lambda: len(model.heard) == 2)
    assert model.heard == [16000, 32000] and live.turn is None


async def early_score(model: FakeModel) -> tuple[Any, Any]:
    """A fragment's start, then 100 ms of quiet (the detector's last voiced frame unchanged) in it."""
    live, detector, _ = session(model, "what is the weather in Paris")
    detector.last_voiced_frame_time = 1.0
    await feed(live, detector, [SpeechStart(0.0, 0.0, np.full(320, 0.1, np.float32))], in_speech=True,
               speech_ms=30)
    for _ in range(4):
        await feed(live, detector, in_speech=True, speech_ms=30)  # 80 ms of quiet: not yet
    await asyncio.sleep(0.05)
    assert model.heard == []
    await feed(live, detector, in_speech=True, speech_ms=30)  # 100 ms
    await until(lambda: len(model.heard) == 1)
    assert model.heard == [320 * 6]  # the start's audio and the five blocks after it
    return live, detector


async def test_the_model_scores_a_pause_before_the_detector_ends_the_fragment() -> None:
    """EARLY_MS into the pause, not at prepare_ms: the verdict is in by complete_ms even when inference
    is slow. The fragment's end reuses that score (the silence after the speech is cut from its input)."""
    model = FakeModel(0.95)
    live, detector = await early_score(model)
    await feed(live, detector, [SpeechEnd(0.0, 300.0, np.full(16000, 0.1, np.float32), "silence", 1.0, 0.0)])
    await silence(live, detector, 60)
    assert live.turn is not None and model.heard == [320 * 6]  # committed at complete_ms, not scored again


async def test_speech_after_the_early_score_is_scored_again_at_the_fragments_end() -> None:
    model = FakeModel(0.95)
    live, detector = await early_score(model)
    detector.last_voiced_frame_time = 2.0  # voiced again, then the fragment ends
    await feed(live, detector, [SpeechEnd(0.0, 300.0, np.full(16000, 0.1, np.float32), "silence", 2.0, 0.0)])
    await until(lambda: len(model.heard) == 2)
    assert model.heard == [320 * 6, 16000]


def test_no_model_unless_asked_and_a_missing_one_is_said_once(monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert Listener.load(TurnSettings()) is None
    from agentcli.audio import smart_turn

    monkeypatch.setattr(smart_turn, "smart_turn_available", lambda: "the weights are not installed")
    monkeypatch.setattr(turns, "_warned", set())
    asked = TurnSettings(model="smart-turn")
    assert Listener.load(asked) is None and Listener.load(asked) is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not installed" in err and "transcript alone" in err


def test_hands_free_does_not_import_the_model_unless_asked() -> None:
    """onnxruntime costs ~120 ms to import: only a spec with voice.turn.model pays it."""
    code = ("import sys; from agentcli.voice.handsfree import HandsFree; from agentcli.voice.turns import Listener\n"
            "from agentcli.spec.model import TurnSettings\n"
            "assert Listener.load(TurnSettings()) is None\n"
            "print([m for m in ('onnxruntime', 'pipecat', 'agentcli.audio.smart_turn') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
