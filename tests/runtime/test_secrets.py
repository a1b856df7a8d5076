"""Secrets never reach what agentcli stores: the conversation store, recordings' turns.json, the realtime
event log; recordings and logs are private (folders 0700, files 0600). One redaction home: agentcli.redact."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agentcli import events as ev
from agentcli.realtime.connection import EventLog
from agentcli.recording.cascade import CascadeRecording
from agentcli.recording.realtime import RealtimeRecording
from agentcli.redact import REDACTED, redact_text
from tests.conftest import ROOT, agent_env

KEY = "sk-secret-test-0123456789abcdef"
CORP = "corp-credential-value-9876"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private(folder: Path) -> None:
    assert mode(folder) == 0o700
    files = [f for f in folder.rglob("*") if f.is_file()]
    assert files
    for f in files:
        assert mode(f) == 0o600, f
        assert KEY.encode() not in f.read_bytes(), f


def test_voice_recording_is_private_and_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    rec = CascadeRecording(tmp_path / "rec", "s", agent="a", assistant_rate=24000)
    rec.user_audio(np.zeros(1600, np.float32), 16000)
    rec.on_event(ev.UserSpeech(end_ms=100.0))
    rec.on_event(ev.TurnStarted(turn=1, input=f"my key is {KEY}"))
    rec.on_event(ev.TextDelta(delta=f"you said {KEY}"))
    rec.assistant_audio(b"\x01\x00" * 2400)
    rec.on_event(ev.TurnDone(turn=1, output=f"you said {KEY}"))
    rec.on_event(ev.TurnLatency(marks={}))
    assert_private(rec.dir)
    assert mode(tmp_path / "rec") == 0o700
    turn = json.loads((rec.dir / "turns.json").read_text())["turns"][0]
    assert turn["user_text"] == f"my key is {REDACTED}" and turn["answer"] == f"you said {REDACTED}"
    assert {turn["user_wav"], turn["assistant_wav"]} <= {f.name for f in rec.dir.iterdir()}


def test_realtime_recording_is_private_and_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    rec = RealtimeRecording(tmp_path / "rec", "s", agent="a")
    rec.user_audio(b"\x00\x00" * 2400)
    rec.on_event(ev.TurnStarted(turn=1, input=f"key {KEY}"))
    rec.assistant_audio(b"\x01\x00" * 2400)
    rec.on_event(ev.TurnDone(turn=1, agent="a", output=f"echo {KEY}", status="ok"))
    rec.close()
    assert_private(rec.dir)
    turn = json.loads((rec.dir / "turns.json").read_text())["turns"][0]
    assert turn["user_text"] == f"key {REDACTED}" and turn["answer"] == f"echo {REDACTED}"
    assert (rec.dir / turn["assistant_wav"]).exists() and (rec.dir / "user.wav").exists()


def test_realtime_event_log_is_private_and_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    path = tmp_path / "wire.jsonl"
    log = EventLog(str(path))
    log.write("in", {"type": "conversation.item.input_audio_transcription.completed", "transcript": KEY})
    log.close()
    assert mode(path) == 0o600
    record = json.loads(path.read_text())
    assert record["event"]["transcript"] == REDACTED and KEY not in path.read_text()


def test_redaction_covers_a_spec_api_key_env_of_any_name(tmp_path: Path) -> None:
    spec = tmp_path / "corp.yaml"
    spec.write_text("name: corp\ninstructions: hi\nmodel: m\nprovider:\n  api_key_env: CORP_CRED\n")
    env = agent_env(AGENT_HOME=str(tmp_path / "home"), CORP_CRED=CORP, OPENAI_API_KEY=KEY)
    proc = subprocess.run([sys.executable, "-m", "agentcli", "chat", str(spec), "--sim", "--session", "k", "-m",
                           f"keys {CORP} and {KEY}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    stored = b"".join(f.read_bytes() for f in (tmp_path / "home").iterdir() if f.is_file())
    assert b"keys [REDACTED] and [REDACTED]" in stored  # the conversation (and trace) hold the turn...
    assert CORP.encode() not in stored and KEY.encode() not in stored  # ...without either secret
    for f in (tmp_path / "home").iterdir():
        assert mode(f) == 0o600, f


def test_redact_text_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_TOKEN", "tok-abcdefgh")
    assert redact_text("a tok-abcdefgh b") == f"a {REDACTED} b"
    monkeypatch.delenv("SOME_TOKEN")
    assert redact_text("a tok-abcdefgh b") == "a tok-abcdefgh b"
    assert os.environ.get("SOME_TOKEN") is None
