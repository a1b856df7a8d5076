"""An agent-as-tool chain through the real `agent chat` command: the answer, --jsonl nesting, the trace."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_agent

pytestmark = pytest.mark.e2e

SPEC = {"agents": [
    {"name": "front", "tools": [{"agent": "researcher", "description": "Ask the researcher."}]},
    {"name": "researcher", "instructions": "Research.", "tools": ["current_time"]},
]}
SCRIPT = {"turns": [
    {"match": "question", "reply": [{"tool_call": {"name": "researcher", "arguments": {"input": "dig into it"}}},
                                    {"text": "Front: {tool_output}"}]},
    {"match": "dig", "reply": [{"tool_call": {"name": "current_time", "arguments": {"timezone": "UTC"}}},
                               {"text": "found it"}]},
]}


def files(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "team.yaml").write_text(yaml.safe_dump(SPEC))
    (tmp_path / "script.yaml").write_text(yaml.safe_dump(SCRIPT))
    return str(tmp_path / "team.yaml"), str(tmp_path / "script.yaml")


def test_chat_answer_and_jsonl_nesting(tmp_path: Path) -> None:
    spec, script = files(tmp_path)
    r = run_agent("chat", spec, "--sim-script", script, "-m", "a question")
    assert (r.returncode, r.stdout) == (0, "Front: found it\n"), r.stderr
    r = run_agent("chat", spec, "--sim-script", script, "-m", "a question", "--jsonl")
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    started = next(e for e in events if e["type"] == "tool_call_started")
    nested = [e for e in events if e["type"] == "sub_agent_event"]
    assert nested and all(e["call_id"] == started["call_id"] and e["tool"] == "researcher" for e in nested)
    inner = [e["event"] for e in nested]
    assert all(e["parent_id"] == started["call_id"] for e in [*nested, *inner])  # parent: the tool call
    assert any(e["type"] == "tool_call_finished" and e["name"] == "current_time" for e in inner)
    assert any(e["type"] == "text_delta" and e["agent"] == "researcher" for e in inner)
    top_text = "".join(e["delta"] for e in events if e["type"] == "text_delta")
    assert top_text == "Front: found it"  # the sub-agent's text stays nested


def test_trace_nests_the_sub_agent_under_the_call(tmp_path: Path, agent_home: Path) -> None:
    spec, script = files(tmp_path)
    r = run_agent("chat", spec, "--sim-script", script, "-m", "a question")
    assert r.returncode == 0, r.stderr
    db = sqlite3.connect(agent_home / "traces.db")
    rows = db.execute("SELECT span_id, parent_id, kind, name FROM spans").fetchall()
    db.close()
    by_name = {(kind, name): (span_id, parent_id) for span_id, parent_id, kind, name in rows}
    call_id, _ = by_name[("function", "researcher")]
    agent_id, agent_parent = by_name[("agent", "researcher")]
    _, time_parent = by_name[("function", "current_time")]
    assert agent_parent == call_id and time_parent == agent_id


def test_realtime_file_mode_delegates_to_a_text_agent(tmp_path: Path, agent_home: Path) -> None:
    """The realtime front end calls the agent tool; the text agent works; its answer is spoken."""
    from tests.voice.e2e import espeak_wav

    spec, _ = files(tmp_path)
    script = tmp_path / "rt.yaml"
    script.write_text(yaml.safe_dump({"hear": ["a question"], "turns": SCRIPT["turns"]}))
    question = espeak_wav(tmp_path / "q.wav", "a question")
    r = run_agent("voice", spec, "--realtime", "--sim-script", str(script), "--input", str(question), "--fast",
                  "--output", str(tmp_path / "a.wav"), "--jsonl", timeout=90)
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    done = [e for e in events if e["type"] == "turn_done"]
    assert done and done[-1]["output"] == "Front: found it"
    assert any(e["type"] == "sub_agent_event" and e["tool"] == "researcher" for e in events)
    db = sqlite3.connect(agent_home / "traces.db")
    rows = db.execute("SELECT span_id, parent_id, kind, name FROM spans").fetchall()
    db.close()
    by_name = {(kind, name): (span_id, parent_id) for span_id, parent_id, kind, name in rows}
    call_id, _ = by_name[("function", "researcher")]
    assert by_name[("agent", "researcher")][1] == call_id
