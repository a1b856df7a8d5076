"""An agent's tools: its spec tools plus one `transfer_to_<agent>` tool per handoff.

Calling a tool never raises for the tool's own failures: the model gets "error: ..." and the run goes on.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from agentcli.errors import ToolError
from agentcli.models.base import ToolSchema
from agentcli.runtime.tools.base import Approver, Tool, ToolFailed, ToolResult
from agentcli.runtime.tools.builtins import CurrentTimeTool, ReadFileTool
from agentcli.runtime.tools.python_tool import PythonFunctionTool
from agentcli.runtime.tools.shell import ShellCommandTool
from agentcli.spec.model import AgentSpec, BuiltinTool, PythonTool, ShellTool, Spec, ToolSpec

HANDOFF_PREFIX = "transfer_to_"


def build_tool(tool: ToolSpec, base_dir: str) -> Tool:
    if isinstance(tool, PythonTool):
        return PythonFunctionTool.from_ref(
            tool.python,
            base_dir,
            name=tool.name,
            description=tool.description,
            approve=tool.approve,
            timeout=tool.timeout,
        )
    if isinstance(tool, ShellTool):
        return ShellCommandTool(tool.shell, base_dir, approve=tool.approve)
    if isinstance(tool, BuiltinTool):
        if tool.builtin == "current_time":
            return CurrentTimeTool(approve=tool.approve)
        return ReadFileTool(tool.root or ".", base_dir, approve=tool.approve)
    raise ToolError(f"unknown tool kind: {tool!r}")


def _tool_loc(tool: ToolSpec, i: int) -> tuple[str | int, ...]:
    """The spec field a tool's build error comes from."""
    if isinstance(tool, PythonTool):
        return ("tools", i, "python")
    if isinstance(tool, BuiltinTool) and tool.builtin == "read_file":
        return ("tools", i, "root")
    if isinstance(tool, ShellTool):
        return ("tools", i, "shell", "command")
    return ("tools", i)


def agent_base_dir(spec: Spec, agent: AgentSpec) -> str:
    """The folder the agent's relative paths resolve against: its own spec file's, after a handoff
    to another file (Spec.base_dir_for), else the spec's."""
    base_dir_for = getattr(spec, "base_dir_for", None)
    return base_dir_for(agent.name) if base_dir_for is not None else spec.base_dir


def build_tools(spec: Spec, agent: AgentSpec) -> Toolset:
    """The agent's Toolset. Raises ToolError (naming the tool) when one cannot be built."""
    from agentcli.runtime.tools.agent_tool import AgentAsTool
    from agentcli.spec.model import AgentTool

    base_dir = agent_base_dir(spec, agent)
    tools: list[Tool] = []
    for i, tool in enumerate(agent.tools):
        try:
            tools.append(AgentAsTool(spec, tool) if isinstance(tool, AgentTool) else build_tool(tool, base_dir))
        except ToolError as e:  # point at the spec line, as spec errors do
            raise ToolError(agent.where(_tool_loc(tool, i), str(e))) from None
    handoffs: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    for key in agent.handoffs:
        target = spec.agents.get(key)
        if target is None:
            raise ToolError(f"agent {agent.name}: handoff target {key!r} is not loaded")
        tool_name = HANDOFF_PREFIX + target.name
        handoffs[tool_name] = key
        descriptions[tool_name] = (
            target.handoff_description or f"Hand the conversation over to {target.name}."
        )
    try:
        return Toolset(tools, handoffs, descriptions)
    except ToolError as e:  # two tools named alike: point at the agent's tools
        raise ToolError(agent.where(("tools",), str(e))) from None


class Toolset:
    def __init__(
        self,
        tools: list[Tool],
        handoffs: dict[str, str] | None = None,
        handoff_descriptions: dict[str, str] | None = None,
    ):
        self.tools: dict[str, Tool] = {}
        for tool in tools:
            if tool.name in self.tools:
                raise ToolError(f"two tools are named {tool.name!r}; give one a `name:`")
            self.tools[tool.name] = tool
        self.handoffs = dict(handoffs or {})  # tool name -> key of the target in spec.agents
        self._handoff_descriptions = dict(handoff_descriptions or {})
        clash = set(self.tools) & set(self.handoffs)
        if clash:
            raise ToolError(f"tool name {sorted(clash)[0]!r} clashes with a handoff")
        self.extra: Callable[[], dict[str, Tool]] | None = None  # tools that may change mid-session (MCP)

    def current(self) -> dict[str, Tool]:
        """The tools callable now: the spec's, then any `extra` ones (named apart by their source)."""
        return {**self.extra(), **self.tools} if self.extra is not None else self.tools

    def schemas(self) -> list[ToolSchema]:
        out = [ToolSchema(t.name, t.description, t.parameters) for t in self.current().values()]
        for name in self.handoffs:
            out.append(
                ToolSchema(
                    name,
                    self._handoff_descriptions.get(name, ""),
                    {"type": "object", "properties": {}, "required": [], "additionalProperties": False},
                )
            )
        return out

    def handoff_target(self, tool_name: str) -> str | None:
        """The spec.agents key a `transfer_to_<x>` call hands over to; None for ordinary tools."""
        return self.handoffs.get(tool_name)

    def needs_approval(self, tool_name: str) -> bool:
        tool = self.current().get(tool_name)
        return bool(tool and tool.approve)

    async def call(self, tool_name: str, arguments_json: str, approver: Approver | None = None) -> ToolResult:
        """Run one tool call. Failures, timeouts and refusals come back as a ToolResult, not raised."""
        tool = self.current().get(tool_name)
        if tool is None:
            return _failed(f"there is no tool named {tool_name!r}")
        try:
            arguments = json.loads(arguments_json) if arguments_json.strip() else {}
        except json.JSONDecodeError as e:
            return _failed(f"arguments are not valid JSON: {e.msg}")
        if not isinstance(arguments, dict):
            return _failed("arguments must be a JSON object")

        approved: bool | None = None
        if tool.approve:
            approved = await _ask(approver, tool_name, arguments_json)
            if not approved:
                return ToolResult(output=f"the user did not approve running {tool_name}", approved=False)

        try:
            if tool.timeout:
                output = await asyncio.wait_for(tool.run(arguments), tool.timeout)
            else:
                output = await tool.run(arguments)
        except TimeoutError:
            return _failed(f"{tool_name} timed out after {tool.timeout:g}s", approved)
        except ToolFailed as e:
            return _failed(str(e), approved)
        except Exception as e:  # the tool's own bug: report it to the model, keep the run going
            return _failed(f"{type(e).__name__}: {e}", approved)
        return ToolResult(output=output, approved=approved)


async def _ask(approver: Approver | None, tool_name: str, arguments_json: str) -> bool:
    if approver is None:
        return False
    try:
        return bool(await approver(tool_name, arguments_json))
    except Exception:  # an approver that cannot ask (no TTY) is a refusal, not a crash
        return False


def _failed(message: str, approved: bool | None = None) -> ToolResult:
    message = " ".join(message.split()) or "failed"
    return ToolResult(output=f"error: {message}", error=message, approved=approved)
