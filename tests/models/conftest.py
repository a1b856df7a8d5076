"""Run model adapters against the real simulator (agentcli.sim) inside one event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from agentcli.models.base import Model, ModelEvent, ModelRequest
from agentcli.models.factory import make_model
from agentcli.sim.script import parse_script
from agentcli.sim.server import SimServer
from agentcli.spec.model import AgentSpec

T = TypeVar("T")


def agent(api: str = "responses", **provider: Any) -> AgentSpec:
    return AgentSpec.model_validate({"name": "a", "provider": {"api": api, "max_retries": 0, **provider}})


def with_sim(script: dict[str, Any] | None, body: Callable[[SimServer], Awaitable[T]]) -> T:
    async def main() -> T:
        async with SimServer(parse_script(script) if script is not None else None) as sim:
            return await body(sim)

    return asyncio.run(main())


async def collect(model: Model, request: ModelRequest) -> list[ModelEvent]:
    return [e async for e in model.stream(request)]


def sim_model(sim: SimServer, api: str = "responses", **provider: Any) -> Model:
    return make_model(agent(api, **provider), base_url=sim.base_url)
