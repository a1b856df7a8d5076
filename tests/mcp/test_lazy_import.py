"""The `mcp` SDK costs seconds to import: only specs with mcp_servers may load it."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT, agent_env

CHECK = """
import sys
{body}
loaded = sorted(m for m in sys.modules if m == "mcp" or m.startswith(("mcp.", "mcp_types")))
print("LOADED:" + ",".join(loaded))
"""


def loaded_after(body: str) -> str:
    r = subprocess.run([sys.executable, "-c", CHECK.format(body=body)], capture_output=True, text=True,
                       cwd=ROOT, env=agent_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.rsplit("LOADED:", 1)[1].strip()


def test_help_and_a_chat_turn_without_mcp_do_not_import_it() -> None:
    body = """
from agentcli.cli.main import app
try:
    app(["--help"])
except SystemExit:
    pass
import asyncio
from agentcli.runtime.runner import RunConfig, Runner
from agentcli.sim.server import SimServer
from agentcli.spec.defaults import default_spec

async def main():
    async with SimServer() as sim:
        runner = Runner(default_spec(), RunConfig(base_url=sim.base_url, api_key="sim"))
        conv = runner.new_conversation()
        events = [e async for e in runner.run_turn(conv, "hi")]
        assert events[-1].status == "ok", events[-1]
        await runner.aclose()

asyncio.run(main())
"""
    assert loaded_after(body) == ""


def test_a_spec_with_servers_does_import_it() -> None:
    body = """
from agentcli.spec.model import AgentSpec, Spec
from agentcli.mcp.servers import McpServers
spec = Spec({"a": AgentSpec.model_validate({"name": "a", "mcp_servers": [{"name": "s", "command": ["x"]}]})},
            "a", None)
McpServers(spec)
"""
    assert "mcp" in loaded_after(body).split(",")
