"""Responses of the simulated realtime model: planned from the script, sent as the API's event sequence."""

from __future__ import annotations

import asyncio
import base64
from typing import TYPE_CHECKING, Any

from agentcli.sim.planner import (
    PlannedText,
    PlannedToolCall,
    count_tokens,
    json_pieces,
    plan_reply,
    plan_response,
    text_pieces,
)
from agentcli.sim.realtime.items import item_text, planner_item
from agentcli.sim.realtime.vad import RATE
from agentcli.sim.speech import synthesize_pcm

if TYPE_CHECKING:
    from agentcli.sim.realtime.session import RealtimeSimSession

CHUNK_MS = 50  # audio per response.output_audio.delta
PACE_LEAD_S = 0.2  # paced audio still runs this far ahead of real time, like the API's


class UndeclaredTool(Exception):
    """The script makes the model call a tool the client never offered."""


def _script_place(script: Any, name: str) -> str:
    """Where the script names a tool call: its line when the script kept lines, else turns[i].reply[j]."""
    for i, turn in enumerate(getattr(script, "turns", None) or []):
        for j, entry in enumerate(turn.reply):
            for call in entry.tool_calls or []:
                if call.name == name:
                    line = getattr(call, "line", None) or getattr(entry, "line", None)
                    return f"line {line}" if line else f"turns[{i}].reply[{j}]"
    return "a reply"


class _Ended(Exception):
    """The response ends here (a scripted failure): response.done follows."""


