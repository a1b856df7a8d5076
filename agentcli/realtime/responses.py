"""Inside a realtime response: audio to the player, transcripts, tool calls, barge-in and output guardrails.

Mixed into RealtimeSession (agentcli/realtime/session.py), which owns the connection, turns and history.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentcli import events as ev
from agentcli.models.base import ModelToolCall
from agentcli.realtime.guard import OutputGuard
from agentcli.realtime.reconnect import new_item_id
from agentcli.realtime.turns import TurnState
from agentcli.runtime.guardrails import Verdict

if TYPE_CHECKING:
    from agentcli.realtime.session import RealtimeSession


@dataclass
class ResponseState:
    id: str
    started: float  # events.now() at response.created
    t0: float  # perf_counter at response.created
    first_delta: float | None = None
    transcript: str = ""
    item_id: str | None = None  # its assistant message
    calls: list[ModelToolCall] = field(default_factory=list)
    cancelled: bool = False  # cut off by us: its late deltas are ignored
    guard: OutputGuard | None = None


def heard_part(text: str, heard_ms: float, total_ms: float) -> str:
    """The words of `text` the user heard, by the share of its audio played (cut at a word end)."""
    if total_ms <= 0 or heard_ms >= total_ms:
        return text
    cut = int(len(text) * max(0.0, heard_ms) / total_ms)
    head = text[:cut]
    if cut < len(text) and not text[cut].isspace() and " " in head:
        head = head[: head.rfind(" ")]
    return head.rstrip()


class ResponseHandling:
    """The response half of RealtimeSession."""

    def _init_responses(self: RealtimeSession) -> None:
        self.response: ResponseState | None = None
        self.create_pending = False  # response.create sent, response.created not yet seen
        self.want_response = False  # a response.create waits for the active response to end
        self.cancelled_ids: set[str] = set()
        self.tool_task: asyncio.Task[None] | None = None

    def busy_responding(self: RealtimeSession) -> bool:
        return self.response is not None or self.create_pending or self.want_response or self.tool_task is not None

    async def request_response(self: RealtimeSession) -> None:
        """Ask for a response now, or as soon as the one in progress ends (never two at once)."""
        if self.response is not None or self.create_pending or self.tool_task is not None:
            self.want_response = True
            return
        self.want_response = False
        self.create_pending = True
        await self.send_soft({"type": "response.create"})

    def create_refused(self: RealtimeSession) -> None:
        """The server was already answering (its VAD raced us): ask again after that answer."""
        self.create_pending = False
        self.want_response = True

    async def _next_response(self: RealtimeSession) -> None:
        if self.want_response:
            await self.request_response()

    # --- the response's events ---------------------------------------------------------------------

    async def _on_response_created(self: RealtimeSession, event: dict[str, Any]) -> None:
        rid = str((event.get("response") or {}).get("id") or "")
        self.create_pending = False
        self.awaiting_reply = False
        state = ResponseState(id=rid, started=ev.now(), t0=time.perf_counter())
        checks = self.tools.output_guardrails.get(self.agent) or []
        if checks:
            agent_name = self.tools.agent(self.agent).name

            async def tripped(name: str, verdict: Verdict) -> None:
                await self._guard_tripped(state, name, verdict)

            state.guard = OutputGuard(checks, agent_name, self.emit, tripped)
        self.response = state
        if self.turn is None:  # a response the server started on its own (e.g. idle timeout)
            self.conversation.turns += 1
            self.turn = TurnState(index=self.conversation.turns, base=time.perf_counter())
        self.mark("response_created")

    def assistant_item(self: RealtimeSession, item_id: str, event: dict[str, Any]) -> None:
        entry = {
            "type": "message",
            "role": "assistant",
            "content": "",
            "_id": item_id,
            "_agent": self.tools.agent(self.agent).name,
        }
        self.by_id[item_id] = entry
        self.conversation.items.append(entry)
        if self.response is not None and self.response.item_id is None:
            self.response.item_id = item_id

    def _live(self: RealtimeSession, event: dict[str, Any]) -> ResponseState | None:
        """The state of the response this event belongs to, or None when its deltas are to be ignored."""
        state = self.response
        if state is None or state.cancelled or event.get("response_id") != state.id:
            return None
        return state

    def _first_delta(self: RealtimeSession, state: ResponseState, at: float | None = None) -> None:
        if state.first_delta is None:
            state.first_delta = at or time.perf_counter()
            self.mark("first_token", state.first_delta)

    async def _on_response_output_audio_delta(self: RealtimeSession, event: dict[str, Any]) -> None:
        received = time.perf_counter()  # before the write: the audio thread may play it at once
        state = self._live(event)
        if state is None or self.output is None:
            return
        first = self.output.current is None or self.output.current.item_id != event.get("item_id")
        playing = self.output.write(str(event.get("item_id")), state.id, str(event.get("delta") or ""))
        if first:
            self._first_delta(state, received)
            self.mark("first_audio_byte", received)  # the first audio delta received
            if self.turn is not None:
                self.turn.utterance = playing.utterance
            self.emit(ev.StateChanged(state="speaking"))

    async def _on_response_output_audio_done(self: RealtimeSession, event: dict[str, Any]) -> None:
        if self.output is not None:
            self.output.complete(str(event.get("item_id")))

    async def _text_delta(self: RealtimeSession, event: dict[str, Any]) -> None:
        state = self._live(event)
        delta = str(event.get("delta") or "")
        if state is None or not delta:
            return
        self._first_delta(state)
        state.transcript += delta
        entry = self.by_id.get(str(event.get("item_id")))
        if entry is not None:
            entry["content"] = state.transcript
        self.emit(ev.TranscriptDelta(role="assistant", delta=delta))
        if state.guard is not None:
            state.guard.feed(state.transcript)

    _on_response_output_audio_transcript_delta = _text_delta
    _on_response_output_text_delta = _text_delta

    async def _text_done(self: RealtimeSession, event: dict[str, Any]) -> None:
        state = self._live(event)
        final = event.get("transcript", event.get("text"))
        if state is not None and isinstance(final, str):
            state.transcript = final
            entry = self.by_id.get(str(event.get("item_id")))
            if entry is not None:
                entry["content"] = final

    _on_response_output_audio_transcript_done = _text_done
    _on_response_output_text_done = _text_done

    async def _on_response_function_call_arguments_done(self: RealtimeSession, event: dict[str, Any]) -> None:
        state = self._live(event)
        if state is None:
            return
        call = ModelToolCall(str(event.get("call_id")), str(event.get("name")), str(event.get("arguments") or ""))
        state.calls.append(call)
        entry = {
            "type": "function_call",
            "call_id": call.call_id,
            "name": call.name,
            "arguments": call.arguments,
            "_id": str(event.get("item_id")),
        }
        self.by_id[entry["_id"]] = entry
        self.conversation.items.append(entry)

    async def _on_response_done(self: RealtimeSession, event: dict[str, Any]) -> None:
        response = event.get("response") or {}
        rid, status = str(response.get("id") or ""), str(response.get("status") or "completed")
        state = self.response if self.response is not None and self.response.id == rid else None
        if state is not None:
            self.response = None
        raw = response.get("usage") or {}
        usage = ev.Usage(int(raw.get("input_tokens") or 0), int(raw.get("output_tokens") or 0))
        self.announce_turn()
        first_ms = None
        if state is not None and state.first_delta is not None:
            first_ms = round((state.first_delta - state.t0) * 1000, 1)
        self.emit(
            ev.RealtimeResponseDone(
                response_id=rid,
                status=status,
                usage=usage,
                first_delta_ms=first_ms,
                started=state.started if state else None,
                transcript=state.transcript if state else "",
            )
        )
        if self.turn is not None:
            self.turn.usage.add(usage)
        if state is None or state.cancelled:
            pass  # cut off by a barge-in, a guardrail or a drop: its turn was finished there
        elif status != "completed":
            details = response.get("status_details") or {}
            reason = (details.get("error") or {}).get("message") or details.get("reason") or status
            self.finish_turn(
                "interrupted" if status == "cancelled" else "error",
                error=f"response {status}: {reason}",
                interrupted=status == "cancelled",
            )
        elif state.calls:
            self.tool_task = asyncio.ensure_future(self._run_tools(state))
        elif self.turn is not None:
            self.turn.output = state.transcript
            self.turn.closer = asyncio.ensure_future(self._close_when_heard(state))
        await self._next_response()

    async def _close_when_heard(self: RealtimeSession, state: ResponseState) -> None:
        if state.guard is not None and await state.guard.final(state.transcript):
            return
        if self.output is not None:
            await self.output.wait_heard()
        self.finish_turn("ok")

    async def _run_tools(self: RealtimeSession, state: ResponseState) -> None:
        try:
            self.announce_turn()
            outcome = await self.tools.run(self.agent, state.calls, self.emit)
            for call in state.calls:
                output = outcome.outputs.get(call.call_id, "error: no output")
                item_id = new_item_id()
                self.own_ids.add(item_id)
                self.conversation.items.append(
                    {
                        "type": "function_call_output",
                        "call_id": call.call_id,
                        "output": output,
                        "_id": item_id,
                    }
                )
                await self.send_soft(
                    {
                        "type": "conversation.item.create",
                        "item": {
                            "id": item_id,
                            "type": "function_call_output",
                            "call_id": call.call_id,
                            "output": output,
                        },
                    }
                )
            if outcome.handoff_to is not None:
                await self.send_soft(self.switch_agent(outcome.handoff_to))
        finally:
            self.tool_task = None
        await self.request_response()

    # --- cutting a response off ---------------------------------------------------------------------

    async def barge_in(self: RealtimeSession, *, local: bool) -> None:
        """The user talks over the answer: silence it, cancel the response if the server will not, and
        truncate the item to what was heard (skipped when playback had already finished)."""
        cut = self.output.cut() if self.output is not None else None
        state = self.response
        if state is not None and not state.cancelled:
            state.cancelled = True
            self.cancelled_ids.add(state.id)
            if state.guard is not None:
                state.guard.cancel()
            if local or not self.server_cancels:
                await self.send_soft({"type": "response.cancel"})
        heard_text = ""
        if cut is not None:
            if not cut.stale:  # an item of a dropped connection is not on the server any more
                truncate = {"item_id": cut.item_id, "content_index": 0, "audio_end_ms": int(cut.heard_ms)}
                await self.send_soft({"type": "conversation.item.truncate", **truncate})
            entry = self.by_id.get(cut.item_id)
            full = str(entry["content"]) if entry else ""
            heard_text = heard_part(full, cut.heard_ms, cut.received_ms)
            if entry is not None:
                entry["content"] = heard_text
                entry["_interrupted"] = True
                if cut.stale:  # replayed in full after a reconnect: the new server session gets the heard part
                    await self.rewrite_replayed(entry)
            self.emit(ev.Interrupted(heard_ms=round(cut.heard_ms, 1), heard_text=heard_text, item_id=cut.item_id))
        if self.turn is not None and (cut is not None or state is not None):
            self.turn.output = heard_text
            self.finish_turn("interrupted", interrupted=True)

    async def _guard_tripped(self: RealtimeSession, state: ResponseState, name: str, verdict: Verdict) -> None:
        """An output guardrail tripped: stop the answer, take it out of the model's context, say why."""
        if self.output is not None and self.output.current is not None and self.output.current.response_id == state.id:
            self.output.cut()
        if self.response is state and not state.cancelled:
            state.cancelled = True
            self.cancelled_ids.add(state.id)
            await self.send_soft({"type": "response.cancel"})
        message = verdict.message or "the answer was withheld"
        entry = self.by_id.get(state.item_id or "")
        if entry is not None:
            entry["content"] = message
            entry["_guardrail"] = name
            await self.send_soft({"type": "conversation.item.delete", "item_id": state.item_id})
        if self.turn is not None:
            self.turn.output = message
            self.finish_turn("guardrail", error=message)

    def _drop_responses(self: RealtimeSession) -> None:
        """The connection dropped: the response in flight is over (what arrived stays, marked)."""
        state, self.response = self.response, None
        if state is not None:
            state.cancelled = True
            if state.guard is not None:
                state.guard.cancel()
            entry = self.by_id.get(state.item_id or "")
            if entry is not None:
                entry["_interrupted"] = True
        if self.output is not None:
            self.output.orphan()
        self.create_pending = self.want_response = False
        if self.tool_task is not None:
            self.tool_task.cancel()
            self.tool_task = None

    def _cancel_side_tasks(self: RealtimeSession) -> None:
        self._drop_responses()
        if self.turn is not None and self.turn.closer is not None:
            self.turn.closer.cancel()
