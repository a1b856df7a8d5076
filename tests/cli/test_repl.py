"""The chat REPL, driven through a pseudo-terminal."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.ptydriver import PtyProcess

pytestmark = pytest.mark.e2e
HERE = Path(__file__).parent


def start(*args: str, color: bool = False) -> PtyProcess:
    env = dict(os.environ, TERM="xterm-256color")
    if color:
        env.pop("NO_COLOR", None)
    return PtyProcess([sys.executable, "-m", "agentcli", "chat", *args], env=env, cwd=str(ROOT))


@pytest.mark.parametrize("color", [False, True])
def test_repl_turns_history_commands_and_ctrl_d(color: bool):
    p = start("--sim-script", str(HERE / "scripts" / "echo_turns.yaml"), "--session", "pty", color=color)
    try:
        p.expect("/help")
        p.send("hello there\r")
        p.expect(r"Turn 1: hello there")
        p.send("again\r")
        p.expect(r"Turn 2: again")  # the REPL keeps history between turns
        p.send("/help\r")
        p.expect("/reset")
        p.send("/reset\r")
        p.expect("reset")
        p.send("fresh\r")
        p.expect(r"Turn 1: fresh")
        p.expect("› ")  # readline owns the terminal once the prompt is up
        p.send("\x04")  # Ctrl-D
        assert p.wait() == 0
    finally:
        p.close()


def test_repl_ctrl_c_at_the_prompt_does_not_quit_and_exit_command_quits():
    p = start("--sim")
    try:
        p.expect("/help")
        p.interrupt()
        p.expect("Ctrl-D or /exit")
        p.send("still here\r")
        p.expect("You said: still here")
        p.send("/exit\r")
        assert p.wait() == 0
    finally:
        p.close()


def test_repl_ctrl_c_cancels_a_slow_answer_but_keeps_the_repl(tmp_path: Path):
    script = tmp_path / "slow.yaml"
    script.write_text("latency: {first_token_ms: 5000}\n")
    p = start("--sim-script", str(script))
    try:
        p.expect("/help")
        p.send("take your time\r")
        import time

        time.sleep(0.8)
        p.interrupt()
        p.expect("cancelled")
        p.send("/exit\r")
        assert p.wait() == 0
    finally:
        p.close()
    # the cancelled turn is traced as interrupted, not ok, and the run itself ended ok
    doc = _latest_trace()
    assert doc["trace"]["status"] == "ok"
    turn = next(s for s in doc["spans"] if s["kind"] == "turn")
    assert turn["status"] == "interrupted" and turn["data"]["outcome"] == "interrupted"
    assert all(s["status"] == "interrupted" for s in doc["spans"] if s["parent_id"] == turn["span_id"])


def _latest_trace() -> dict:
    import json
    import subprocess

    out = subprocess.run([sys.executable, "-m", "agentcli", "trace", "show", "latest", "--json"], cwd=str(ROOT),
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_repl_turn_numbers_do_not_restart_in_the_trace_after_reset():
    p = start("--sim-script", str(HERE / "scripts" / "echo_turns.yaml"))
    try:
        p.expect("/help")
        p.send("one\r")
        p.expect(r"Turn 1: one")
        p.send("/reset\r")
        p.expect("reset")
        p.send("two\r")
        p.expect(r"Turn 1: two")  # the conversation starts over ...
        p.expect("› ")
        p.send("\x04")
        assert p.wait() == 0
    finally:
        p.close()
    turns = [s["name"] for s in _latest_trace()["spans"] if s["kind"] == "turn"]
    assert turns == ["turn 1", "turn 2"]  # ... the run's trace does not


def test_repl_asks_before_a_tool_that_needs_approval():
    team = str(HERE / "specs" / "team.yaml")
    p = start(team, "--sim-script", str(HERE / "scripts" / "team.yaml"))
    try:
        p.expect("/help")
        p.send("danger please\r")
        p.expect(r"Run tool danger .*\[y/N\]")
        p.send("n\r")
        p.expect("did not approve")
        p.expect("› ")
        p.send("danger again\r")
        p.expect(r"\[y/N\]")
        p.send("y\r")
        p.expect("result: danger ran")
        p.send("/exit\r")
        assert p.wait() == 0
    finally:
        p.close()
