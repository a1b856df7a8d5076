"""The realtime Harness (tests/realtime/harness.py) with the session on Gemini Live: the real client
(agentcli/realtime/gemini_model.py) against the simulator's Gemini endpoint, every message both ways
checked against google-genai's types."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from agentcli.app.consumers import EventFanout
from agentcli.app.endpoint import Endpoint
from agentcli.realtime.connection import EventLog
from agentcli.realtime.gemini_wire import validate_message
from agentcli.realtime.providers import gemini_connect
from agentcli.realtime.session import RealtimeSession, SessionOptions
from agentcli.runtime.conversation import Conversation
from agentcli.sim.script import parse_script
from agentcli.sim.server import SimServer
from agentcli.spec.loader import load_spec
from tests.realtime.harness import SPECS, Harness, running

GEMINI_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


class GeminiHarness(Harness):
    def messages(self, direction: str, key: str) -> list[dict[str, Any]]:
        """The messages one way that carry `key` (setup, realtimeInput, serverContent, ...)."""
        return [m[key] for m in self.wire(direction) if key in m]

    def validate_wire(self) -> tuple[int, int]:
        sent, received = self.wire("sent"), self.wire("received")
        for message in sent:
            validate_message(message, "client")
        for message in received:
            validate_message(message, "server")
        assert sent and received
        return len(sent), len(received)


def wire_records(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


@contextlib.asynccontextmanager
async def gemini_harness(
    tmp_path: Path,
    script: dict[str, Any] | None,
    spec: str = "gemini.yaml",
    *,
    sink: Any = "file",
    options: SessionOptions | None = None,
    key: str = "sim",
    route: Any = None,
) -> AsyncIterator[GeminiHarness]:
    loaded = load_spec(str(SPECS / spec))  # an absolute path is taken as it is
    conv = Conversation(items=[], agent=loaded.entry, name="test")
    log_path = tmp_path / "wire.jsonl"
    log = EventLog(str(log_path))
    async with SimServer(parse_script(script)) as sim:
        if route is not None:
            sim.websocket_routes[GEMINI_PATH] = route
        events: list[Any] = []
        fanout = EventFanout([events.append])
        agent = loaded.entry_agent
        model = agent.realtime.gemini.model if agent.realtime.gemini else ""
        connect, url = gemini_connect(agent, Endpoint(sim.base_url, key, sim), model, lambda: conv.items, log)
        session = RealtimeSession(
            loaded, conv, url=url, api_key="", emit=fanout.emit, options=options or SessionOptions(), log=log,
            connect=connect, turn_ids=fanout.ids,
        )  # fmt: skip
        async with running(GeminiHarness(sim, session, log_path, events), sink, tmp_path, log) as h:
            yield h
