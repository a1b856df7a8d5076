"""MCP servers as tool sources. This package's own modules import the `mcp` SDK (seconds to import) only
in `connection.py`, which is loaded when a spec has `mcp_servers`: `agent --help` never pays for it."""

from agentcli.errors import AgentCliError


class McpServerError(AgentCliError):
    """An MCP server failed to start (one line naming it, and its stderr's last line): exit 1."""
