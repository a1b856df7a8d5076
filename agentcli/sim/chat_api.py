"""POST /v1/chat/completions: Chat Completions, streamed (chunks, then [DONE]) or not."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from agentcli.sim.http import HttpError, Request, Responder
from agentcli.sim.planner import (
    PlannedText,
    count_tokens,
    item_text,
    json_pieces,
    plan_response,
    text_pieces,
    undeclared_call,
    undeclared_error,
)

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
    fmt = body.get("response_format") if isinstance(body.get("response_format"), dict) else {}
    planned = plan_response(sim.script, conversation, _output_schema(body), fmt.get("type") == "json_object")
    declared = {str((t.get("function") or {}).get("name")) for t in body.get("tools") or [] if isinstance(t, dict)}
    if (undeclared := undeclared_call(planned, declared)) is not None:
        raise HttpError(400, undeclared_error(undeclared, declared), param="tools")
    n = body.get("n", 1)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 128:
        raise HttpError(400, "Invalid value for 'n': expected an integer from 1 to 128.", param="n")
    plans = planned.outputs
    text = "".join(p.text for p in plans if isinstance(p, PlannedText))
    calls = [c for p in plans if not isinstance(p, PlannedText) for c in p.calls]
    refusal = planned.refusal
    prompt_tokens = sum(count_tokens(item_text(i)) for i in conversation)
    completion_tokens = count_tokens(text) + sum(count_tokens(f"{c.name} {c.arguments}") for c in calls)
    usage = usage_obj(prompt_tokens, completion_tokens)
    finish = "tool_calls" if calls else "stop"
    if planned.incomplete:
        finish = "length" if planned.incomplete == "max_output_tokens" else "content_filter"
    failure = planned.failed or planned.error
    base = {
        "id": sim.next_id("chatcmpl", "-"),
        "created": int(time.time()),
        "model": body["model"],
        "service_tier": "default",
        "system_fingerprint": None,
    }
    first_token_s = sim.latency_ms("first_token_ms") / 1000
    if not body.get("stream"):
        if failure is not None:
            raise HttpError(500, failure["message"], type="server_error", code=failure["code"])
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None if refusal is not None else text if not calls else (text or None),
            "refusal": refusal,
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
                # n > 1: the script is deterministic, so every choice is the same answer
                "choices": [
                    {"index": i, "message": message, "logprobs": None, "finish_reason": finish} for i in range(n)
                ],
            },
        )
        return

    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    await responder.start_stream()

    async def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> None:
        for index in range(n):
            data: dict[str, Any] = {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
            if include_usage:
                data["usage"] = None
            await responder.sse(data)

    if first_token_s:
        await asyncio.sleep(first_token_s)
    if refusal is not None:
        await chunk({"role": "assistant", "content": None, "refusal": ""})
        for piece in text_pieces(refusal):
            await chunk({"refusal": piece})
    elif failure is not None and not text:
        pass
    elif calls and not text:
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
    if failure is not None:  # an error mid-stream, as the API (and proxies) send it: data {"error": {...}}
        error = {"message": failure["message"], "type": "server_error", "param": None, "code": failure["code"]}
        await responder.sse({"error": error})
        await responder.end()
        return
    await chunk({}, finish)
    if include_usage:
        await responder.sse({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage})
    await responder.sse("[DONE]")
    await responder.end()
