"""Eight real `agent chat` processes at once, one trace store: eight complete traces."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentcli.tracing.query import list_traces, load
from agentcli.tracing.store import TraceStore
from tests.conftest import ROOT

from .helpers import shape

pytestmark = pytest.mark.e2e

SPEC = str(Path(__file__).parent / "e2e" / "team.yaml")
SCRIPT = str(Path(__file__).parent / "e2e" / "script.yaml")


def test_eight_concurrent_chats_give_eight_complete_traces(agent_home: Path) -> None:
    env = {**os.environ, "AGENT_HOME": str(agent_home)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "agentcli", "chat", SPEC, "--sim-script", SCRIPT, "-m", f"message {i}"],
            cwd=ROOT,
            env=env,
            text=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        for i in range(8)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err for _, err in results]
    assert sorted(out for out, _ in results) == [f"Turn 1: message {i}\n" for i in range(8)]
    assert not any("database is locked" in err or "tracing stopped" in err for _, err in results)
    store = TraceStore.open()
    traces = list_traces(store, limit=50)
    assert len(traces) == 8
    inputs = []
    for trace in traces:
        assert (trace["status"], trace["turns"], trace["span_count"]) == ("ok", 1, 5)
        doc = load(store, trace["trace_id"])
        assert shape(doc) == [
            ["turn", "turn 1", [
                ["guardrail", "no_forbidden", []],
                ["agent", "main", [["generation", "sim-model", []], ["guardrail", "no_secrets", []]]],
            ]],
        ]  # fmt: skip
        inputs.append(doc["spans"][0]["data"]["input"])
    assert sorted(inputs) == [f"message {i}" for i in range(8)]
    store.close()
