"""Realtime's AgentTools offers the same MCP and agent tools as chat once given the session's servers and a
text Runner (the delegate pattern: the realtime model calls a tool, a text agent answers)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from agentcli.events import Event, SubAgentEvent
from agentcli.mcp.servers import open_mcp
from agentcli.models.base import ModelToolCall
from agentcli.realtime.tools import AgentTools
from agentcli.runtime.runner import RunConfig, Runner
from agentcli.sim.server import SimServer
from agentcli.spec.model import AgentSpec, Spec

from .conftest import demo_command


def test_realtime_tools_include_mcp_and_agent_tools(tmp_path: Path) -> None:
    front = AgentSpec.model_validate({
        "name": "front", "tools": [{"agent": "helper"}],
        "mcp_servers": [{"name": "demo", "command": demo_command(), "tools": {"allow": ["add"]}}],
    })
    helper = AgentSpec.model_validate({"name": "helper", "provider": {"max_retries": 0}})
    spec = Spec({"front": front, "helper": helper}, "front", str(tmp_path / "agent.yaml"))
    emitted: list[Event] = []

    async def main() -> tuple[Any, ...]:
        async with SimServer() as sim, open_mcp(spec) as mcp:
            runner = Runner(spec, RunConfig(base_url=sim.base_url, api_key="sim"), mcp=mcp)
            tools = AgentTools(spec, None, mcp=mcp, runner=runner)
            names = sorted(s.name for s in tools.schemas("front"))
            calls = [ModelToolCall("c1", "helper", '{"input": "hi there"}'),
                     ModelToolCall("c2", "add", '{"a": 1, "b": 2}')]
            outcome = await tools.run("front", calls, emitted.append)
            await runner.aclose()
            return names, outcome.outputs

    names, outputs = asyncio.run(main())
    assert names == ["add", "helper"]
    assert outputs == {"c1": "You said: hi there", "c2": "3"}
    nested = [e for e in emitted if isinstance(e, SubAgentEvent)]
    assert nested and {e.call_id for e in nested} == {"c1"}
    started = [e for e in emitted if e.type == "tool_call_started"]
    assert [(e.name, e.server) for e in started] == [("helper", None), ("add", "demo")]
