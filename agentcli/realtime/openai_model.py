"""RealtimeModel over the OpenAI Realtime API (GA protocol): client calls become wire events, server JSON
becomes typed events (agentcli/realtime/server_events.py)."""

from __future__ import annotations

import base64
from typing import Any

from agentcli.models.base import ToolSchema
from agentcli.realtime.config import agent_part, session_config
from agentcli.realtime.connection import EventLog, RealtimeConnection, Validator
from agentcli.realtime.items import to_realtime
from agentcli.realtime.model import RealtimeModel, SessionSetup
from agentcli.realtime.server_events import ServerEvent, parse
from agentcli.spec.model import AgentSpec

SESSION_EVENT_PREFIX = "evt_session_"  # event ids of our session.update: an error naming one is fatal


class OpenAIRealtime(RealtimeModel):
    def __init__(self, conn: RealtimeConnection):
        self.conn = conn
        self._updates = 0

    @classmethod
    async def open(
        cls,
        url: str,
        api_key: str,
        *,
        log: EventLog | None = None,
        validate: Validator | None = None,
        api_key_env: str = "OPENAI_API_KEY",
    ) -> OpenAIRealtime:
        conn = await RealtimeConnection.open(url, api_key, log=log, validate=validate, api_key_env=api_key_env)
        return cls(conn)

    async def recv(self) -> ServerEvent | None:
        raw = await self.conn.recv()
        return None if raw is None else parse(raw)

    async def configure(self, setup: SessionSetup) -> None:
        self._updates += 1
        session = session_config(
            setup.agent, setup.tools, settings=setup.settings, text_only=setup.text_only, ptt=setup.ptt
        )
        await self.conn.send(
            {"type": "session.update", "event_id": f"{SESSION_EVENT_PREFIX}{self._updates}", "session": session}
        )

    async def switch_agent(self, agent: AgentSpec, tools: list[ToolSchema]) -> None:
        await self.conn.send({"type": "session.update", "session": agent_part(agent, tools)})

    async def append_audio(self, pcm: bytes) -> None:
        await self.conn.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode("ascii")})

    async def commit_audio(self) -> None:
        await self.conn.send({"type": "input_audio_buffer.commit"})

    async def clear_audio(self) -> None:
        await self.conn.send({"type": "input_audio_buffer.clear"})

    async def add_item(self, item_id: str, entry: dict[str, Any], previous_item_id: str | None = None) -> bool:
        item = to_realtime(entry)
        if item is None:
            return False
        event: dict[str, Any] = {"type": "conversation.item.create", "item": {"id": item_id, **item}}
        if previous_item_id is not None:
            event["previous_item_id"] = previous_item_id
        await self.conn.send(event)
        return True

    async def add_user_audio(self, item_id: str, pcm: bytes) -> None:
        audio = base64.b64encode(pcm).decode("ascii")
        item = {"id": item_id, "type": "message", "role": "user", "content": [{"type": "input_audio", "audio": audio}]}
        await self.conn.send({"type": "conversation.item.create", "item": item})

    async def delete_item(self, item_id: str) -> None:
        await self.conn.send({"type": "conversation.item.delete", "item_id": item_id})

    async def truncate(self, item_id: str, audio_end_ms: int) -> None:
        await self.conn.send(
            {"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": audio_end_ms}
        )

    async def create_response(self) -> None:
        await self.conn.send({"type": "response.create"})

    async def cancel_response(self) -> None:
        await self.conn.send({"type": "response.cancel"})

    async def close(self) -> None:
        await self.conn.close()

    def is_session_error(self, event_id: str | None, param: str | None) -> bool:
        return (event_id or "").startswith(SESSION_EVENT_PREFIX) or (param or "").startswith("session")
