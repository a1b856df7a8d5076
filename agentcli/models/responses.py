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
from agentcli.models.families import is_reasoning
from agentcli.models.openai_model import (
    OpenAIModel,
    clean_items,
    common_params,
    dropped,
    dropped_settings,
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
        "input": clean_items(_own_reasoning(request.items, request.model)),
        "stream": True,
        "store": False,  # we send the whole history each time; nothing needs keeping server-side
    }
    if is_reasoning(request.model):
        # nothing is stored, so the reasoning comes back encrypted and is passed back with the calls
        params["include"] = ["reasoning.encrypted_content"]
    if request.instructions:
        params["instructions"] = request.instructions
    common_params(request, params, tool=tool_param, tool_choice=tool_choice_param, max_tokens_key="max_output_tokens")
    settings = request.settings
    effort = settings_value(settings, "reasoning_effort")
    if effort is not None and "reasoning_effort" not in dropped_settings(request):
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


def _own_reasoning(items: list[dict[str, Any]], model: str) -> list[dict[str, Any]]:
    """The items without reasoning that another model made (after a handoff or --model change): a model
    can only read its own encrypted reasoning."""
    return [i for i in items if i.get("type") != "reasoning" or i.get("_model") in (None, model)]


def reasoning_item(item: Any, model: str) -> dict[str, Any]:
    """A reasoning output item as an input item (the fields the API takes back), tagged with its model."""
    out: dict[str, Any] = {"type": "reasoning", "id": field(item, "id", ""), "summary": field(item, "summary", [])}
    if encrypted := field(item, "encrypted_content", None):
        out["encrypted_content"] = encrypted
    out["_model"] = model
    return out


def usage_of(response: Any) -> Usage:
    usage = field(response, "usage", None)
    return Usage(
        input_tokens=int(field(usage, "input_tokens", 0) or 0),
        output_tokens=int(field(usage, "output_tokens", 0) or 0),
    )


def tool_call(item: Any) -> ModelToolCall:
    return ModelToolCall(field(item, "call_id", ""), field(item, "name", ""), field(item, "arguments") or "{}")


class ResponsesModel(OpenAIModel):
    _model_in_flight = ""

    async def _open(self, request: ModelRequest) -> Any:
        self._model_in_flight = request.model
        return await self._post_stream("/responses", build_params(request))

    async def _events(self, wire: Any) -> AsyncIterator[ModelEvent]:
        seen_calls: set[str] = set()
        got_text = False
        refusal = ""
        reasoning: dict[str, dict[str, Any]] = {}
        async for event in wire:
            kind = field(event, "type", "")
            if kind == "response.output_text.delta":
                if delta := field(event, "delta"):
                    got_text = True
                    yield ModelTextDelta(delta)
            elif kind == "response.refusal.delta":
                refusal += field(event, "delta", "") or ""
            elif kind == "response.output_item.done":
                item = field(event, "item", {})
                item_type = field(item, "type", "")
                if item_type == "function_call" and field(item, "call_id") not in seen_calls:
                    seen_calls.add(field(item, "call_id"))
                    yield tool_call(item)
                elif item_type == "reasoning":
                    reasoning[field(item, "id", "")] = reasoning_item(item, self._model_in_flight)
            elif kind in ("response.completed", "response.incomplete"):
                response = field(event, "response", {})
                # Servers that skip the per-item events still list everything in the final response.
                for item in field(response, "output", None) or []:
                    item_type = field(item, "type", "")
                    if item_type == "function_call" and field(item, "call_id") not in seen_calls:
                        seen_calls.add(field(item, "call_id"))
                        yield tool_call(item)
                    elif item_type == "reasoning" and field(item, "id", "") not in reasoning:
                        reasoning[field(item, "id", "")] = reasoning_item(item, self._model_in_flight)
                    elif item_type == "message":
                        parts = field(item, "content", []) or []
                        if not refusal:
                            refusal = "".join(field(p, "refusal", "") or "" for p in parts
                                              if field(p, "type", "") == "refusal")
                        text = "".join(field(p, "text", "") or "" for p in parts)
                        if text and not got_text:
                            got_text = True
                            yield ModelTextDelta(text)
                status, reason = "completed", None
                if refusal:
                    status = "refusal"
                elif kind == "response.incomplete" or field(response, "status", "") == "incomplete":
                    status = "incomplete"
                    reason = field(field(response, "incomplete_details", {}), "reason", None) or "unknown"
                yield ModelCompleted(
                    usage=usage_of(response),
                    response_id=field(response, "id", None),
                    status=status,
                    reason=reason,
                    refusal=refusal or None,
                    reasoning=list(reasoning.values()),
                )
                return
            elif kind == "response.failed":
                error = field(field(event, "response", {}), "error", None)
                message = field(error, "message", None) or "the response failed"
                code = field(error, "code", None)
                detail = f"{message} ({code})" if code and code not in message else message
                raise ModelError(f"{self.url} failed the response: {' '.join(str(detail).split())}")
            elif kind == "error":
                inner = field(event, "error", None)
                message = field(event, "message", None) or field(inner, "message", None) or "error event"
                raise ModelError(f"{self.url} failed mid-answer: {' '.join(str(message).split())}")
        raise dropped(self.url)
