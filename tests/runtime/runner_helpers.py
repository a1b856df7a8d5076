"""Drive the Runner against the real simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from agentcli.events import Event
from agentcli.runtime.conversation import Conversation
from agentcli.runtime.runner import RunConfig, Runner
from agentcli.sim.script import parse_script
from agentcli.sim.server import SimServer

from .conftest import make_spec

T = TypeVar("T")


def spec_for(folder: Path, api: str, *agents: dict[str, Any]):  # type: ignore[no-untyped-def]
    """A spec whose agents all talk `api` to the simulator (no SDK retries unless asked)."""
    with_api = [{**a, "provider": {"api": api, "max_retries": 0, **a.get("provider", {})}} for a in agents]
    return make_spec(folder, *with_api)


def in_sim(script: dict[str, Any] | None, body: Callable[[SimServer], Awaitable[T]]) -> T:
    async def main() -> T:
        async with SimServer(parse_script(script) if script is not None else None) as sim:
            return await body(sim)

    return asyncio.run(main())


def runner_for(spec, sim: SimServer, **config: Any) -> Runner:  # type: ignore[no-untyped-def]
    return Runner(spec, RunConfig(base_url=sim.base_url, **config))


async def turn(runner: Runner, conv: Conversation, text: str) -> list[Event]:
    return [e async for e in runner.run_turn(conv, text)]


def kinds(events: list[Event]) -> list[str]:
    """Event types with consecutive text deltas collapsed into one "text_delta*"."""
    out: list[str] = []
    for e in events:
        name = "text_delta*" if e.type == "text_delta" else e.type
        if not (out and out[-1] == name == "text_delta*"):
            out.append(name)
    return out


def last(events: list[Event], kind: str) -> Any:
    return [e for e in events if e.type == kind][-1]
