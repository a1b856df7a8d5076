"""Where the model lives for one run: the spec's provider, or the embedded simulator (--sim)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Endpoint:
    """Overrides for the client (None = the spec's provider settings)."""

    base_url: str | None = None
    api_key: str | None = None
    sim: Any = None  # the in-process SimServer, when --sim


@asynccontextmanager
async def model_endpoint(sim: bool, sim_script: Path | None) -> AsyncIterator[Endpoint]:
    """With --sim (or --sim-script), start the embedded simulator on a free loopback port for this run."""
    if not (sim or sim_script):
        yield Endpoint()
        return
    from agentcli.sim.script import load_script
    from agentcli.sim.server import SimServer

    script = load_script(sim_script) if sim_script else None
    async with SimServer(script=script) as server:
        yield Endpoint(base_url=server.base_url, api_key=server.client_key, sim=server)
