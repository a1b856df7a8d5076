"""Conversation items between the neutral history format (agentcli/models/base.py) and realtime items.

The client replays its history as realtime items after a reconnect; the simulator reads realtime items
back into neutral form to plan its reply. Only text travels: audio is never replayed.
"""

from __future__ import annotations

import json
from typing import Any


def text_of(item: dict[str, Any]) -> str:
    """The text of a realtime message item: text parts, else audio transcripts, joined."""
    parts = item.get("content") or []
    texts = []
    for part in parts:
        if isinstance(part, dict):
            text = part.get("text")
            if text is None:
                text = part.get("transcript")
            if text:
                texts.append(str(text))
    return "\n".join(texts)


def to_neutral(item: dict[str, Any]) -> dict[str, Any] | None:
    """A realtime item as a neutral history item; None for kinds the history does not keep."""
    kind = item.get("type")
    if kind == "message":
        role = item.get("role", "user")
        return {"type": "message", "role": role, "content": text_of(item)}
    if kind == "function_call":
        return {
            "type": "function_call",
            "call_id": item.get("call_id") or item.get("id") or "",
            "name": item.get("name", ""),
            "arguments": item.get("arguments", ""),
        }
    if kind == "function_call_output":
        return {
            "type": "function_call_output",
            "call_id": item.get("call_id", ""),
            "output": item.get("output", ""),
        }
    return None


def to_realtime(item: dict[str, Any]) -> dict[str, Any] | None:
    """A neutral history item as a `conversation.item.create` item (text only); None to skip it."""
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        text = _content_text(item.get("content"))
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


def replayable(items: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The realtime items to recreate a history on a fresh session, each with the history entry it came
    from: messages with text, and only function calls whose output is also there (a call without an
    output would be an open call)."""
    outputs = {i.get("call_id") for i in items if i.get("type") == "function_call_output"}
    calls = {i.get("call_id") for i in items if i.get("type") == "function_call"}
    out: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "function_call" and item.get("call_id") not in outputs:
            continue
        if kind == "function_call_output" and item.get("call_id") not in calls:
            continue
        if kind == "message" and not _content_text(item.get("content")).strip():
            continue
        converted = to_realtime(item)
        if converted is not None:
            out.append((item, converted))
    return out


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text") or p.get("transcript") or "") for p in content if isinstance(p, dict))
    return ""
