"""Realtime tool approval on a terminal: the question is answered through the session's own line reader
(which owns stdin), not by a second reader racing it from a thread."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml

from agentcli.runtime.conversations import SessionStore
from tests.conftest import ROOT
from tests.ptydriver import PtyProcess

pytestmark = pytest.mark.e2e
SPEC = Path(__file__).parent / "specs" / "realtime.yaml"


@pytest.mark.parametrize("answer, output", [("y", "code 1234"), ("n", "did not approve")])
def test_realtime_approval_is_answered_on_the_terminal(tmp_path: Path, answer: str, output: str) -> None:
    script = tmp_path / "s.yaml"
    script.write_text(yaml.safe_dump({"turns": [
        {"reply": [{"tool_call": {"name": "secret_code", "arguments": {}}}, {"text": "Result: {tool_output}"}]},
    ]}))
    proc = PtyProcess([sys.executable, "-m", "agentcli", "voice", str(SPEC), "--realtime", "--text-only",
                       "--sim-script", str(script), "--session", "approve"],
                      env=dict(os.environ, NO_COLOR="1"), cwd=str(ROOT))
    try:
        proc.expect("Ctrl-D|hands-free|typed|›|", timeout=30)
        proc.send("the secret please\r")
        proc.expect(r"Run tool secret_code .*\[y/N\]", timeout=30)
        proc.send(f"{answer}\r")
        proc.expect(f"Result: .*{output}", timeout=30)
        proc.send("\x04")
        assert proc.wait(timeout=20) == 0
    finally:
        proc.close()
    users = [i["content"] for i in SessionStore().load("approve").items if i.get("role") == "user"]
    assert users == ["the secret please"]  # the approval answer was not sent to the agent as a message
