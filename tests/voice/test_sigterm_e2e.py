"""SIGTERM (a service manager stopping `agent voice`) ends a live session the way Ctrl-C does: the turns
so far stay in the conversation store, the recording and the trace, and the exit code is 130."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.pulse import PulseRig
from tests.voice.e2e import VoiceProcess, espeak_wav, write_script

pytestmark = [pytest.mark.e2e, pytest.mark.audio]
QUESTION = "what is the weather in Paris"
REPLY = "It is sunny in Paris today."
LONG_REPLY = " ".join(f"This is sentence number {n} of a long answer that goes on." for n in range(1, 13))


def test_sigterm_keeps_turns_recordings_and_the_conversation(pulse_rig: PulseRig, tmp_path: Path) -> None:
    speech = espeak_wav(tmp_path / "q.wav", QUESTION)
    script = write_script(tmp_path / "s.yaml", [QUESTION], [REPLY, LONG_REPLY], matches=["weather", "more"])
    rec = tmp_path / "rec"
    voice = VoiceProcess("--sim-script", str(script), "--vad", "--record", str(rec), "--session", "term")
    try:
        voice.wait_event("state", state="listening", timeout=30)
        pulse_rig.speak_into_mic(speech).wait(timeout=60)
        voice.wait_event("turn_latency", timeout=60)  # the first answer was played in full
        assert voice.proc.stdin is not None
        voice.proc.stdin.write("tell me more\n")  # a typed second turn, with a long spoken answer
        voice.proc.stdin.flush()
        voice.wait_event("speech_done", timeout=60, text="This is sentence number 1 of a long answer that goes on.")
        voice.proc.send_signal(signal.SIGTERM)
        code = voice.proc.wait(timeout=30)
    finally:
        voice.kill()
    assert code == 130, voice.stderr
    assert "Traceback" not in voice.stderr
    assert voice.of("session_ended")[-1]["status"] == "interrupted"
    # the first turn's events carry its id, also those that come after its TurnDone (speech, latency)
    assert {e["turn_id"] for e in voice.events if e["type"] in ("turn_done", "speech_done", "turn_latency")
            and e.get("turn_id") == "1"} == {"1"}
    assert voice.of("turn_latency")[0]["turn_id"] == "1" and voice.of("speech_done")[0]["turn_id"] == "1"
    # the conversation keeps the finished turn
    from agentcli.runtime.conversations import SessionStore

    items = SessionStore().load("term").items
    assert [i["content"] for i in items if i.get("role") == "user"][:1] == [QUESTION]
    assert REPLY in json.dumps(items), items
    # the recording keeps the finished turn's files
    meta = json.loads((rec / "term" / "turns.json").read_text())
    assert meta["turns"][0]["user_text"] == QUESTION and meta["turns"][0]["status"] == "ok"
    assert (rec / "term" / "turn-001-user.wav").is_file()
    # and the trace was ended, as interrupted, with its first turn
    out = subprocess.run([sys.executable, "-m", "agentcli", "trace", "show", "latest", "--json"], cwd=str(ROOT),
                         capture_output=True, text=True, check=True).stdout
    doc = json.loads(out)
    assert doc["trace"]["status"] == "interrupted"
    assert [s["name"] for s in doc["spans"] if s["kind"] == "turn"][:1] == ["turn 1"]
