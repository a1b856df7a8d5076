"""`agent chat` with MCP servers, as a subprocess against the embedded simulator: the npm reference
server-filesystem, the demo server crashing at start, and no orphan server after Ctrl-C or SIGTERM."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, agent_env, run_agent

from .conftest import demo_command, new_tag, processes_with, wait_for

pytestmark = pytest.mark.e2e


def write(path: Path, data: Any) -> str:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def spans(agent_home: Path) -> list[dict[str, Any]]:
    db = sqlite3.connect(agent_home / "traces.db")
    db.row_factory = sqlite3.Row
    rows = [dict(r) for r in db.execute("SELECT * FROM spans ORDER BY t_start")]
    db.close()
    for r in rows:
        r["data"] = json.loads(r["data"] or "{}")
    return rows


def test_chat_reads_a_file_through_the_reference_filesystem_server(
    tmp_path: Path, filesystem_server: Path, agent_home: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("buy oat milk")
    spec = write(tmp_path / "agent.yaml", {
        "name": "librarian",
        "mcp_servers": [{"name": "files", "command": ["node", str(filesystem_server), str(docs)],
                         "tools": {"allow": ["read_text_file", "list_directory"]}}],
    })
    script = write(tmp_path / "script.yaml", {"turns": [{"match": "notes", "reply": [
        {"tool_call": {"name": "read_text_file", "arguments": {"path": str(docs / "notes.txt")}}},
        {"text": "Your notes say: {tool_output}"},
    ]}]})
    r = run_agent("chat", spec, "--sim-script", script, "-m", "what do my notes say?", timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Your notes say: buy oat milk\n"
    (call,) = [s for s in spans(agent_home) if s["kind"] == "function"]
    assert call["name"] == "read_text_file" and call["data"]["mcp_server"] == "files"
    assert call["data"]["output"] == "buy oat milk"


def test_a_server_that_fails_to_start_is_one_line_and_exit_1(tmp_path: Path) -> None:
    spec = write(tmp_path / "agent.yaml", {
        "name": "a", "mcp_servers": [{"name": "db", "command": demo_command("--crash-at-start")}],
    })
    r = run_agent("chat", spec, "--sim", "-m", "hi")
    assert r.returncode == 1
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert lines == ["agent: error: MCP server db: the server exited before it was ready "
                     "(demo: cannot open the database /nonexistent/db.sqlite)"], r.stderr


def test_mcp_list_shows_servers_and_tools(tmp_path: Path) -> None:
    spec = write(tmp_path / "agent.yaml", {
        "name": "a", "mcp_servers": [{"name": "demo", "command": demo_command(), "approve": True,
                                      "tools": {"allow": ["add", "echo"]}}],
    })
    r = run_agent("mcp", "list", spec, "--json")
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert (row["agent"], row["server"], row["transport"]) == ("a", "demo", "stdio")
    assert [t["name"] for t in row["tools"]] == ["add", "echo"] and all(t["approve"] for t in row["tools"])
    broken = write(tmp_path / "broken.yaml", {
        "name": "a", "mcp_servers": [{"name": "db", "command": demo_command("--crash-at-start")}],
    })
    r = run_agent("mcp", "list", broken)
    assert r.returncode == 1 and "MCP server db" in r.stderr and "Traceback" not in r.stderr


def test_spec_validate_checks_the_server_shape(tmp_path: Path) -> None:
    spec = write(tmp_path / "agent.yaml", {
        "name": "a", "mcp_servers": [{"name": "both", "command": ["x"], "url": "http://127.0.0.1:1/mcp"},
                                     {"name": "neither"}],
    })
    r = run_agent("spec", "validate", spec)
    assert r.returncode == 2
    assert r.stderr.count("give exactly one of command (stdio) or url (streamable HTTP)") == 2, r.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_no_orphan_server_after_ctrl_c_or_sigterm(tmp_path: Path, sig: signal.Signals) -> None:
    tag = new_tag()
    spec = write(tmp_path / "agent.yaml", {
        "name": "a", "mcp_servers": [{"name": "demo", "command": demo_command(tag=tag)}],
    })
    script = write(tmp_path / "script.yaml", {"latency": {"first_token_ms": 60000},
                                               "turns": [{"match": ".*", "reply": [{"text": "late"}]}]})
    proc = subprocess.Popen([sys.executable, "-m", "agentcli", "chat", spec, "--sim-script", script, "-m", "hi"],
                            cwd=ROOT, env=agent_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: processes_with(tag), "the MCP server to start")
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert processes_with(tag) == []
