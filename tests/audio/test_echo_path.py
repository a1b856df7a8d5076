"""The rig's echo path (the speaker heard in the mic through module-loopback), the noise helpers, and the
front end live on it: Player -> vspk -> loopback -> vmic -> Recorder(frontend) with the player's far end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from agentcli.audio.frontend import FrontEnd, webrtc_available
from agentcli.audio.mic import Recorder
from agentcli.audio.player import Player
from agentcli.audio.resample import dbfs, rms
from agentcli.audio.vad import SpeechEnd, SpeechStart, TurnDetector, VadEvent
from agentcli.audio.wavfile import read_wav, write_wav
from agentcli.spec.model import VadSettings
from tests.noise import clicks_wav, cough_wav, noise_wav
from tests.pulse import PulseRig, unload_echo_paths

RATE = 16000
PLAY_RATE = 24000


def _tone_wav(path: Path, seconds: float = 1.0, freq: float = 1000.0, amp: float = 0.5) -> Path:
    t = np.arange(int(PLAY_RATE * seconds)) / PLAY_RATE
    write_wav(path, (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32), PLAY_RATE)
    return path


def _capture_while(rig: PulseRig, wav: Path, seconds: float) -> np.ndarray:
    """Record the mic (vmic.monitor) while `wav` plays on the speaker (vspk)."""

    async def run() -> np.ndarray:
        blocks: list[np.ndarray] = []
        async with Recorder(rate=RATE, block_ms=20) as rec:
            play = rig.play_on_speaker(wav)
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                block = await asyncio.wait_for(rec.read(), timeout=2)
                assert block is not None
                blocks.append(block)
            play.wait(timeout=5)
        return np.concatenate(blocks)

    return asyncio.run(run())


def _loudest_db(x: np.ndarray, win: int = RATE // 10) -> float:
    n = x.shape[0] // win
    return max(dbfs(x[i * win : (i + 1) * win]) for i in range(n))


@pytest.mark.audio
def test_what_plays_on_the_speaker_is_heard_in_the_mic_at_the_set_volume(pulse_rig: PulseRig, tmp_path: Path) -> None:
    tone = _tone_wav(tmp_path / "tone.wav")  # a 0.5 sine: -9 dBFS
    assert _loudest_db(_capture_while(pulse_rig, tone, 1.6)) < -60  # no echo path: the mic hears nothing
    with pulse_rig.echo_path(0.0) as module:
        full = _capture_while(pulse_rig, tone, 1.6)
        assert str(module) in [line.split("\t")[0] for line in _modules()]
    with pulse_rig.echo_path(-18.0):
        quiet = _capture_while(pulse_rig, tone, 1.6)
    assert unload_echo_paths() == 0  # torn down on leaving the with
    assert _loudest_db(full) == pytest.approx(-9.0, abs=1.5)
    assert _loudest_db(quiet) == pytest.approx(-27.0, abs=1.5)
    loud = full[np.convolve(np.abs(full), np.ones(160) / 160, mode="same") > 0.1]
    spectrum = np.abs(np.fft.rfft(loud * np.hanning(loud.shape[0])))
    assert np.argmax(spectrum) * RATE / loud.shape[0] == pytest.approx(1000, abs=3)
    assert _loudest_db(_capture_while(pulse_rig, tone, 1.6)) < -60  # and the mic is quiet again


def _modules() -> list[str]:
    from tests.pulse_ctl import pactl

    return pactl("list", "short", "modules").stdout.splitlines()


class _Taps(FrontEnd):
    """The front end, keeping what went in and what came out."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.raw: list[np.ndarray] = []
        self.clean: list[np.ndarray] = []

    def process(self, block: np.ndarray, captured_at: float | None = None) -> np.ndarray:
        out = super().process(block, captured_at)
        self.raw.append(np.array(block, np.float32))
        self.clean.append(out)
        return out