class ResponseWriter:
    """One response: created -> output items (a message, or function calls) -> done.

    Run as a task; cancelling the task (speech started, response.cancel) ends it with a `cancelled`
    response.done that carries the partial output, as the API does."""

    def __init__(self, session: RealtimeSimSession, rid: str, modalities: list[str], tools: list[str] | None = None):
        self.session = session
        self.rid = rid
        self.modalities = modalities
        self.tools = tools or []  # the function names the session (or this response.create) declares
        self.output: list[dict[str, Any]] = []
        self.cancel_reason = "client_cancelled"

    async def send(self, event: dict[str, Any]) -> None:
        await self.session.send(event)

    async def run(self) -> None:
        s = self.session
        base = {"id": self.rid, "object": "realtime.response", "output_modalities": self.modalities}
        status, details = "completed", None
        try:
            await self.send({"type": "response.created", "response": {**base, "status": "in_progress", "output": []}})
            await self.send({"type": "rate_limits.updated", "rate_limits": self._rate_limits()})
            await asyncio.sleep(s.latency_s("first_token_ms"))
            conversation = [n for n in (planner_item(i) for i in s.items) if n is not None]
            response = plan_response(s.script, conversation)
            if response.failed is not None:  # script fault `failed:`: the response fails before any output
                error = {"type": "server_error", "code": response.failed.get("code") or "server_error",
                         "message": response.failed.get("message") or "The server had an error."}
                status, details = "failed", {"type": "failed", "error": error}
                raise _Ended
            plan = plan_reply(s.script, conversation)  # a refusal is said as text: realtime has no refusal part
            self._check_tools(plan)
            for planned in plan:
                if isinstance(planned, PlannedText):
                    await self._message(planned.text, incomplete=response.incomplete is not None)
                else:
                    for call in planned.calls:
                        await self._function_call(call)
            if response.incomplete is not None:  # script fault `incomplete: {reason}`: cut short, calls kept
                status, details = "incomplete", {"type": "incomplete", "reason": response.incomplete}
        except _Ended:
            pass
        except ConnectionError:  # the connection is gone: nobody to tell
            return
        except UndeclaredTool as e:  # a script error, told the way the API tells a failed response
            error = {"type": "invalid_request_error", "code": "undeclared_tool", "message": str(e)}
            status, details = "failed", {"type": "failed", "error": error}
        except asyncio.CancelledError:
            status, details = "cancelled", {"type": "cancelled", "reason": self.cancel_reason}
            for item in self.output:
                if item["status"] == "in_progress":
                    item["status"] = "incomplete"
        finally:
            if s.response is self:
                s.response = None
        done = {**base, "status": status, "output": self.output, "usage": self._usage()}
        if details:
            done["status_details"] = details
        await s.send_quietly({"type": "response.done", "response": done})
        if status == "completed":
            s.response_finished(sum(s.audio_ms.get(i["id"], 0) for i in self.output))

    def _check_tools(self, plan: list[Any]) -> None:
        """The API never calls a function the session did not declare: nor does the simulator."""
        for planned in plan:
            for call in getattr(planned, "calls", []):
                if call.name not in self.tools:
                    declared = ", ".join(self.tools) or "none"
                    raise UndeclaredTool(
                        f"the sim script ({_script_place(self.session.script, call.name)}) calls the tool "
                        f"'{call.name}', which this session does not declare (tools: {declared})"
                    )

    def _rate_limits(self) -> list[dict[str, Any]]:
        """Like the API's: a token reservation for this response (the sim never runs out)."""
        used = sum(count_tokens(item_text(i) or "") for i in self.session.items)
        return [
            {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
            {"name": "tokens", "limit": 40000, "remaining": max(0, 40000 - 4096 - used), "reset_seconds": 6.2},
        ]

    def _usage(self) -> dict[str, int]:
        def tokens(item: dict[str, Any]) -> int:
            return count_tokens(item_text(item) or item.get("arguments") or item.get("output") or "")

        out_tokens = sum(tokens(i) for i in self.output)
        in_tokens = sum(tokens(i) for i in self.session.items) - out_tokens
        in_tokens += count_tokens(self.session.config.get("instructions") or "")
        return {
            "total_tokens": in_tokens + out_tokens,
            "input_tokens": in_tokens,
            "output_tokens": out_tokens,
        }

    async def _add_output(self, item: dict[str, Any]) -> dict[str, Any]:
        items = self.session.items
        previous = items[-1]["id"] if items else None
        items.append(item)
        self.output.append(item)
        await self.send({"type": "conversation.item.added", "item": item, "previous_item_id": previous})
        await self.send(
            {
                "type": "response.output_item.added",
                "response_id": self.rid,
                "output_index": len(self.output) - 1,
                "item": item,
            }
        )
        return {"response_id": self.rid, "item_id": item["id"], "output_index": len(self.output) - 1}

    async def _finish_output(self, item: dict[str, Any], status: str = "completed") -> None:
        item["status"] = status
        await self.send(
            {
                "type": "response.output_item.done",
                "response_id": self.rid,
                "output_index": self.output.index(item),
                "item": item,
            }
        )
        await self.send({"type": "conversation.item.done", "item": item})

    async def _message(self, text: str, *, incomplete: bool = False) -> None:
        audio = "audio" in self.modalities
        item = {
            "id": self.session.new_id("item"),
            "type": "message",
            "object": "realtime.item",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        where = {**await self._add_output(item), "content_index": 0}
        part: dict[str, Any] = (
            {"type": "output_audio", "transcript": ""} if audio else {"type": "output_text", "text": ""}
        )
        item["content"].append(part)
        wire = {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
        await self.send({"type": "response.content_part.added", **where, "part": wire})
        words = text_pieces(text)
        if audio:
            await self._speak(text, words, where, part)
            await self.send({"type": "response.output_audio.done", **where})
            await self.send({"type": "response.output_audio_transcript.done", **where, "transcript": text})
            wire = {"type": "audio", "transcript": text}
        else:
            for word in words:
                part["text"] += word
                await self.send({"type": "response.output_text.delta", **where, "delta": word})
                await asyncio.sleep(0)
            await self.send({"type": "response.output_text.done", **where, "text": text})
            wire = {"type": "text", "text": text}
        await self.send({"type": "response.content_part.done", **where, "part": wire})
        await self._finish_output(item, status="incomplete" if incomplete else "completed")

    async def _speak(self, text: str, words: list[str], where: dict[str, Any], part: dict[str, Any]) -> None:
        s = self.session
        out = s.config["audio"]["output"]
        voice, speed = str(out.get("voice") or "marin"), float(out.get("speed") or 1.0)
        pcm = await asyncio.to_thread(synthesize_pcm, text, voice, speed)  # the /v1/audio/speech voice
        await asyncio.sleep(s.latency_s("tts_first_byte_ms"))
        s.sent_audio = True
        item_id = where["item_id"]
        s.audio_ms[item_id] = 0
        step = RATE * 2 * CHUNK_MS // 1000
        chunks = [pcm[i : i + step] for i in range(0, len(pcm), step)] or [b""]
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        said = 0
        for n, chunk in enumerate(chunks):
            # transcript words go out spread over the audio, as a speaking model's would
            while said < len(words) * (n + 1) // len(chunks):
                part["transcript"] += words[said]
                await self.send({"type": "response.output_audio_transcript.delta", **where, "delta": words[said]})
                said += 1
            b64 = base64.b64encode(chunk).decode("ascii")
            await self.send({"type": "response.output_audio.delta", **where, "delta": b64})
            s.audio_ms[item_id] += len(chunk) * 1000 // (RATE * 2)
            delay = 0.0
            if s.pace > 0:
                delay = max(0.0, t0 + s.audio_ms[item_id] / 1000 / s.pace - PACE_LEAD_S - loop.time())
            await asyncio.sleep(delay)  # also lets a cancel in between chunks

    async def _function_call(self, call: PlannedToolCall) -> None:
        item = {
            "id": self.session.new_id("item"),
            "type": "function_call",
            "object": "realtime.item",
            "status": "in_progress",
            "call_id": call.call_id,
            "name": call.name,
            "arguments": "",
        }
        where = {**await self._add_output(item), "call_id": call.call_id}
        for piece in json_pieces(call.arguments):
            await self.send({"type": "response.function_call_arguments.delta", **where, "delta": piece})
        item["arguments"] = call.arguments
        await self.send(
            {
                "type": "response.function_call_arguments.done",
                **where,
                "name": call.name,
                "arguments": call.arguments,
            }
        )
        await self._finish_output(item)
