"""What a user sees at the terminal (issue 13), driven through a pseudo-terminal: the spinner, Ctrl-C,
links, the usage line under NO_COLOR, a guardrail said once, the prompt kept off stdout, the active agent
in the prompt."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_agent
from tests.ptydriver import PtyProcess

pytestmark = pytest.mark.e2e
HERE = Path(__file__).parent
UX = str(HERE / "scripts" / "ux.yaml")
TEAM = str(HERE / "specs" / "team.yaml")
TEAM_SCRIPT = str(HERE / "scripts" / "team.yaml")


def start(*args: str, color: bool = False, stdout: int | None = None, **env_extra: str) -> PtyProcess:
    env = dict(os.environ, TERM="xterm-256color", **env_extra)
    if color:
        env.pop("NO_COLOR", None)
    return PtyProcess([sys.executable, "-m", "agentcli", "chat", *args], env=env, cwd=str(ROOT), stdout=stdout)


def quit_(p: PtyProcess) -> None:
    p.send("/exit\r")
    assert p.wait() == 0


@pytest.mark.parametrize("color", [False, True])
def test_a_spinner_on_the_terminal_while_waiting_then_erased_by_the_answer(color: bool):
    p = start("--sim-script", UX, color=color)
    try:
        p.expect("/help")
        p.send("hello\r")
        p.expect("thinking…")
        m = p.expect(r"Turn 1: hello")
        # the spinner line was erased (carriage return, erase to end of line) before the answer
        before = m.string[:m.start()]
        assert "\r\x1b[K" in before
        quit_(p)
    finally:
        p.close()


def test_no_spinner_when_stderr_is_not_a_terminal():
    r = run_agent("chat", "--sim-script", UX, "-m", "hi")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Turn 1: hi\n"
    assert "thinking" not in r.stderr and "\x1b[" not in r.stderr


@pytest.mark.parametrize("color", [False, True])
def test_ctrl_c_during_an_answer_says_cancelled_on_its_own_line(color: bool):
    p = start("--sim-script", UX, color=color)
    try:
        p.expect("/help")
        p.send("take your time\r")
        p.expect("thinking…")
        p.interrupt()
        m = p.expect(r"\[cancelled\]")
        line = m.string[:m.start()].rsplit("\n", 1)[-1]
        assert "^C" not in line and "thinking" not in line
        assert re.sub(r"\x1b\[[0-9;]*[A-Za-z]|\r", "", line) == ""  # nothing else on that line
        p.expect("› ")
        quit_(p)
    finally:
        p.close()


def test_ctrl_c_at_the_prompt_redraws_the_prompt_with_what_was_typed():
    p = start("--sim-script", UX)
    try:
        p.expect("/help")
        p.expect("› ")
        p.send("half a li")
        p.expect("half a li")
        p.interrupt()
        p.expect(r"\(Ctrl-D or /exit to quit\)\r\n› half a li")
        p.send("ne\r")  # readline goes on editing the same line
        p.expect(r"Turn 1: half a line")
        quit_(p)
    finally:
        p.close()


@pytest.mark.parametrize(("hyperlinks", "expected"), [
    ("0", r"the docs(\x1b\[[0-9;]*m)* \((\x1b\[[0-9;]*m)*https://example\.com/docs/page(\x1b\[[0-9;]*m)*\)"),
    ("1", r"\x1b\]8;[^\x07\x1b]*;https://example\.com/docs/page(\x1b\\|\x07)"),
])
def test_markdown_links_keep_their_url(hyperlinks: str, expected: str):
    p = start("--sim-script", UX, color=True, AGENT_HYPERLINKS=hyperlinks)
    try:
        p.expect("/help")
        p.send("a link please\r")
        p.expect(expected)
        quit_(p)
    finally:
        p.close()


def test_the_usage_line_stays_under_no_color():
    p = start("--sim-script", UX, NO_COLOR="1")
    try:
        p.expect("/help")
        p.send("hello\r")
        p.expect("Turn 1: hello")
        m = p.expect(r"assistant · \d+\+\d+ tokens")
        assert "\x1b[2m" not in m.string  # uncoloured
        quit_(p)
    finally:
        p.close()


def test_a_tripped_input_guardrail_says_its_message_once():
    r = run_agent("chat", TEAM, "--sim-script", TEAM_SCRIPT, "-m", "forbidden topic")
    assert r.returncode == 1
    assert r.stderr.count("That topic is off limits.") == 1, r.stderr
    assert "guardrail no_forbidden tripped (input)" in r.stderr
    p = start(TEAM, "--sim-script", TEAM_SCRIPT)
    try:
        p.expect("/help")
        p.send("forbidden topic\r")
        p.expect("off limits")
        m = p.expect("› ")
        assert "off limits" not in m.string[:m.start()]
        quit_(p)
    finally:
        p.close()


def test_prompts_go_to_the_terminal_not_to_stdout(tmp_path: Path):
    log = tmp_path / "stdout.log"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        p = start("--sim-script", UX, stdout=fd)
    finally:
        os.close(fd)
    try:
        p.expect("› ")  # the prompt is on the terminal ...
        p.send("hello\r")
        p.expect("› ")
        quit_(p)
    finally:
        p.close()
    assert log.read_text() == "Turn 1: hello\n"  # ... and stdout holds the answer alone


def test_the_prompt_names_the_agent_after_a_handoff():
    p = start(TEAM, "--sim-script", TEAM_SCRIPT)
    try:
        p.expect("/help")
        p.expect("main › ")
        p.send("transfer now\r")
        p.expect("handoff main → helper")
        p.expect("helper here")
        p.expect("helper › ")
        p.send("/agent\r")
        p.expect("agent: helper")
        quit_(p)
    finally:
        p.close()


def test_chat_help_shows_each_example_on_its_own_line():
    out = run_agent("chat", "--help").stdout
    lines = [line.strip() for line in out.splitlines()]
    assert 'agent chat agent_specs/weather.yaml --sim -m "weather in Paris?"' in lines
    assert 'echo "summarise: $(cat notes.txt)" | agent chat --json' in lines


def test_spec_new_names_only_commands_that_exist(tmp_path: Path):
    target = tmp_path / "x.yaml"
    r = run_agent("spec", "new", "x", "-o", str(target))
    assert r.returncode == 0, r.stderr
    text = target.read_text()
    assert "`agent realtime`" not in text
    for command in re.findall(r"`agent ([a-z]+)", text):
        assert run_agent(command, "--help").returncode == 0, command


@pytest.mark.parametrize("color", [False, True])
def test_the_spinner_does_not_draw_over_an_approval_question(color: bool):
    import time

    p = start(TEAM, "--sim-script", TEAM_SCRIPT, color=color)
    try:
        p.expect("/help")
        p.send("danger please\r")
        p.expect(r"Run tool danger .*\[y/N\] ")
        time.sleep(0.5)  # several spinner frames' time: none may be drawn while the question waits
        p._pump(0.1)
        assert "…" not in p.output and "\r" not in p.output, repr(p.output)
        p.send("y\r")
        p.expect("result: danger ran")
        quit_(p)
    finally:
        p.close()
