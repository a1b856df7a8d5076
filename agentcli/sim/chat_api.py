"""POST /v1/chat/completions: Chat Completions, streamed (chunks, then [DONE]) or not."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from agentcli.sim.http import HttpError, Request, Responder
from agentcli.sim.planner import PlannedText, count_tokens, item_text, json_pieces, plan_reply, text_pieces

if TYPE_CHECKING:
    from agentcli.sim.server import SimServer


def message_items(messages: Any) -> list[dict[str, Any]]:
    """Chat `messages` as neutral conversation items (system/developer kept, but never matched)."""
    if not isinstance(messages, list):
        raise HttpError(
            400,
            "Missing required parameter: 'messages'.",
            param="messages",
            code="missing_required_parameter",
        )
    items: list[dict[str, Any]] = []
    for m in messages:
        if not isinstance(m, dict):
            raise HttpError(400, "Invalid 'messages': each message must be an object.", param="messages")
        role = m.get("role")
        text = item_text({"content": m.get("content") or ""})
        if role in ("system", "developer", "user"):
            items.append({"type": "message", "role": role, "content": text})
        elif role == "assistant":
            if text:
                items.append({"type": "message", "role": "assistant", "content": text})
            for call in m.get("tool_calls") or []:
                fn = call.get("function") or {}
                items.append(
                    {
                        "type": "function_call",
                        "call_id": call.get("id", ""),
                        "name": fn.get("name", ""),
                        "arguments": fn.get("arguments", ""),
                    }
                )
        elif role in ("tool", "function"):
            items.append({"type": "function_call_output", "call_id": m.get("tool_call_id", ""), "output": text})
        else:
            raise HttpError(400, f"Invalid value for 'messages.role': '{role}'.", param="messages")
    return items


def _output_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else {}
    return None


def usage_obj(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


async def handle_chat(sim: SimServer, request: Request, responder: Responder, body: dict[str, Any]) -> None:
    if not body.get("model"):
        raise HttpError(400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
    conversation = message_items(body.get("messages"))
    plans = plan_reply(sim.script, conversation, _output_schema(body))
    text = "".join(p.text for p in plans if isinstance(p, PlannedText))
    calls = [c for p in plans if not isinstance(p, PlannedText) for c in p.calls]
    prompt_tokens = sum(count_tokens(item_text(i)) for i in conversation)
    completion_tokens = count_tokens(text) + sum(count_tokens(f"{c.name} {c.arguments}") for c in calls)
    usage = usage_obj(prompt_tokens, completion_tokens)
    finish = "tool_calls" if calls else "stop"
    base = {
        "id": sim.next_id("chatcmpl", "-"),
        "created": int(time.time()),
        "model": body["model"],
        "service_tier": "default",
        "system_fingerprint": None,
    }
    first_token_s = sim.latency_ms("first_token_ms") / 1000
    if not body.get("stream"):
        message: dict[str, Any] = {
            "role": "assistant",
            "content": text if not calls else (text or None),
            "refusal": None,
            "annotations": [],
        }
        if calls:
            message["tool_calls"] = [
                {"id": c.call_id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in calls
            ]
        if first_token_s:
            await asyncio.sleep(first_token_s)
        await responder.send_json(
            200,
            {
                **base,
                "object": "chat.completion",
                "usage": usage,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            },
        )
        return

    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    await responder.start_stream()

    async def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> None:
        data: dict[str, Any] = {
            **base,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if include_usage:
            data["usage"] = None
        await responder.sse(data)

    if first_token_s:
        await asyncio.sleep(first_token_s)
    if calls and not text:
        first = calls[0]
        await chunk(
            {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": first.call_id,
                        "type": "function",
                        "function": {"name": first.name, "arguments": ""},
                    }
                ],
            }
        )
    else:
        await chunk({"role": "assistant", "content": "", "refusal": None})
        for piece in text_pieces(text):
            await chunk({"content": piece})
    for index, call in enumerate(calls):
        if index > 0 or text:
            await chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call.call_id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": ""},
                        }
                    ]
                }
            )
        for piece in json_pieces(call.arguments):
            await chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    await chunk({}, finish)
    if include_usage:
        await responder.sse({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage})
    await responder.sse("[DONE]")
    await responder.end()
