"""POST /v1/responses: the Responses API, streamed (SSE events) or not, shaped like the real one."""

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


def input_items(value: Any) -> list[dict[str, Any]]:
    """Responses `input` (a string or a list of items) as neutral conversation items."""
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if not isinstance(value, list):
        raise HttpError(400, "Invalid type for 'input': expected a string or an array.", param="input")
    items: list[dict[str, Any]] = []
    for raw in value:
        if not isinstance(raw, dict):
            raise HttpError(400, "Invalid 'input': each item must be an object.", param="input")
        kind = raw.get("type", "message")
        if kind == "message":
            items.append({"type": "message", "role": raw.get("role", "user"), "content": item_text(raw)})
        elif kind == "function_call":
            items.append(
                {
                    "type": "function_call",
                    "call_id": raw.get("call_id", ""),
                    "name": raw.get("name", ""),
                    "arguments": raw.get("arguments", ""),
                }
            )
        elif kind == "function_call_output":
            output = raw.get("output", "")
            text = output if isinstance(output, str) else item_text({"content": output})
            items.append({"type": "function_call_output", "call_id": raw.get("call_id", ""), "output": text})
        # other item kinds (reasoning, web search ...) do not change what the sim says
    return items


def _tools(tools: Any) -> list[dict[str, Any]]:
    out = []
    for tool in tools or []:
        if isinstance(tool, dict) and tool.get("type") == "function":
            out.append(
                {
                    "type": "function",
                    "name": tool.get("name", ""),
                    "description": tool.get("description"),
                    "parameters": tool.get("parameters"),
                    "strict": tool.get("strict", True),
                }
            )
        elif isinstance(tool, dict):
            out.append(tool)
    return out


