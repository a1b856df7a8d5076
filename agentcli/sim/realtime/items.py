"""The simulator's own reading of realtime conversation items (what the script planner takes), written
apart from the client's conversion (agentcli/realtime/items.py) so that a bug on one side is not agreed
on by the other."""

from __future__ import annotations

from typing import Any

# content part types the API accepts in a message item, and which field holds each one's text
TEXT_FIELD = {"input_text": "text", "output_text": "text", "text": "text", "input_audio": "transcript",
              "output_audio": "transcript", "audio": "transcript"}  # fmt: skip


def item_text(item: dict[str, Any]) -> str:
    """The words of a message item: its text parts, or the transcripts of its audio parts."""
    words = []
    for part in item.get("content") or []:
        if not isinstance(part, dict):
            continue
        value = part.get(TEXT_FIELD.get(str(part.get("type")), "text"))
        if isinstance(value, str) and value:
            words.append(value)
    return "\n".join(words)


def planner_item(item: dict[str, Any]) -> dict[str, Any] | None:
    """A realtime item as the planner's history item (agentcli/sim/planner.py); None for other kinds."""
    match item.get("type"):
        case "message":
            return {"type": "message", "role": item.get("role", "user"), "content": item_text(item)}
        case "function_call":
            return {
                "type": "function_call",
                "call_id": item.get("call_id") or item.get("id") or "",
                "name": item.get("name", ""),
                "arguments": item.get("arguments", ""),
            }
        case "function_call_output":
            call_id, output = item.get("call_id", ""), item.get("output", "")
            return {"type": "function_call_output", "call_id": call_id, "output": output}
    return None
