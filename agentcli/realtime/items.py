"""Neutral history items (agentcli/models/base.py) as OpenAI realtime conversation items.

The client replays its history as realtime items after a reconnect or on a resumed --session. Only text
travels: audio is never replayed. (The simulator has its own reading of items: agentcli/sim/realtime/.)
"""

from __future__ import annotations

import json
from typing import Any

from agentcli.models.base import content_text


def to_realtime(item: dict[str, Any]) -> dict[str, Any] | None:
    """A neutral history item as a `conversation.item.create` item (text only); None to skip it."""
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        text = content_text(item.get("content"))
        if role == "user":
            return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
        if role == "assistant":
            return {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text}],
            }
        if role == "system":
            return {"type": "message", "role": "system", "content": [{"type": "input_text", "text": text}]}
        return None
    if kind == "function_call":
        return {
            "type": "function_call",
            "call_id": str(item.get("call_id", "")),
            "name": str(item.get("name", "")),
            "arguments": str(item.get("arguments", "")),
        }
    if kind == "function_call_output":
        output = item.get("output", "")
        return {
            "type": "function_call_output",
            "call_id": str(item.get("call_id", "")),
            "output": output if isinstance(output, str) else json.dumps(output),
        }
    return None


def replay_entries(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history entries that recreate a history on a fresh session: messages with text, and only
    function calls whose output is also there (a call without an output would be an open call)."""
    outputs = {i.get("call_id") for i in items if i.get("type") == "function_call_output"}
    calls = {i.get("call_id") for i in items if i.get("type") == "function_call"}
    out: list[dict[str, Any]] = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "function_call" and item.get("call_id") not in outputs:
            continue
        if kind == "function_call_output" and item.get("call_id") not in calls:
            continue
        if kind == "message" and not content_text(item.get("content")).strip():
            continue
        if to_realtime(item) is not None:
            out.append(item)
    return out


def replayable(items: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each entry to replay with its realtime item."""
    return [(entry, item) for entry in replay_entries(items) if (item := to_realtime(entry)) is not None]