def usage_obj(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def response_obj(
    rid: str,
    body: dict[str, Any],
    created_at: int,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    *,
    error: dict[str, str] | None = None,
    incomplete: str | None = None,
) -> dict[str, Any]:
    text_cfg = body.get("text") if isinstance(body.get("text"), dict) else {}
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else None
    return {
        "id": rid,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "completed_at": int(time.time()) if status == "completed" else None,
        "error": error,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": None,
        "model": body["model"],
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        # echoed only when asked for: the Response type has no `store`, and a null effort says nothing
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")} if reasoning else None,
        "service_tier": "default",
        "temperature": body.get("temperature", 1.0),
        "text": {"format": text_cfg.get("format") or {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": _tools(body.get("tools")),
        "top_logprobs": 0,
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": body.get("metadata") or {},
    }


def _conversation(sim: SimServer, body: dict[str, Any]) -> list[dict[str, Any]]:
    previous = body.get("previous_response_id")
    history: list[dict[str, Any]] = []
    if previous:
        if previous not in sim.responses_store:
            raise HttpError(
                400,
                f"Previous response with id '{previous}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        history = list(sim.responses_store[previous])
    return history + input_items(body.get("input"))


def _format(body: dict[str, Any]) -> dict[str, Any]:
    fmt = (body.get("text") or {}).get("format") if isinstance(body.get("text"), dict) else None
    return fmt if isinstance(fmt, dict) else {}


def _output_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = _format(body)
    if fmt.get("type") == "json_schema":
        schema = fmt.get("schema")
        return schema if isinstance(schema, dict) else {}
    return None


def declared_tools(body: dict[str, Any]) -> set[str]:
    return {str(t.get("name")) for t in body.get("tools") or [] if isinstance(t, dict) and t.get("type") == "function"}


def _reasoning_item(item_id: str, text: str, body: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"id": item_id, "type": "reasoning", "summary": [{"type": "summary_text", "text": text}]}
    if "reasoning.encrypted_content" in (body.get("include") or []):
        item["encrypted_content"] = f"sim-encrypted:{text}"
    return item


def _refusal_item(item_id: str, text: str) -> dict[str, Any]:
    return {"id": item_id, "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "refusal", "refusal": text}]}


def get_response(sim: SimServer, response_id: str) -> dict[str, Any]:
    """GET /v1/responses/{id}: a stored (store not false) response object, as it was when done."""
    stored = sim.response_objects.get(response_id)
    if stored is None:
        raise HttpError(404, f"No response found with id '{response_id}'.", param="response_id")
    return stored


def _message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    content = (
        [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}] if status != "in_progress" else []
    )
    return {"id": item_id, "type": "message", "status": status, "content": content, "role": "assistant"}


def _call_item(item_id: str, call_id: str, name: str, arguments: str, status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call_id,
        "name": name,
    }


async def handle_responses(sim: SimServer, request: Request, responder: Responder, body: dict[str, Any]) -> None:
    if not body.get("model"):
        raise HttpError(400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
    if body.get("input") is None and not body.get("previous_response_id"):
        raise HttpError(400, "Missing required parameter: 'input'.", param="input", code="missing_required_parameter")
    conversation = _conversation(sim, body)
    planned = plan_response(sim.script, conversation, _output_schema(body), _format(body).get("type") == "json_object")
    if (call := undeclared_call(planned, declared_tools(body))) is not None:
        raise HttpError(400, undeclared_error(call, declared_tools(body)), param="tools")
    rid = sim.next_id("resp")
    created_at = int(time.time())
    # item ids are minted up front so the streamed and final shapes agree
    outputs: list[tuple[str, Any]] = []
    if planned.reasoning is not None:
        outputs.append((sim.next_id("rs"), _reasoning_item("", planned.reasoning, body)))
    if planned.refusal is not None:
        outputs.append((sim.next_id("msg"), _refusal_item("", planned.refusal)))
    for plan in planned.outputs:
        if isinstance(plan, PlannedText):
            outputs.append((sim.next_id("msg"), plan))
        else:
            outputs.extend((sim.next_id("fc"), call) for call in plan.calls)
    status = "failed" if planned.failed else "incomplete" if planned.incomplete else "completed"
    final_items: list[dict[str, Any]] = []
    neutral: list[dict[str, Any]] = []
    out_tokens = 0
    for item_id, thing in outputs:
        if isinstance(thing, dict):  # reasoning or refusal, made whole above
            final_items.append({**thing, "id": item_id})
        elif isinstance(thing, PlannedText):
            final_items.append(_message_item(item_id, thing.text, "completed" if status == "completed" else status))
            neutral.append({"type": "message", "role": "assistant", "content": thing.text})
            out_tokens += count_tokens(thing.text)
        else:
            final_items.append(_call_item(item_id, thing.call_id, thing.name, thing.arguments, "completed"))
            neutral.append(
                {"type": "function_call", "call_id": thing.call_id, "name": thing.name, "arguments": thing.arguments}
            )
            out_tokens += count_tokens(f"{thing.name} {thing.arguments}")
    in_tokens = count_tokens(str(body.get("instructions") or "")) + sum(
        count_tokens(item_text(i)) for i in conversation
    )
    usage = usage_obj(in_tokens, out_tokens)
    final = response_obj(rid, body, created_at, status, final_items, usage, error=planned.failed,
                         incomplete=planned.incomplete)
    if body.get("store", True) is not False and planned.error is None:
        sim.responses_store[rid] = conversation + neutral
        sim.response_objects[rid] = final
    first_token_s = sim.latency_ms("first_token_ms") / 1000
    if not body.get("stream"):
        if first_token_s:
            await asyncio.sleep(first_token_s)
        if planned.error is not None:
            raise HttpError(500, planned.error["message"], type="server_error", code=planned.error["code"])
        await responder.send_json(200, final)
        return

    await responder.start_stream()
    seq = 0

    async def emit(event: dict[str, Any]) -> None:
        nonlocal seq
        event["sequence_number"] = seq
        seq += 1
        await responder.sse(event, event["type"])

    in_progress = response_obj(rid, body, created_at, "in_progress", [], None)
    await emit({"type": "response.created", "response": in_progress})
    await emit({"type": "response.in_progress", "response": in_progress})
    if first_token_s:
        await asyncio.sleep(first_token_s)
    for index, ((item_id, thing), done_item) in enumerate(zip(outputs, final_items, strict=True)):
        if isinstance(thing, dict) and done_item["type"] == "reasoning":
            await emit({"type": "response.output_item.added", "output_index": index,
                        "item": {**done_item, "summary": []}})
            await emit({"type": "response.output_item.done", "output_index": index, "item": done_item})
        elif isinstance(thing, dict):
            await _stream_refusal(emit, index, item_id, done_item)
        elif isinstance(thing, PlannedText):
            await _stream_text(emit, index, item_id, thing.text, done_item)
        else:
            added = _call_item(item_id, thing.call_id, thing.name, "", "in_progress")
            await emit({"type": "response.output_item.added", "output_index": index, "item": added})
            for piece in json_pieces(thing.arguments):
                await emit(
                    {
                        "type": "response.function_call_arguments.delta",
                        "item_id": item_id,
                        "output_index": index,
                        "delta": piece,
                    }
                )
            await emit(
                {
                    "type": "response.function_call_arguments.done",
                    "item_id": item_id,
                    "output_index": index,
                    "arguments": thing.arguments,
                }
            )
            await emit({"type": "response.output_item.done", "output_index": index, "item": done_item})
    if planned.error is not None:
        await emit({"type": "error", "code": planned.error["code"], "message": planned.error["message"],
                    "param": None})
    else:
        await emit({"type": f"response.{status}", "response": final})
    await responder.end()


async def _stream_refusal(emit: Any, index: int, item_id: str, done_item: dict[str, Any]) -> None:
    text = done_item["content"][0]["refusal"]
    await emit({"type": "response.output_item.added", "output_index": index,
                "item": {**done_item, "status": "in_progress", "content": []}})
    where = {"item_id": item_id, "output_index": index, "content_index": 0}
    await emit({"type": "response.content_part.added", **where, "part": {"type": "refusal", "refusal": ""}})
    for piece in text_pieces(text):
        await emit({"type": "response.refusal.delta", **where, "delta": piece})
    await emit({"type": "response.refusal.done", **where, "refusal": text})
    await emit({"type": "response.content_part.done", **where, "part": done_item["content"][0]})
    await emit({"type": "response.output_item.done", "output_index": index, "item": done_item})


async def _stream_text(emit: Any, index: int, item_id: str, text: str, done_item: dict[str, Any]) -> None:
    await emit(
        {
            "type": "response.output_item.added",
            "output_index": index,
            "item": _message_item(item_id, text, "in_progress"),
        }
    )
    where = {"item_id": item_id, "output_index": index, "content_index": 0}
    await emit(
        {
            "type": "response.content_part.added",
            **where,
            "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""},
        }
    )
    for piece in text_pieces(text):
        await emit({"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []})
    await emit({"type": "response.output_text.done", **where, "text": text, "logprobs": []})
    await emit({"type": "response.content_part.done", **where, "part": done_item["content"][0]})
    await emit({"type": "response.output_item.done", "output_index": index, "item": done_item})
