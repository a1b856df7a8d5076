"""Real `agent chat` runs against the simulator, then their traces: exact span trees, and
`agent trace show latest --json` round-tripping them. The runs start together (one home each) so the
file costs about one chat's startup per core, not one per scenario."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentcli.cli.trace_cmd import app
from tests.conftest import ROOT, run_agent

from .helpers import find, shape

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent / "e2e"
SPEC = str(HERE / "team.yaml")
SCRIPT = str(HERE / "script.yaml")
SECRET = "sk-test-SECRET123"


@dataclass
class Run:
    home: Path
    returncode: int
    stdout: str
    stderr: str


SCENARIOS: dict[str, list[str]] = {
    "tool": ["--sim-script", SCRIPT, "-m", f"please add, my key is {SECRET}"],
    "handoff": ["--sim-script", SCRIPT, "-m", "transfer please"],
    "input_guardrail": ["--sim-script", SCRIPT, "-m", "a forbidden topic"],
    "output_guardrail": ["--sim-script", SCRIPT, "-m", "leak it"],
    "tool_error": ["--sim-script", SCRIPT, "-m", "explode now"],
    "retried_fault": ["--sim-script", str(HERE / "flaky.yaml"), "-m", "hi"],
    "fatal_fault": ["--sim-script", str(HERE / "broken.yaml"), "-m", "hi"],
    "no_trace": ["--sim-script", SCRIPT, "-m", "hi", "--no-trace"],
    "no_content": ["--sim-script", SCRIPT, "-m", "please add my diary", "--no-trace-content"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    procs = {}
    for name, args in SCENARIOS.items():
        home = tmp_path_factory.mktemp(f"home_{name}")
        env = {**os.environ, "AGENT_HOME": str(home), "NO_COLOR": "1", "OPENAI_API_KEY": SECRET}
        env.pop("AGENT_TRACE", None)
        cmd = [sys.executable, "-m", "agentcli", "chat", SPEC, *args]
        procs[name] = (home, subprocess.Popen(cmd, cwd=ROOT, env=env, text=True, stdin=subprocess.DEVNULL,
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE))  # fmt: skip
    out = {}
    for name, (home, proc) in procs.items():
        stdout, stderr = proc.communicate(timeout=90)
        out[name] = Run(home, proc.returncode, stdout, stderr)
    return out


def trace_of(run: Run, monkeypatch: pytest.MonkeyPatch) -> dict:
    """`agent trace show latest --json` in that run's home (in process: the same command code)."""
    monkeypatch.setenv("AGENT_HOME", str(run.home))
    result = CliRunner().invoke(app, ["show", "latest", "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


PLAIN = [
    ["turn", "turn 1", [
        ["guardrail", "no_forbidden", []],
        ["agent", "main", [["generation", "sim-model", []], ["guardrail", "no_secrets", []]]],
    ]],
]  # fmt: skip


def test_tool_call_trace_and_the_real_show_json_round_trip(runs: dict[str, Run]) -> None:
    run = runs["tool"]
    assert run.returncode == 0 and run.stdout == "sum is 5\n", run.stderr
    real = run_agent("trace", "show", "latest", "--json", env={**os.environ, "AGENT_HOME": str(run.home)})
    assert real.returncode == 0, real.stderr
    doc = json.loads(real.stdout)
    assert shape(doc) == [
        ["turn", "turn 1", [
            ["guardrail", "no_forbidden", []],
            ["agent", "main", [
                ["generation", "sim-model", []],
                ["function", "add", []],
                ["generation", "sim-model", []],
                ["guardrail", "no_secrets", []],
            ]],
        ]],
    ]  # fmt: skip
    add = find(doc, "function", "add")
    assert (add["data"]["arguments"], add["data"]["output"], add["status"]) == ('{"a": 2, "b": 3}', "5", "ok")
    gens = [s for s in doc["spans"] if s["kind"] == "generation"]
    assert all(g["data"]["input_tokens"] > 0 and g["data"]["ttft_ms"] is not None for g in gens)
    trace = doc["trace"]
    assert (trace["workflow"], trace["kind"], trace["status"], trace["turns"]) == ("main", "chat", "ok", 1)
    assert trace["input_tokens"] == sum(g["data"]["input_tokens"] for g in gens)
    assert trace["group_id"]  # the conversation name
    # the JSON survives a round trip through `agent trace export` too
    exported = run_agent("trace", "export", trace["short_id"], env={**os.environ, "AGENT_HOME": str(run.home)})
    assert json.loads(exported.stdout) == doc
    # the key (in the environment and in the message) is nowhere in the store's files
    assert find(doc, "turn")["data"]["input"] == "please add, my key is [REDACTED]"
    for path in run.home.iterdir():
        if path.name.startswith("traces.db"):
            assert b"SECRET123" not in path.read_bytes()


def test_handoff_trace(runs: dict[str, Run], monkeypatch: pytest.MonkeyPatch) -> None:
    run = runs["handoff"]
    assert run.returncode == 0 and run.stdout == "helper here\n", run.stderr
    doc = trace_of(run, monkeypatch)
    assert shape(doc) == [
        ["turn", "turn 1", [
            ["guardrail", "no_forbidden", []],
            ["agent", "main", [["generation", "sim-model", []], ["handoff", "main -> helper", []]]],
            ["agent", "helper", [["generation", "sim-model", []]]],
        ]],
    ]  # fmt: skip
    assert find(doc, "handoff")["data"] == {"from": "main", "to": "helper"}
    assert find(doc, "turn")["data"]["agent"] == "helper"


def test_input_guardrail_trace(runs: dict[str, Run], monkeypatch: pytest.MonkeyPatch) -> None:
    run = runs["input_guardrail"]
    doc = trace_of(run, monkeypatch)
    assert shape(doc) == [["turn", "turn 1", [["guardrail", "no_forbidden", []]]]]
    guard = find(doc, "guardrail")
    assert guard["data"]["tripped"] is True and guard["data"]["message"] == "That topic is off limits."
    assert find(doc, "turn")["data"]["outcome"] == "guardrail"


def test_output_guardrail_trace(runs: dict[str, Run], monkeypatch: pytest.MonkeyPatch) -> None:
    run = runs["output_guardrail"]
    assert run.stdout == "[withheld]\n", run.stderr
    doc = trace_of(run, monkeypatch)
    assert shape(doc) == PLAIN
    assert find(doc, "guardrail", "no_secrets")["data"]["tripped"] is True
    assert find(doc, "generation")["data"]["output"] == "the code is secret-1234"


def test_tool_error_trace(runs: dict[str, Run], monkeypatch: pytest.MonkeyPatch) -> None:
    doc = trace_of(runs["tool_error"], monkeypatch)
    explode = find(doc, "function", "explode")
    assert (explode["status"], explode["error"]) == ("error", "RuntimeError: boom test")
    assert find(doc, "turn")["status"] == "ok" and doc["trace"]["error_count"] == 1


def test_fault_retried_by_the_client_still_traces_one_generation(
    runs: dict[str, Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = runs["retried_fault"]
    assert run.returncode == 0 and run.stdout == "Turn 1: hi\n", run.stderr
    doc = trace_of(run, monkeypatch)
    assert shape(doc) == PLAIN
    assert doc["trace"]["status"] == "ok" and {s["status"] for s in doc["spans"]} == {"ok"}


def test_fatal_fault_marks_generation_agent_turn_and_trace(
    runs: dict[str, Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = runs["fatal_fault"]
    assert run.returncode == 1
    doc = trace_of(run, monkeypatch)
    assert shape(doc) == [
        ["turn", "turn 1", [["guardrail", "no_forbidden", []], ["agent", "main", [["generation", "sim-model", []]]]]]
    ]
    failed = {s["kind"]: s for s in doc["spans"] if s["status"] == "error"}
    assert set(failed) == {"turn", "agent", "generation"}
    assert all("503" in s["error"] for s in failed.values())
    assert failed["agent"]["data"]["error_kind"] == "model"
    assert doc["trace"]["status"] == "error" and "503" in doc["trace"]["error"]


def test_no_trace_records_nothing(runs: dict[str, Run]) -> None:
    run = runs["no_trace"]
    assert run.returncode == 0, run.stderr
    assert not (run.home / "traces.db").exists()


def test_no_trace_content_keeps_shapes_only(runs: dict[str, Run], monkeypatch: pytest.MonkeyPatch) -> None:
    run = runs["no_content"]
    assert run.returncode == 0, run.stderr
    doc = trace_of(run, monkeypatch)
    assert doc["trace"]["content"] is False
    assert find(doc, "turn")["data"]["input_chars"] == len("please add my diary")
    assert find(doc, "function")["data"] == {"agent": "main", "call_id": find(doc, "function")["data"]["call_id"],
                                             "tool": "add", "arguments_chars": 16, "output_chars": 1}  # fmt: skip
    for path in run.home.iterdir():
        if path.name.startswith("traces.db"):
            assert b"diary" not in path.read_bytes()
