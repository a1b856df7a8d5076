"""The provider-neutral seam: one live connection to a realtime speech model.

RealtimeSession (agentcli/realtime/session.py) talks to a model only through this: audio in, a few
conversation operations, typed server events out (agentcli/realtime/server_events.py). OpenAI's
Realtime API is the first implementation (agentcli/realtime/openai_model.py); another provider plugs in
by translating its own wire to and from these calls and events.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agentcli.models.base import ToolSchema
from agentcli.realtime.server_events import ServerEvent
from agentcli.spec.model import AgentSpec, RealtimeSettings


@dataclass
class SessionSetup:
    """What the model is configured with at connect time (and, agent part only, on a handoff)."""

    agent: AgentSpec
    tools: list[ToolSchema]
    settings: RealtimeSettings  # the session's audio settings: the entry agent's, kept across handoffs
    text_only: bool = False
    ptt: bool = False


class RealtimeModel(ABC):
    """One connection. Sends raise agentcli.realtime.connection.ConnectionLost once the socket is gone."""

    # The server leaves interruptions to the client (OpenAI: `interrupt_response: false`): speech over an
    # answer pauses it, and only speech long enough cancels it (agentcli/realtime/interrupting.py). False:
    # the server cuts its answer itself when it hears speech, and the client stops playback there.
    client_interrupts: bool = True

    restores_context = False  # a resumed server session (Gemini's resumption handle): nothing to replay

    @abstractmethod
    async def recv(self) -> ServerEvent | None:
        """The next server event; None after close(); ConnectionLost when the connection dropped."""

    @abstractmethod
    async def configure(self, setup: SessionSetup) -> None:
        """The whole session: voice, audio formats, turn detection, the agent's instructions and tools."""

    @abstractmethod
    async def switch_agent(self, agent: AgentSpec, tools: list[ToolSchema]) -> None:
        """A handoff: another agent's instructions and tools; the voice stays."""

    @abstractmethod
    async def append_audio(self, pcm: bytes) -> None:
        """One block of microphone audio (24 kHz pcm16 mono)."""

    @abstractmethod
    async def commit_audio(self) -> None:
        """Manual turns: the buffered audio is the user's turn."""

    @abstractmethod
    async def clear_audio(self) -> None: ...

    @abstractmethod
    async def add_item(self, item_id: str, entry: dict[str, Any], previous_item_id: str | None = None) -> bool:
        """Recreate a neutral history entry (agentcli/models/base.py) as a conversation item, text only;
        False when the entry has no form on this model (nothing sent)."""

    @abstractmethod
    async def add_user_audio(self, item_id: str, pcm: bytes) -> None:
        """A user message made of audio (a question to ask again that was never transcribed)."""

    @abstractmethod
    async def delete_item(self, item_id: str) -> None: ...

    @abstractmethod
    async def truncate(self, item_id: str, audio_end_ms: int) -> None:
        """The user heard only `audio_end_ms` of an answer: the model forgets the rest."""

    @abstractmethod
    async def create_response(self) -> bool | None:
        """Ask for an answer; False when none will come of it (a provider that answers input on its own,
        like Gemini Live, had nothing left to answer)."""

    @abstractmethod
    async def cancel_response(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    def is_session_error(self, event_id: str | None, param: str | None) -> bool:
        """Whether a server error refused the session's configuration (fatal) rather than one request."""
        return False


Connect = Callable[[], Awaitable[RealtimeModel]]
