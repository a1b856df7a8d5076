"""`agent mcp list SPEC`: start the spec's MCP servers, show each one and the tools its agents would see."""

from __future__ import annotations

import json
from typing import Any

import typer

app = typer.Typer(help="Inspect the MCP servers a spec uses.", no_args_is_help=True)


@app.command("list")
def list_servers(
    spec: str | None = typer.Argument(None, help="Spec file; default $AGENT_SPEC."),
    as_json: bool = typer.Option(False, "--json", help="A JSON list of {agent, server, transport, tools}."),
) -> None:
    """Start the spec's MCP servers (as a chat would), list their tools, stop them. Exit 1 if one fails."""
    from agentcli.cli.common import load_spec_arg, run_async

    loaded = load_spec_arg(spec)
    run_async(_list(loaded, as_json))


async def _list(spec: Any, as_json: bool) -> int:
    from agentcli.mcp.connection import public_url
    from agentcli.mcp.servers import has_mcp, open_mcp

    if not has_mcp(spec):
        if as_json:
            typer.echo("[]")
        else:
            typer.echo("no MCP servers in this spec", err=True)
        return 0
    rows: list[dict[str, Any]] = []
    async with open_mcp(spec) as servers:
        assert servers is not None
        for key, agent in spec.agents.items():
            if not agent.mcp_servers:
                continue
            exposed = servers.tools_for(key, frozenset(_spec_tool_names(agent)))
            for conn in servers.servers_of(key):
                tools = [
                    {"name": name, "server_name": t.remote_name, "description": _first_line(t.description),
                     "approve": t.approve}
                    for name, t in exposed.items() if getattr(t, "conn", None) is conn
                ]
                transport = "stdio" if conn.config.command else "http"
                # argv[0] only, and the URL without credentials or query: either may carry a ${TOKEN}
                target = conn.config.command[0] if conn.config.command else public_url(conn.config.url or "")
                rows.append({"agent": agent.name, "server": conn.name, "transport": transport,
                             "target": target, "tools": tools})
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        typer.echo(f"{row['agent']}: {row['server']} ({row['transport']}: {row['target']}), "
                   f"{len(row['tools'])} tools")
        for tool in row["tools"]:
            renamed = f" (server's name: {tool['server_name']})" if tool["server_name"] != tool["name"] else ""
            ask = " [asks approval]" if tool["approve"] else ""
            typer.echo(f"  {tool['name']}{renamed}{ask}  {tool['description']}")
    return 0


def _spec_tool_names(agent: Any) -> list[str]:
    from agentcli.spec.checks import handoff_tool_name, tool_name

    return [tool_name(t) for t in agent.tools] + [handoff_tool_name(h) for h in agent.handoffs]


def _first_line(text: str) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= 100 else line[:99] + "…"