@pytest.mark.audio
@pytest.mark.skipif(webrtc_available() is not None, reason="pywebrtc-audio is not importable")
@pytest.mark.parametrize("gain_db", [0.0, -18.0])
def test_the_recorder_hears_the_player_cancelled(
    pulse_rig: PulseRig, speech_wav: Callable[[str], Path], gain_db: float
) -> None:
    """The wiring voice and realtime use: Recorder(frontend=FrontEnd(far_end=player.far_end)). The player
    speaks for ~8 s through the echo path; the cleaned mic carries >= 25 dB less of it once converged,
    and the VAD hears no speech in it."""
    text = "Here is a long answer about the weather, sunny with a light breeze and twenty degrees in the afternoon."
    speech = read_wav(speech_wav(text), PLAY_RATE) * 0.7

    async def run() -> tuple[_Taps, list[VadEvent], list[VadEvent], str]:
        async with Player(rate=PLAY_RATE) as player:
            front = _Taps(RATE, far_end=player.far_end)
            raw_vad, clean_vad = TurnDetector(VadSettings(), RATE), TurnDetector(VadSettings(), RATE)
            raw_events: list[VadEvent] = []
            clean_events: list[VadEvent] = []
            async with Recorder(rate=RATE, block_ms=20, frontend=front) as rec:
                player.write(speech)
                player.end_utterance()
                deadline = time.perf_counter() + speech.shape[0] / PLAY_RATE + 0.5
                while time.perf_counter() < deadline:
                    block = await asyncio.wait_for(rec.read(), timeout=2)
                    assert block is not None
                    raw_events += raw_vad.feed(front.raw[-1])
                    # as voice wires it: the guard, on the cleaned signal, is the second line of defence
                    clean_events += clean_vad.feed(block, allow_speech=front.guard.allows(block, player.energy))
            assert front.timeline is not None
            why = (
                f"player underruns {player.underruns}, mic blocks dropped {rec.dropped_blocks}, "
                f"overflows {rec.overflows}, reference re-anchored {front.timeline.resyncs} times"
            )
            return front, raw_events, clean_events, why

    with pulse_rig.echo_path(gain_db):
        front, raw_events, clean_events, why = asyncio.run(run())
    raw, clean = np.concatenate(front.raw), np.concatenate(front.clean)
    settled = slice(3 * RATE, raw.shape[0])  # after AEC3 has found the delay and converged
    assert rms(raw[settled]) > 10 ** ((gain_db - 30) / 20)  # the echo was there
    reduction = dbfs(raw[settled]) - dbfs(clean[settled])
    assert reduction >= 25.0, f"echo reduced by only {reduction:.1f} dB ({why})"
    assert any(isinstance(e, SpeechStart) for e in raw_events)  # uncleaned, the VAD takes our voice for a user
    turns = [e for e in clean_events if isinstance(e, SpeechEnd)]
    assert turns == [], f"our own voice made turns at {[(e.start_ms, e.end_ms) for e in turns]} ms ({why})"
    assert front.timeline is not None and front.timeline.resyncs <= 2, why


@pytest.mark.parametrize("kind", ["white", "pink", "brown"])
def test_noise_wav_is_steady_at_its_level(tmp_path: Path, kind: str) -> None:
    x = read_wav(noise_wav(tmp_path / "n.wav", kind, seconds=3, level_db=-30), RATE)
    assert x.shape[0] == 3 * RATE
    assert dbfs(x) == pytest.approx(-30, abs=0.5)
    seconds = [dbfs(x[i * RATE : (i + 1) * RATE]) for i in range(3)]
    assert max(seconds) - min(seconds) < 3.0  # steady


