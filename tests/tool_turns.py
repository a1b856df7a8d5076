"""A Runner whose agents call python tools (a quick one, a slow one that runs until cancelled, an agent
tool), for the tests of turns cut off while a tool runs (chat and voice alike)."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Any

from agentcli.runtime.runner import RunConfig, Runner
from agentcli.spec.model import AgentSpec, Spec
from tests.voice.fakes import ToolCallingModel

TOOLS = '''
import asyncio

def quick(key: str = "x") -> str:
    """Answer at once."""
    return f"value of {key}"

async def slow() -> str:
    """Run until cancelled."""
    await asyncio.sleep(3600)
    return "never"
'''


def tool_runner(folder: Path, tool: str, *, sub_tool: str | None = None, answer_delay: float = 0.0) -> Runner:
    """An agent `helper` that calls `tool` once, then answers (`answer_delay` s later); with `sub_tool`,
    `tool` is the agent tool `ask_researcher` whose agent calls `sub_tool`."""
    module = f"tools_{uuid.uuid4().hex[:10]}"  # imports are cached per name
    (folder / f"{module}.py").write_text(textwrap.dedent(TOOLS))
    helper: dict[str, Any] = {"name": "helper", "tools": [{"python": f"{module}:{tool}"}]}
    agents = {"helper": helper}
    if sub_tool is not None:
        helper["tools"] = [{"agent": "researcher", "name": "ask_researcher", "description": "Research."}]
        agents["researcher"] = {"name": "researcher", "tools": [{"python": f"{module}:{sub_tool}"}]}
    spec = Spec({k: AgentSpec.model_validate(a) for k, a in agents.items()}, "helper", str(folder / "agent.yaml"))

    def model(agent: AgentSpec) -> ToolCallingModel:
        if agent.name == "researcher":
            return ToolCallingModel(sub_tool or tool)
        arguments = '{"input": "look it up"}' if sub_tool else "{}"
        return ToolCallingModel("ask_researcher" if sub_tool else tool, arguments, delay=answer_delay)

    return Runner(spec, RunConfig(model_factory=model))


def finishes(events: list[Any], call_id: str) -> list[Any]:
    return [e for e in events if getattr(e, "type", None) == "tool_call_finished" and e.call_id == call_id]
