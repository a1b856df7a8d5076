"""The Responses API adapter (POST /responses, streamed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from agentcli.errors import ModelError
from agentcli.events import Usage
from agentcli.models.base import (
    ModelCompleted,
    ModelEvent,
    ModelRequest,
    ModelTextDelta,
    ModelToolCall,
    ToolSchema,
)
from agentcli.models.openai_model import (
    OpenAIModel,
    clean_items,
    common_params,
    dropped,
    field,
    settings_value,
)


def tool_param(tool: ToolSchema) -> dict[str, Any]:
    return {
        "type": "function",
        "name": tool.name,
        "description": tool.description,
        "parameters": tool.parameters,
        "strict": False,
    }


def tool_choice_param(choice: str) -> Any:
    if choice in ("auto", "required", "none"):
        return choice
    return {"type": "function", "name": choice}


def build_params(request: ModelRequest) -> dict[str, Any]:
    """The keyword arguments of client.responses.create for this request."""
    params: dict[str, Any] = {
        "model": request.model,
        "input": clean_items(request.items),
        "stream": True,
        "store": False,  # we send the whole history each time; nothing needs keeping server-side
    }
    if request.instructions:
        params["instructions"] = request.instructions
    common_params(request, params, tool=tool_param, tool_choice=tool_choice_param, max_tokens_key="max_output_tokens")
    settings = request.settings
    if (effort := settings_value(settings, "reasoning_effort")) is not None:
        params["reasoning"] = {"effort": effort}
    if request.output_schema is not None:
        params["text"] = {
            "format": {
                "type": "json_schema",
                "name": "output",
                "schema": request.output_schema,
                "strict": False,
            }
        }
    return params


def usage_of(response: Any) -> Usage:
    usage = field(response, "usage", None)
    return Usage(
        input_tokens=int(field(usage, "input_tokens", 0) or 0),
        output_tokens=int(field(usage, "output_tokens", 0) or 0),
    )


def tool_call(item: Any) -> ModelToolCall:
    return ModelToolCall(field(item, "call_id", ""), field(item, "name", ""), field(item, "arguments") or "{}")


class ResponsesModel(OpenAIModel):
    async def _open(self, request: ModelRequest) -> Any:
        return await self._post_stream("/responses", build_params(request))

    async def _events(self, wire: Any) -> AsyncIterator[ModelEvent]:
        seen_calls: set[str] = set()
        got_text = False
        async for event in wire:
            kind = field(event, "type", "")
            if kind == "response.output_text.delta":
                if delta := field(event, "delta"):
                    got_text = True
                    yield ModelTextDelta(delta)
            elif kind == "response.output_item.done":
                item = field(event, "item", {})
                if field(item, "type", "") == "function_call" and field(item, "call_id") not in seen_calls:
                    seen_calls.add(field(item, "call_id"))
                    yield tool_call(item)
            elif kind in ("response.completed", "response.incomplete"):
                response = field(event, "response", {})
                # Servers that skip the per-item events still list everything in the final response.
                for item in field(response, "output", None) or []:
                    item_type = field(item, "type", "")
                    if item_type == "function_call" and field(item, "call_id") not in seen_calls:
                        seen_calls.add(field(item, "call_id"))
                        yield tool_call(item)
                    elif item_type == "message" and not got_text:
                        text = "".join(
                            field(p, "text", "") or "" for p in field(item, "content", []) or []
                        )
                        if text:
                            yield ModelTextDelta(text)
                yield ModelCompleted(usage=usage_of(response), response_id=field(response, "id", None))
                return
            elif kind == "response.failed":
                error = field(field(event, "response", {}), "error", None)
                message = field(error, "message", None) or "the response failed"
                raise ModelError(f"{self.url} failed the response: {' '.join(str(message).split())}")
            elif kind == "error":
                message = field(event, "message", None) or "error event in the stream"
                raise ModelError(f"{self.url} failed mid-answer: {' '.join(str(message).split())}")
        raise dropped(self.url)
