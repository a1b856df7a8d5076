"""The harness end to end, quick and agentcli-only (no peer venv): the real scripts, the real simulator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_without_peers_writes_the_table_and_json(tmp_path: Path) -> None:
    # the subprocess timeout bounds the run; how long it takes is not asserted
    proc = subprocess.run([sys.executable, "bench/run.py", "--quick", "--no-peers", "--no-profile", "--only", "1,2",
                           "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    md = (tmp_path / "performance.md").read_text()
    assert "| # | scenario | agentcli | openai-agents | ratio | target | met |" in md
    assert "--no-peers" in md and "python bench/run.py --quick --no-peers" in md
    data = json.loads((tmp_path / "performance.json").read_text())
    rows = {r["name"]: r for r in data["rows"]}
    start = rows["CLI start: `agent --help` vs a script importing the peer"]
    assert start["agentcli"]["median"] > 0 and start["peer"] is None and start["ratio"] is None
    chat = rows["Chat turn, one tool call: in-process overhead (zero latency)"]
    assert chat["agentcli"]["median"] > 0 and chat["met"] is None  # a ratio target needs the peer
    assert not [n for n in data["notes"] if "not measured" in n], data["notes"]
    assert data["machine"]["cores"] >= 1 and data["peer"] is None
