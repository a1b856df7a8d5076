"""Smart Turn v3 on real audio: JFK's first phrase, cut where the turn detector cuts it at his first pause,
sounds unfinished and the whole speech finished; complete espeak-ng questions sound finished and a phrase
spoken with a comma's rising tone unfinished. Our numpy features are pipecat's, value for value."""

from __future__ import annotations

import importlib.util
import math
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from agentcli.audio import smart_turn as st
from agentcli.audio.vad import SpeechEnd, TurnDetector
from agentcli.audio.wavfile import read_wav
from agentcli.spec.model import TurnSettings, VadSettings

RATE = 16000
THRESHOLD = TurnSettings().threshold
QUESTIONS = ["Can you tell me a joke about cats?", "Do you know a good recipe for pancakes?",
             "What is the capital of Australia?", "Is it going to rain tomorrow?"]


@pytest.fixture(scope="module")
def model() -> st.SmartTurn:
    # the dev extra installs the smart-turn extra: this must not skip in CI
    assert st.smart_turn_available() is None, st.smart_turn_available()
    return st.SmartTurn()


def fragments(x: np.ndarray) -> list[SpeechEnd]:
    """The fragments hands-free turn taking cuts (voice/handsfree.py: a prepare_ms silence window)."""
    vad = VadSettings().model_copy(update={"silence_ms": TurnSettings().prepare_ms, "min_utterance_ms": 0})
    detector = TurnDetector(vad, RATE)
    out: list[SpeechEnd] = []
    for i in range(0, len(x), 320):
        out += [e for e in detector.feed(x[i:i + 320]) if isinstance(e, SpeechEnd)]
    return out


def at_16k(speech_wav: Callable[[str], Path], text: str, tmp_path: Path) -> np.ndarray:
    """espeak-ng's speech resampled with sox to 16 kHz, its own leading and trailing silence trimmed, in a
    quiet room (low noise around it)."""
    out = tmp_path / f"{abs(hash(text))}.wav"
    subprocess.run(["sox", "-D", str(speech_wav(text)), "-r", str(RATE), str(out), "silence", "1", "0.01", "1%",
                    "reverse", "silence", "1", "0.01", "1%", "reverse"], check=True, capture_output=True)
    noise = (np.random.default_rng(0).standard_normal(RATE // 2) * 0.002).astype(np.float32)
    return np.concatenate([noise, read_wav(out, RATE), noise])


def test_jfk_first_phrase_sounds_unfinished_and_the_whole_speech_finished(model: st.SmartTurn,
                                                                         jfk_wav: Path) -> None:
    x = read_wav(jfk_wav, RATE)
    parts = fragments(np.concatenate([x, np.zeros(RATE, np.float32)]))
    assert len(parts) >= 4 and parts[0].end_ms < 2500  # "And so, my fellow Americans," then ~1 s of pause
    first = model.finished(parts[0].audio)
    whole = model.finished(np.concatenate([p.audio for p in parts]))
    assert first < THRESHOLD < whole, (first, whole)


@pytest.mark.parametrize("text", QUESTIONS)
def test_a_complete_spoken_question_sounds_finished(model: st.SmartTurn, speech_wav: Callable[[str], Path],
                                                    tmp_path: Path, text: str) -> None:
    parts = fragments(at_16k(speech_wav, text, tmp_path))
    assert len(parts) == 1
    assert model.finished(parts[0].audio) >= THRESHOLD


def test_a_phrase_with_a_rising_comma_tone_sounds_unfinished(model: st.SmartTurn,
                                                             speech_wav: Callable[[str], Path],
                                                             tmp_path: Path) -> None:
    parts = fragments(at_16k(speech_wav, "I would like to book a table for two,", tmp_path))
    assert len(parts) == 1
    assert model.finished(parts[0].audio) < THRESHOLD


def test_trailing_silence_is_cut_to_the_same_tail() -> None:
    """The model's input ends TAIL_MS after the speech, however long the pause the VAD kept."""
    speech = (np.random.default_rng(1).standard_normal(RATE) * 0.1).astype(np.float32)
    for pause in (0.1, 0.3, 0.9):
        x = np.concatenate([speech, np.zeros(int(pause * RATE), np.float32)])
        assert st.trim_tail(x).shape[0] == RATE + st.TAIL_MS * RATE // 1000
    assert st.trim_tail(speech).shape[0] == RATE  # nothing to cut
    assert st.trim_tail(np.zeros(50, np.float32)).shape[0] == 50  # shorter than a frame: as is


def test_the_input_is_the_last_8_seconds_zero_padded_in_front() -> None:
    ramp = np.arange(10 * RATE, dtype=np.float32)
    assert np.array_equal(st.window(ramp), ramp[-8 * RATE:])
    short = np.ones(RATE, np.float32)
    w = st.window(short)
    assert w.shape == (8 * RATE,) and not w[: 7 * RATE].any() and w[7 * RATE:].all()


def test_features_are_pipecats_whisper_features(jfk_wav: Path) -> None:
    """pipecat's numpy port of transformers' WhisperFeatureExtractor (loaded from its file: importing the
    pipecat package would run its __init__), against ours."""
    path = st.model_path()
    assert path is not None
    source = path.parent.parent / "_whisper_features.py"
    spec = importlib.util.spec_from_file_location("pipecat_whisper_features", source)
    assert spec is not None and spec.loader is not None
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    x = st.window(read_wav(jfk_wav, RATE)[: 5 * RATE])
    ours = st.log_mel(x)
    assert ours.shape == (st.N_MELS, st.FRAMES) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref.compute_whisper_log_mel_features(x), atol=1e-6)


def test_the_model_takes_other_rates(model: st.SmartTurn, jfk_wav: Path) -> None:
    x = read_wav(jfk_wav, RATE)
    at_24k = read_wav(jfk_wav, 24000)
    assert math.isclose(model.finished(x), model.finished(at_24k, 24000), abs_tol=0.1)
