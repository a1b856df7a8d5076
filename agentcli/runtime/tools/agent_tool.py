"""`agent: researcher` tools: another agent answers the model's question as a sub-run with its own tools,
guardrails and model; its final output is the tool's result. The Runner binds how a sub-run is made."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from agentcli.runtime.tools.base import Tool, ToolFailed
from agentcli.spec.model import AgentTool, Spec

if TYPE_CHECKING:
    from agentcli.mcp.servers import McpServers
    from agentcli.runtime.tools.toolset import Toolset

# (tool, input text) -> the sub-agent's final output as text; raises ToolFailed
SubRun = Callable[["AgentAsTool", str], Awaitable[str]]


class AgentAsTool(Tool):
    def __init__(self, spec: Spec, tool: AgentTool):
        target = spec.agents.get(tool.agent)
        if target is None:
            from agentcli.errors import ToolError

            raise ToolError(f"agent tool {tool.agent!r} is not loaded")
        self.agent_key = tool.agent
        self.name = tool.name or target.name
        self.description = tool.description or target.handoff_description or f"Ask {target.name}."
        self.parameters: dict[str, Any] = {
            "type": "object",
            "properties": {"input": {"type": "string", "description": f"what to ask {target.name}"}},
            "required": ["input"],
            "additionalProperties": False,
        }
        self.approve = tool.approve
        self.timeout = None
        self.max_turns = tool.max_turns
        self.sub_run: SubRun | None = None  # set by the Runner that owns the toolset

    async def run(self, arguments: dict[str, Any]) -> str:
        text = arguments.get("input")
        if not isinstance(text, str) or not text.strip():
            raise ToolFailed("input must be a non-empty string")
        if self.sub_run is None:
            raise ToolFailed(f"agent tool {self.name} is not bound to a runner")
        return await self.sub_run(self, text)


def bind_toolsets(
    spec: Spec, toolsets: dict[str, Toolset], *, mcp: McpServers | None = None,
    sub_run: SubRun | None = None,
) -> None:
    """Give toolsets built by build_tools what their agent and MCP tools need: `sub_run` (a Runner's) for
    `agent:` tools, the started `mcp` servers' tools for agents with `mcp_servers`. Realtime's AgentTools
    uses it too, so both paths offer the same tools."""
    for key, toolset in toolsets.items():
        if sub_run is not None:
            for tool in toolset.tools.values():
                if isinstance(tool, AgentAsTool):
                    tool.sub_run = sub_run
        if mcp is not None and spec.agents[key].mcp_servers:
            reserved = frozenset(toolset.tools) | frozenset(toolset.handoffs)
            toolset.extra = lambda k=key, r=reserved: mcp.tools_for(k, r)
