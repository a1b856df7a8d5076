"""`agent sessions list/show/rm`, `-c` saying what it continues (and refusing another spec's
conversation), and no empty conversation left behind by a failed run."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import SPECS, run_agent

pytestmark = pytest.mark.e2e
HERE = Path(__file__).parent
TEAM = str(HERE / "specs" / "team.yaml")
TEAM_SCRIPT = str(HERE / "scripts" / "team.yaml")


def agent(*args: str, **kw):
    return run_agent(*args, **kw)


def listed() -> list[dict]:
    r = agent("sessions", "list", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_list_show_and_rm(agent_home: Path):
    assert agent("sessions", "list").stderr.strip() == "no conversations yet"
    assert agent("chat", "--sim", "-m", "hello", "-s", "first").returncode == 0
    assert agent("chat", TEAM, "--sim-script", TEAM_SCRIPT, "-m", "please add", "-s", "second").returncode == 0
    rows = listed()
    assert [r["name"] for r in rows] == ["second", "first"]  # most recent first
    assert rows[0]["agent"] == "main" and rows[0]["turns"] == 1 and rows[0]["spec"] == str(Path(TEAM).resolve())
    assert rows[1]["spec"] == "assistant (no file)"
    text = agent("sessions", "list").stdout.splitlines()
    assert text[0].startswith("second ") and "1 turns" in text[0]

    shown = agent("sessions", "show", "second")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == ["you: please add", '· add({"a": 2, "b": 3})', "main: sum is 5"]
    assert "second · main · 1 turns" in shown.stderr
    assert agent("sessions", "show", "latest").stdout == shown.stdout
    doc = json.loads(agent("sessions", "show", "first", "--json").stdout)
    assert doc["name"] == "first" and doc["items"][0] == {"type": "message", "role": "user", "content": "hello"}

    missing = agent("sessions", "show", "nope")
    assert missing.returncode == 1 and "no conversation named 'nope'" in missing.stderr
    assert "Traceback" not in missing.stderr

    r = agent("sessions", "rm", "first", "nope")
    assert r.returncode == 1
    assert "removed first" in r.stderr and "'nope'" in r.stderr
    assert [r["name"] for r in listed()] == ["second"]
    assert agent("sessions", "rm").returncode == 2


def test_rm_empty_removes_conversations_with_no_turns(agent_home: Path):
    assert agent("chat", "--sim", "-m", "hello", "-s", "kept").returncode == 0
    # an empty conversation as an older agentcli left it behind
    db = sqlite3.connect(agent_home / "sessions.db")
    db.execute("INSERT INTO sessions VALUES ('old-empty', 'x', 'assistant', 0, '[]', 0, 0, 99)")
    db.commit()
    db.close()
    r = agent("sessions", "rm", "--empty")
    assert r.returncode == 0 and "removed old-empty" in r.stderr
    assert [r["name"] for r in listed()] == ["kept"]


def test_a_failed_run_leaves_no_empty_conversation(agent_home: Path):
    env = dict(__import__("os").environ, OPENAI_BASE_URL="http://127.0.0.1:9/v1", OPENAI_API_KEY="x")
    r = agent("chat", "-m", "hi", env=env)
    assert r.returncode == 1 and "cannot reach" in r.stderr
    r = agent("chat", "-m", "hi", "-s", "named", env=env)
    assert r.returncode == 1
    assert listed() == []


def test_continue_says_what_it_continues():
    assert agent("chat", "--sim", "-m", "hello", "-s", "mine").returncode == 0
    r = agent("chat", "--sim", "-m", "again", "-c")
    assert r.returncode == 0, r.stderr
    assert "continuing mine with assistant (1 turns)" in r.stderr
    assert r.stdout == "You said: again\n"
    assert listed()[0]["turns"] == 2


def test_continue_refuses_another_specs_conversation_unless_named():
    assert agent("chat", "--sim", "-m", "hello", "-s", "mine").returncode == 0
    r = agent("chat", TEAM, "--sim-script", TEAM_SCRIPT, "-m", "x", "-c")
    assert r.returncode == 2
    assert "mine" in r.stderr and "--session mine" in r.stderr and "Traceback" not in r.stderr
    assert listed()[0]["turns"] == 1  # nothing was added to it
    r = agent("chat", str(SPECS / "assistant.yaml"), "--sim", "-m", "x", "-c")
    assert r.returncode == 2  # a spec file is not the built-in assistant, even with the same agent name
    r = agent("chat", TEAM, "--sim-script", TEAM_SCRIPT, "-m", "x", "--session", "mine")
    assert r.returncode == 0, r.stderr


def test_continue_with_nothing_to_continue_is_a_usage_error():
    r = agent("chat", "--sim", "-m", "x", "-c")
    assert r.returncode == 2 and "no conversation to continue" in r.stderr


def test_show_never_sends_a_terminal_escape_from_the_conversation():
    assert agent("chat", "--sim", "-m", "red \x1b[31m text", "-s", "esc").returncode == 0
    shown = agent("sessions", "show", "esc").stdout
    assert "\x1b" not in shown and "red \\x1b[31m text" in shown
