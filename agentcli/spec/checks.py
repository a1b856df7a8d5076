"""Checks that span fields: which agent is the entry, and tool names an agent's model would see twice."""

from __future__ import annotations

from agentcli.spec.model import AgentSpec, AgentTool, BuiltinTool, PythonTool, ShellTool
from agentcli.spec.positions import Loc, format_loc

AgentAt = tuple[Loc, AgentSpec]  # an agent and where it sits in its file: () or ("agents", i)


def _where(loc: Loc, agent: AgentSpec) -> str:
    return f"{format_loc(loc)} '{agent.name}'" if loc else f"'{agent.name}'"


def pick_entry(agents: list[AgentAt]) -> tuple[str, list[tuple[Loc, str]]]:
    """The agent with `entry: true`, else the first. More than one `entry: true` is a problem."""
    marked = [(loc, a) for loc, a in agents if a.entry]
    problems = [
        ((*loc, "entry"), f"more than one agent has entry: true (first: {_where(*marked[0])})")
        for loc, _ in marked[1:]
    ]
    return (marked[0][1] if marked else agents[0][1]).name, problems


def tool_name(tool: PythonTool | ShellTool | BuiltinTool | AgentTool) -> str:
    """The name the model calls a tool by."""
    if isinstance(tool, AgentTool):  # after loading, `agent` is the agent's name
        return tool.name or tool.agent
    if isinstance(tool, PythonTool):
        return tool.name or tool.python.rsplit(":", 1)[1]
    if isinstance(tool, ShellTool):
        return tool.shell.name
    return tool.builtin


def handoff_tool_name(agent_name: str) -> str:
    return f"transfer_to_{agent_name}"


def duplicate_tool_names(loc: Loc, agent: AgentSpec) -> list[tuple[Loc, str]]:
    """Tools and handoffs (`transfer_to_<name>`) share one namespace per agent: names must be unique.
    Run after handoffs are rewritten to agent names."""
    named: list[tuple[Loc, str]] = [((*loc, "tools", i), tool_name(t)) for i, t in enumerate(agent.tools)]
    named += [((*loc, "handoffs", i), handoff_tool_name(h)) for i, h in enumerate(agent.handoffs)]
    first: dict[str, Loc] = {}
    problems: list[tuple[Loc, str]] = []
    for where, name in named:
        if name in first:
            problems.append((where, f"duplicate tool name '{name}' (also {format_loc(first[name])})"))
        else:
            first[name] = where
    return problems