def test_cough_and_clicks_are_short_bursts(tmp_path: Path) -> None:
    cough = read_wav(cough_wav(tmp_path / "c.wav", ms=200), RATE)
    assert cough.shape[0] == pytest.approx(0.2 * RATE, abs=16)
    assert dbfs(cough) > -20
    clicks = read_wav(clicks_wav(tmp_path / "k.wav", seconds=2, per_second=8), RATE)
    assert clicks.shape[0] == pytest.approx(2 * RATE, abs=32)
    win = RATE // 200  # 5 ms windows
    env = np.sqrt(np.mean(clicks[: clicks.shape[0] // win * win].reshape(-1, win) ** 2, axis=1))
    loud = env > 0.05
    assert np.count_nonzero(loud[1:] & ~loud[:-1]) + int(loud[0]) == 16  # 8 a second for 2 s
    assert np.count_nonzero(loud) <= 2 * 16  # each at most two windows: mostly silence


def test_noise_helpers_start_no_turn(tmp_path: Path) -> None:
    """What the end-to-end tests play into the mic: steady noise and typing never start a turn; a cough
    is at most a start that ends as discarded, never a turn."""
    cases = {
        "brown": noise_wav(tmp_path / "b.wav", "brown", seconds=10, level_db=-25),
        "pink": noise_wav(tmp_path / "p.wav", "pink", seconds=10, level_db=-25),
        "clicks": clicks_wav(tmp_path / "k.wav", seconds=5),
    }
    for name, path in cases.items():
        det = TurnDetector(VadSettings(), RATE)
        events = det.feed(read_wav(path, RATE)) + det.finish()
        assert not any(isinstance(e, SpeechStart) for e in events), name
    det = TurnDetector(VadSettings(), RATE)
    cough = np.concatenate([read_wav(cough_wav(tmp_path / "c.wav"), RATE), np.zeros(RATE, np.float32)])
    assert not any(isinstance(e, SpeechEnd) for e in det.feed(cough) + det.finish())


@pytest.mark.audio
def test_steady_noise_in_the_mic_for_10_s_starts_no_turn(pulse_rig: PulseRig, tmp_path: Path) -> None:
    """A fan by the laptop: brown noise played into the virtual mic, through the recorder and front end
    as voice uses them; the VAD never starts a turn (webrtcvad called it speech all along)."""
    noise = noise_wav(tmp_path / "fan.wav", "brown", seconds=10.5, level_db=-25)

    async def run() -> tuple[list[VadEvent], float, int]:
        det = TurnDetector(VadSettings(), RATE)
        events: list[VadEvent] = []
        heard: list[np.ndarray] = []
        async with Recorder(rate=RATE, block_ms=20, frontend=FrontEnd(RATE, echo=False)) as rec:
            play = pulse_rig.speak_into_mic(noise)
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline:
                block = await asyncio.wait_for(rec.read(), timeout=2)
                assert block is not None
                heard.append(block)
                events += det.feed(block)
            play.terminate()
            play.wait(timeout=5)
        return events + det.finish(), dbfs(np.concatenate(heard)), det._silero.scored if det._silero else 0

    events, level, scored = asyncio.run(run())
    # the noise was there, and the front end took most of it off (high-pass and noise suppressor: ~20 dB)
    assert -60 < level < -35
    assert not any(isinstance(e, SpeechStart) for e in events)


@pytest.mark.audio
@pytest.mark.skipif(webrtc_available() is not None, reason="pywebrtc-audio is not importable")
def test_a_user_talking_over_the_answer_is_heard_through_the_echo(
    pulse_rig: PulseRig, speech_wav: Callable[[str], Path]
) -> None:
    """Barge-in with the speaker leaking at full volume: while the player speaks, the VAD on the cleaned
    mic stays quiet; the user's voice played into the mic over it starts a turn soon after it begins."""
    answer = read_wav(speech_wav("Let me tell you a long story about the history of the bicycle. " * 3), PLAY_RATE)
    user = speech_wav("Sorry to interrupt, but what time is it?")
    user_audio = read_wav(user, RATE)
    user_onset_s, user_end_s = _onset_s(user_audio), _end_s(user_audio)

    async def run() -> tuple[list[tuple[float, VadEvent]], float]:
        async with Player(rate=PLAY_RATE) as player:
            front = FrontEnd(RATE, far_end=player.far_end)
            det = TurnDetector(VadSettings(), RATE)
            events: list[tuple[float, VadEvent]] = []
            talk_at = 0.0
            async with Recorder(rate=RATE, block_ms=20, frontend=front) as rec:
                player.write(answer * 0.7)
                player.end_utterance()
                t0 = time.perf_counter()
                while time.perf_counter() - t0 < 7.0:
                    block = await asyncio.wait_for(rec.read(), timeout=2)
                    assert block is not None
                    if not talk_at and time.perf_counter() - t0 > 4.0:  # the echo canceller has converged
                        talk_at = time.perf_counter()
                        pulse_rig.speak_into_mic(user)
                    allow = front.guard.allows(block, player.energy)
                    events += [(time.perf_counter(), e) for e in det.feed(block, allow_speech=allow)]
            return events, talk_at

    with pulse_rig.echo_path(0.0):
        events, talk_at = asyncio.run(run())
    starts = [(t, e) for t, e in events if isinstance(e, SpeechStart)]
    assert starts, "the user's voice was never heard over the answer"
    assert starts[0][0] > talk_at  # nothing before the user spoke: our own voice never started a turn
    # heard while the user is still talking (how soon is bench/frontend_bench.py's and voice_bench's measure)
    delay = starts[0][0] - (talk_at + user_onset_s)  # paplay's start-up and the VAD's decision (~150 ms here)
    assert starts[0][0] < talk_at + user_end_s, f"the user's voice was heard {delay * 1000:.0f} ms after it began"


def _loud(x: np.ndarray) -> np.ndarray:
    level = np.convolve(np.abs(x), np.ones(160) / 160, mode="same")
    return np.nonzero(level > 0.01)[0]


def _onset_s(x: np.ndarray) -> float:
    return float(_loud(x)[0] / RATE)


def _end_s(x: np.ndarray) -> float:
    return float(_loud(x)[-1] / RATE)
