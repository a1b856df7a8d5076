"""The realtime simulator's script-level faults, through the real command: `incomplete:` ends the response
`incomplete` with its reason (the partial text kept), `failed:` fails it with the script's message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from agentcli.realtime.protocol import validate_server_event
from tests.conftest import agent_env, run_agent

pytestmark = pytest.mark.e2e
SPEC = Path(__file__).parent / "specs" / "realtime.yaml"


def test_incomplete_and_failed_responses_from_the_script(tmp_path: Path) -> None:
    script = tmp_path / "s.yaml"
    script.write_text(yaml.safe_dump({"turns": [
        {"match": "long", "reply": [{"text": "The first half of", "incomplete": {"reason": "max_output_tokens"}}]},
        {"match": "crash", "reply": [{"failed": {"message": "The model crashed.", "code": "server_error"}}]},
    ]}))
    log = tmp_path / "wire.jsonl"
    env = agent_env(AGENT_REALTIME_LOG=str(log))
    r = run_agent("voice", str(SPEC), "--realtime", "--text-only", "--sim-script", str(script), "--jsonl",
                  input="tell me something long\nnow crash\n", timeout=60, env=env)
    assert "Traceback" not in r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    done = [e for e in events if e["type"] == "turn_done"]
    assert done[0]["status"] == "incomplete" and done[0]["output"] == "The first half of"
    assert "max_output_tokens" in (done[0]["error"] or "")
    failed = [e for e in events if e["type"] == "realtime_response_done" and e["status"] == "failed"]
    assert failed, [e["type"] for e in events]
    assert "The model crashed." in json.dumps(events) + r.stderr  # the real message, not "failed: failed"
    # what the simulator sent validates against the openai package's types, unknown keys forbidden
    received = [json.loads(line) for line in log.read_text().splitlines()]
    ends = [e["event"] for e in received if e["dir"] == "received" and e["event"]["type"] == "response.done"]
    assert {e["response"]["status"] for e in ends} >= {"incomplete", "failed"}
    for event in ends:
        validate_server_event(event)
