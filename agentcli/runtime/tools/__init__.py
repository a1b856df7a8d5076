"""An agent's tools: python functions, shell commands, builtins and handoffs, behind one call API."""

from agentcli.runtime.tools.base import Approver, Tool, ToolFailed, ToolResult
from agentcli.runtime.tools.toolset import HANDOFF_PREFIX, Toolset, build_tool, build_tools

__all__ = [
    "HANDOFF_PREFIX",
    "Approver",
    "Tool",
    "ToolFailed",
    "ToolResult",
    "Toolset",
    "build_tool",
    "build_tools",
]
