"""One conversation: the neutral history items (models/base.py) plus which agent holds it."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def auto_session_name(when: datetime | None = None, kind: str = "chat") -> str:
    """A name for an unnamed conversation, like "chat-20261121-101530-ab12" (kind: chat, voice, realtime)."""
    stamp = (when or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return f"{kind}-{stamp}-{secrets.token_hex(2)}"


@dataclass
class Conversation:
    items: list[dict[str, Any]] = field(default_factory=list)
    agent: str = ""  # the current agent's name (persists after a handoff)
    name: str | None = None  # session name
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    turns: int = 0  # user turns so far
    # what the conversation store last held of it (runtime/conversations.py): lets a save append, not overwrite
    stored: Any = field(default=None, init=False, repr=False, compare=False)
