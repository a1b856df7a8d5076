"""The Chat Completions adapter (POST /chat/completions, streamed), for servers without /responses."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from agentcli.events import Usage
from agentcli.models.base import (
    ModelCompleted,
    ModelEvent,
    ModelRequest,
    ModelTextDelta,
    ModelToolCall,
    ToolSchema,
    content_text,
)
from agentcli.models.openai_model import (
    OpenAIModel,
    clean_items,
    common_params,
    dropped,
    dropped_settings,
    field,
    settings_value,
)


def to_messages(instructions: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Neutral items -> chat messages. Consecutive function calls become one assistant message's
    tool_calls (joined to the assistant text just before them, as the API returned them)."""
    messages: list[dict[str, Any]] = []
    if instructions:
        messages.append({"role": "system", "content": instructions})
    for item in clean_items(items):
        kind = item.get("type", "message")
        if kind == "function_call":
            call = {
                "id": item["call_id"],
                "type": "function",
                "function": {"name": item["name"], "arguments": item.get("arguments") or "{}"},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append(
                {"role": "tool", "tool_call_id": item["call_id"], "content": content_text(item.get("output"))}
            )
        elif kind == "message":
            role = item.get("role", "user")
            messages.append({"role": role, "content": content_text(item.get("content"))})
    return messages


def tool_param(tool: ToolSchema) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
    }


def tool_choice_param(choice: str) -> Any:
    if choice in ("auto", "required", "none"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def build_params(request: ModelRequest) -> dict[str, Any]:
    """The keyword arguments of client.chat.completions.create for this request."""
    params: dict[str, Any] = {
        "model": request.model,
        "messages": to_messages(request.instructions, request.items),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    common_params(
        request, params, tool=tool_param, tool_choice=tool_choice_param, max_tokens_key="max_completion_tokens"
    )
    settings = request.settings
    effort = settings_value(settings, "reasoning_effort")
    if effort is not None and "reasoning_effort" not in dropped_settings(request):
        params["reasoning_effort"] = effort
    if request.output_schema is not None:
        params["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": request.output_schema, "strict": False},
        }
    return params


# finish_reason -> the Responses API's incomplete reason, so both adapters report alike
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


class _PendingCall:
    __slots__ = ("id", "name", "arguments")

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.arguments = ""


class ChatCompletionsModel(OpenAIModel):
    async def _open(self, request: ModelRequest) -> Any:
        return await self._post_stream("/chat/completions", build_params(request))

    async def _events(self, wire: Any) -> AsyncIterator[ModelEvent]:
        calls: dict[int, _PendingCall] = {}
        finished = False
        finish_reason = ""
        refusal = ""
        usage = Usage()
        response_id = None
        async for chunk in wire:
            response_id = field(chunk, "id", None) or response_id
            if chunk_usage := field(chunk, "usage", None):
                usage = Usage(
                    input_tokens=int(field(chunk_usage, "prompt_tokens", 0) or 0),
                    output_tokens=int(field(chunk_usage, "completion_tokens", 0) or 0),
                )
            for choice in field(chunk, "choices", None) or []:
                delta = field(choice, "delta", None)
                if delta and (text := field(delta, "content", None)):
                    yield ModelTextDelta(text)
                if delta:
                    refusal += field(delta, "refusal", None) or ""
                for part in (field(delta, "tool_calls", None) or []) if delta else []:
                    pending = calls.setdefault(field(part, "index", None) or 0, _PendingCall())
                    pending.id = field(part, "id", None) or pending.id
                    function = field(part, "function", None)
                    if function is not None:
                        pending.name = field(function, "name", None) or pending.name
                        pending.arguments += field(function, "arguments", None) or ""
                if reason := field(choice, "finish_reason", None):
                    finished = True
                    finish_reason = str(reason)
        if not finished:
            raise dropped(self.url)
        for index in sorted(calls):
            pending = calls[index]
            # Some local servers send no call ids; the history needs one to pair call and output.
            call_id = pending.id or f"call_{uuid.uuid4().hex[:24]}"
            yield ModelToolCall(call_id, pending.name, pending.arguments or "{}")
        status, why = "completed", None
        if refusal:
            status = "refusal"
        elif finish_reason in _INCOMPLETE:
            status, why = "incomplete", _INCOMPLETE[finish_reason]
        yield ModelCompleted(usage=usage, response_id=response_id, status=status, reason=why, refusal=refusal or None)
