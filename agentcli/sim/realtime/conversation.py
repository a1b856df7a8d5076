"""The simulated session's conversation items: create, retrieve, delete, truncate, as the API does."""

from __future__ import annotations

from typing import Any

from agentcli.sim.realtime.items import planner_item


class ClientError(Exception):
    def __init__(self, message: str, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.code, self.param = code, param


class ConversationItems:
    """Mixed into RealtimeSimSession: the handlers of the `conversation.item.*` client events."""

    items: list[dict[str, Any]]
    audio_ms: dict[str, int]

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
        previous = event.get("previous_item_id")
        if previous is None or previous == (self.items[-1]["id"] if self.items else None):
            previous = self.items[-1]["id"] if self.items else None
            self.items.append(item)
        elif previous == "root":
            previous = None
            self.items.insert(0, item)
        else:
            self.items.insert(self.items.index(self._find(previous)) + 1, item)
        await self.send({"type": "conversation.item.added", "item": item, "previous_item_id": previous})
        await self.send({"type": "conversation.item.done", "item": item, "previous_item_id": previous})

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
