"""A realtime session (the real client against the in-process simulator) given the session's MCP servers
and a text Runner: the realtime model delegates to a text agent through an `agent:` tool and the answer is
spoken; an MCP server's list_changed is offered again with a session.update."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentcli import events as ev
from agentcli.mcp.servers import open_mcp
from agentcli.runtime.runner import RunConfig, Runner
from agentcli.spec.loader import load_spec
from tests.realtime.harness import harness

from .conftest import demo_command

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

SCRIPT = {"hear": ["ask the helper"], "turns": [
    {"match": "ask the helper", "reply": [
        {"tool_call": {"name": "helper", "arguments": {"input": "what time is it"}}},
        {"text": "Helper says: {tool_output}"},
    ]},
    {"match": "what time", "reply": [{"text": "It is noon"}]},
]}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_realtime_delegates_to_a_text_agent_and_refreshes_mcp_tools(tmp_path: Path) -> None:
    spec_path = tmp_path / "rt.yaml"
    spec_path.write_text(yaml.safe_dump({"agents": [
        {"name": "front", "entry": True, "tools": [{"agent": "helper"}],
         "realtime": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 300}},
         "mcp_servers": [{"name": "demo", "command": demo_command(), "tools": {"allow": ["grow", "late"]}}]},
        {"name": "helper", "provider": {"max_retries": 0}},
    ]}))
    spec = load_spec(str(spec_path))
    async with open_mcp(spec) as mcp:
        runners: list[Runner] = []

        def wiring(sim: Any) -> dict[str, Any]:
            runners.append(Runner(spec, RunConfig(base_url=sim.base_url, api_key="sim"), mcp=mcp))
            return {"mcp": mcp, "runner": runners[0]}

        async with harness(tmp_path, SCRIPT, str(spec_path), session_kwargs=wiring) as h:
            first_update = h.sent("session.update")[0]
            assert sorted(t["name"] for t in first_update["session"]["tools"]) == ["grow", "helper"]
            await h.say()
            done = await h.turn_done(1, timeout=20)
            assert done.output == "Helper says: It is noon"
            nested = h.of(ev.SubAgentEvent)
            assert nested and any(e.event.type == "generation_done" for e in nested)

            result = await h.session.tools.toolsets["front"].call("grow", "{}")
            assert result.output == "grew"

            def offered_late() -> bool:
                return any("late" in json.dumps(u["session"].get("tools", [])) for u in h.sent("session.update"))

            await h.wait_for(offered_late, timeout=20)
        for runner in runners:
            await runner.aclose()
