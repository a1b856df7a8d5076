"""The live voice views at a terminal (issue 13): the input level meter in hands-free and realtime (not
only push-to-talk), and a failed realtime start said once."""

from __future__ import annotations

import os
import sys

import pytest

from tests.conftest import ROOT
from tests.ptydriver import PtyProcess
from tests.pulse import PulseRig


def start(*args: str, color: bool = False, **env_extra: str) -> PtyProcess:
    env = dict(os.environ, TERM="xterm-256color", **env_extra)
    if color:
        env.pop("NO_COLOR", None)
    return PtyProcess([sys.executable, "-m", "agentcli", "voice", *args], env=env, cwd=str(ROOT))


@pytest.mark.audio
@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize("mode", ["--vad", "--realtime"])
def test_the_level_meter_shows_in_hands_free_and_realtime(pulse_rig: PulseRig, mode: str, color: bool):
    p = start("--sim", mode, color=color)
    try:
        p.expect(r"● rec [▮▯]{20}")
        p.send("\x04")  # Ctrl-D ends the session
        assert p.wait(timeout=30) == 0
    finally:
        p.close()


@pytest.mark.e2e
@pytest.mark.parametrize("color", [False, True])
def test_a_failed_realtime_start_is_said_once(color: bool):
    p = start("--realtime", "--text-only", color=color, OPENAI_BASE_URL="http://127.0.0.1:9/v1",
              OPENAI_API_KEY="test-key")
    try:
        assert p.wait(timeout=60) == 1
        p.expect("cannot reach")
        rest = p.output
        assert "cannot reach" not in rest and "Traceback" not in rest
    finally:
        p.close()
