"""The simulated session's conversation items: create, retrieve, delete, truncate, as the API does."""

from __future__ import annotations

import base64
from typing import Any

from agentcli.sim.realtime.items import planner_item
from agentcli.sim.realtime.vad import RATE


class ClientError(Exception):
    def __init__(self, message: str, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.code, self.param = code, param


class ConversationItems:
    """Mixed into RealtimeSimSession: the handlers of the `conversation.item.*` client events."""

    items: list[dict[str, Any]]
    audio_ms: dict[str, int]
    sim: Any

    def new_id(self, prefix: str) -> str:
        raise NotImplementedError

    async def send(self, event: dict[str, Any]) -> None:
        raise NotImplementedError

    def _find(self, item_id: Any) -> dict[str, Any]:
        for item in self.items:
            if item["id"] == item_id:
                return item
        raise ClientError(f"Conversation item with item_id '{item_id}' not found.", "item_not_found", "item_id")

    async def on_conversation_item_create(self, event: dict[str, Any]) -> None:
        item = event["item"]
        if not isinstance(item, dict) or planner_item(item) is None:
            raise ClientError(
                "Invalid 'item': expected a message, function_call or function_call_output.",
                "invalid_value",
                "item",
            )
        item = {
            **item,
            "id": item.get("id") or self.new_id("item"),
            "object": "realtime.item",
            "status": "completed",
        }
        item, shown = self._heard(item), item
        if item is not shown:  # the audio stays with the simulator: the events show the part without it
            shown = {**item, "content": [{"type": "input_audio", "transcript": None}]}
        previous = event.get("previous_item_id")
        if previous is None or previous == (self.items[-1]["id"] if self.items else None):
            previous = self.items[-1]["id"] if self.items else None
            self.items.append(item)
        elif previous == "root":
            previous = None
            self.items.insert(0, item)
        else:
            self.items.insert(self.items.index(self._find(previous)) + 1, item)
        await self.send({"type": "conversation.item.added", "item": shown, "previous_item_id": previous})
        await self.send({"type": "conversation.item.done", "item": shown, "previous_item_id": previous})

    def _heard(self, item: dict[str, Any]) -> dict[str, Any]:
        """A user message of audio is heard like committed audio: the script's next `hear:` entry. The
        item kept has the words (for the planner) and no audio."""
        parts = item.get("content") if item.get("role") == "user" else None
        audio = [p for p in parts or [] if isinstance(p, dict) and p.get("type") == "input_audio" and p.get("audio")]
        if not audio:
            return item
        try:
            size = sum(len(base64.b64decode(p["audio"], validate=True)) for p in audio)
        except (ValueError, TypeError):
            raise ClientError("Invalid 'item.content.audio': not valid base64.", "invalid_value", "item") from None
        seconds = size / (RATE * 2)
        heard = self.sim.next_heard(f"audio of {seconds:.1f} s") if hasattr(self.sim, "next_heard") else ""
        return {**item, "content": [{"type": "input_audio", "transcript": heard}]}

    async def on_conversation_item_retrieve(self, event: dict[str, Any]) -> None:
        await self.send({"type": "conversation.item.retrieved", "item": self._find(event["item_id"])})

    async def on_conversation_item_delete(self, event: dict[str, Any]) -> None:
        self.items.remove(self._find(event["item_id"]))
        await self.send({"type": "conversation.item.deleted", "item_id": event["item_id"]})

    async def on_conversation_item_truncate(self, event: dict[str, Any]) -> None:
        item = self._find(event["item_id"])
        end_ms, index = event["audio_end_ms"], event["content_index"]
        if item.get("role") != "assistant" or item["id"] not in self.audio_ms:
            raise ClientError("Only assistant messages with audio can be truncated.", "invalid_value", "item_id")
        if not isinstance(index, int) or index != 0:
            raise ClientError(
                "Invalid 'content_index': the item has one content part.", "invalid_value", "content_index"
            )
        if not isinstance(end_ms, int) or end_ms < 0 or end_ms > self.audio_ms[item["id"]]:
            raise ClientError(
                f"Audio content of {self.audio_ms[item['id']]}ms is already shorter than {end_ms}ms",
                "invalid_value",
                "audio_end_ms",
            )
        self.audio_ms[item["id"]] = end_ms
        for part in item.get("content") or []:
            part["transcript"] = ""  # like the API: no text the user did not hear stays in the context
        await self.send(
            {
                "type": "conversation.item.truncated",
                "item_id": item["id"],
                "content_index": 0,
                "audio_end_ms": end_ms,
            }
        )
