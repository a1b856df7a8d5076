"""The echo guard judges the mic while our voice can be in it: audio queued, and the echo of what was
handed last (between two sentences, after the answer), not only while the player has audio queued."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from agentcli.spec.model import InterruptionSettings, TurnSettings, VadSettings
from agentcli.voice.live import LiveSession
from agentcli.voice.options import VoiceOptions
from tests.voice.fakes import FakePlayer
from tests.voice.test_pipeline import make_ctx


class EchoingPlayer(FakePlayer):
    """Nothing queued (drained), but the last block handed out is still loud: its echo is on its way."""

    def __init__(self, energy: float) -> None:
        super().__init__()
        self._energy = energy

    @property
    def energy(self) -> float:
        return self._energy

    @property
    def drained(self) -> bool:
        return True


def _allowed(energy: float, level: float) -> bool:
    ctx, _ = make_ctx()
    ctx.sink = EchoingPlayer(energy)
    live = LiveSession(ctx, VoiceOptions(vad=True), VadSettings(), turn=TurnSettings(),
                       interruption=InterruptionSettings())
    seen: list[Any] = []

    async def feed(block: np.ndarray, allow: bool, playing: bool = False) -> None:
        seen.append(allow)

    live.hands_free.feed = feed
    asyncio.run(live._detect(np.full(320, level, np.float32)))
    return seen[0]


def test_the_echo_tail_of_a_drained_player_is_judged_by_the_guard() -> None:
    assert _allowed(energy=0.3, level=0.05) is False  # as loud as an echo of that output: ours, not the user


def test_the_user_is_heard_once_the_output_is_silent() -> None:
    assert _allowed(energy=0.0, level=0.05) is True
