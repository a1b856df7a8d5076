"""One simulated realtime session: the client events it takes, input audio and VAD, conversation items."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import time
from typing import Any

import numpy as np

from agentcli.sim.planner import text_pieces
from agentcli.sim.realtime.config import SESSION_KEYS, default_session, merge_session
from agentcli.sim.realtime.conversation import ClientError, ConversationItems
from agentcli.sim.realtime.responses import ResponseWriter
from agentcli.sim.realtime.vad import RATE, EnergyVad

MIN_COMMIT_MS = 100
SESSION_LIFETIME_S = 60 * 60  # the API's sessions last at most an hour

# client event type -> its required fields (the API answers a missing one with invalid_request_error)
CLIENT_EVENTS: dict[str, tuple[str, ...]] = {
    "session.update": ("session",),
    "input_audio_buffer.append": ("audio",),
    "input_audio_buffer.commit": (),
    "input_audio_buffer.clear": (),
    "output_audio_buffer.clear": (),
    "conversation.item.create": ("item",),
    "conversation.item.retrieve": ("item_id",),
    "conversation.item.truncate": ("item_id", "content_index", "audio_end_ms"),
    "conversation.item.delete": ("item_id",),
    "response.create": (),
    "response.cancel": (),
}
class FaultClose(ConnectionError):
    """The scripted fault dropped the connection."""


class RealtimeSimSession(ConversationItems):
    def __init__(self, conn: Any, sim: Any, model: str, disconnect_after: int | None = None):
        self.conn, self.sim = conn, sim
        self.script = getattr(sim, "script", None)
        self.config = default_session(model)
        self.items: list[dict[str, Any]] = []
        self.audio_ms: dict[str, int] = {}  # assistant item id -> ms of audio sent
        self.sent_audio = False
        self.buffer = bytearray()  # input audio since the last commit
        self.pos = 0  # samples appended this session
        self.vad: EnergyVad | None = None
        self.speech_item: str | None = None
        self.response: ResponseWriter | None = None
        self._response_task: asyncio.Task[None] | None = None
        self.sent = 0
        self.disconnect_after = disconnect_after
        self.pace = float(os.environ.get("AGENT_SIM_REALTIME_PACE") or 0)
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle_timer: asyncio.TimerHandle | None = None
        self.session_id = self.new_id("sess")
        self.expires_at = int(time.time()) + SESSION_LIFETIME_S
        self._new_vad()

    # --- plumbing -------------------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return self.sim.next_id(prefix) if hasattr(self.sim, "next_id") else f"{prefix}_{id(object())}"

    def latency_s(self, knob: str) -> float:
        return (self.sim.latency_ms(knob) if hasattr(self.sim, "latency_ms") else 0) / 1000

    async def send(self, event: dict[str, Any]) -> None:
        if self.disconnect_after is not None and self.sent >= self.disconnect_after:
            if not self.conn.closed:
                await self.conn.aclose_transport()  # no close frame: the client sees the connection drop
            raise FaultClose("scripted disconnect")
        self.sent += 1
        await self.conn.send(json.dumps({"event_id": self.new_id("event"), **event}))

    async def send_quietly(self, event: dict[str, Any]) -> None:
        """Send unless the connection is gone (for events sent after a cancel or from side tasks)."""
        with contextlib.suppress(ConnectionError):
            await self.send(event)

    async def error(
        self, message: str, code: str | None, param: str | None = None, event_id: str | None = None
    ) -> None:
        await self.send(
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "code": code,
                    "message": message,
                    "param": param,
                    "event_id": event_id,
                },
            }
        )

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _new_vad(self) -> None:
        detection = self.config["audio"]["input"].get("turn_detection")
        self.vad = EnergyVad(detection) if detection else None

    def session_object(self) -> dict[str, Any]:
        """The session as the API shows it: the config plus its id, object and expiry."""
        if self.config["type"] == "transcription":  # input audio only
            audio = {"input": self.config["audio"]["input"]}
            return {"type": "transcription", "audio": audio, "id": self.session_id,
                    "object": "realtime.transcription_session", "expires_at": self.expires_at}
        return {**self.config, "id": self.session_id, "object": "realtime.session", "expires_at": self.expires_at}

    async def run(self) -> None:
        try:
            await self.send({"type": "session.created", "session": self.session_object()})
            while True:
                raw = await self.conn.recv()
                await self.handle(raw)
        except ConnectionError:  # the client left, or a scripted fault dropped the connection
            pass
        finally:
            self._cancel_idle_timer()
            for task in [*self._tasks, *([self._response_task] if self._response_task else [])]:
                task.cancel()

    async def handle(self, raw: str | bytes) -> None:
        try:
            event = json.loads(raw)
        except ValueError:
            await self.error("The event could not be parsed as JSON.", "invalid_json")
            return
        if not isinstance(event, dict):
            await self.error("Events must be JSON objects.", "invalid_json")
            return
        kind, event_id = event.get("type"), event.get("event_id")
        try:
            if kind not in CLIENT_EVENTS:
                raise ClientError(
                    f"Invalid value: '{kind}'. Supported values are: "
                    + ", ".join(f"'{k}'" for k in CLIENT_EVENTS)
                    + ".",
                    "invalid_value",
                    "type",
                )
            for name in CLIENT_EVENTS[kind]:
                if name not in event:
                    raise ClientError(f"Missing required parameter: '{name}'.", "missing_required_parameter", name)
            await self.dispatch(kind, event)
        except ClientError as e:
            await self.error(str(e), e.code, e.param, event_id)

    async def dispatch(self, kind: str, event: dict[str, Any]) -> None:
        """One client event, checked already (a type in CLIENT_EVENTS, its required fields present)."""
        match kind:
            case "session.update":
                await self.on_session_update(event)
            case "input_audio_buffer.append":
                await self.on_input_audio_buffer_append(event)
            case "input_audio_buffer.commit":
                await self.on_input_audio_buffer_commit(event)
            case "input_audio_buffer.clear":
                await self.on_input_audio_buffer_clear(event)
            case "output_audio_buffer.clear":
                await self.on_output_audio_buffer_clear(event)
            case "conversation.item.create":
                await self.on_conversation_item_create(event)
            case "conversation.item.retrieve":
                await self.on_conversation_item_retrieve(event)
            case "conversation.item.truncate":
                await self.on_conversation_item_truncate(event)
            case "conversation.item.delete":
                await self.on_conversation_item_delete(event)
            case "response.create":
                await self.on_response_create(event)
            case "response.cancel":
                await self.on_response_cancel(event)

    # --- session and input audio --------------------------------------------------------------------

    async def on_session_update(self, event: dict[str, Any]) -> None:
        session = event["session"]
        # a transcription session (?intent=transcription) transcribes each committed turn, and never answers
        if not isinstance(session, dict) or session.get("type") not in ("realtime", "transcription"):
            raise ClientError(
                "The simulator supports realtime and transcription sessions: session.type must be 'realtime'"
                " or 'transcription'.",
                "invalid_value",
                "session.type",
            )
        unknown = sorted(set(session) - SESSION_KEYS)
        if unknown:
            raise ClientError(
                f"Unknown parameter: 'session.{unknown[0]}'.", "unknown_parameter", f"session.{unknown[0]}"
            )
        if len(session.get("output_modalities") or []) > 1:
            raise ClientError(
                "output_modalities takes one of 'audio' or 'text'.",
                "invalid_value",
                "session.output_modalities",
            )
        voice = ((session.get("audio") or {}).get("output") or {}).get("voice")
        if voice is not None and self.sent_audio and voice != self.config["audio"]["output"]["voice"]:
            raise ClientError(
                "Cannot update a conversation's voice if assistant audio is present.",
                "cannot_update_voice",
                "session.audio.output.voice",
            )
        self.config = merge_session(self.config, session)
        self._new_vad()
        await self.send({"type": "session.updated", "session": self.session_object()})

    async def on_input_audio_buffer_append(self, event: dict[str, Any]) -> None:
        try:
            pcm = base64.b64decode(event["audio"], validate=True)
        except (ValueError, TypeError):
            raise ClientError("Invalid 'audio': not valid base64.", "invalid_value", "audio") from None
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], "<i2").astype(np.float32) / 32768
        start = self.pos
        self.pos += samples.size
        self.buffer += pcm
        if self.vad is None:
            return
        for kind, ms in self.vad.feed(samples, start):
            if kind == "start":
                await self._speech_started(ms)
            else:
                await self._speech_stopped(ms)
        if not self.vad.speaking:  # keep only the padding that a next start would include
            keep = RATE * 2 * (self.vad.prefix_ms + 100) // 1000
            del self.buffer[: max(0, len(self.buffer) - keep)]

    async def _speech_started(self, audio_start_ms: int) -> None:
        self._cancel_idle_timer()
        self.speech_item = self.new_id("item")
        await self.send(
            {
                "type": "input_audio_buffer.speech_started",
                "audio_start_ms": audio_start_ms,
                "item_id": self.speech_item,
            }
        )
        detection = self.config["audio"]["input"].get("turn_detection") or {}
        if self.response is not None and detection.get("interrupt_response", True):
            await self._cancel_response("turn_detected")

    async def _speech_stopped(self, audio_end_ms: int) -> None:
        item_id = self.speech_item or self.new_id("item")
        self.speech_item = None
        await self.send({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": audio_end_ms, "item_id": item_id})
        await self._commit(item_id)
        detection = self.config["audio"]["input"].get("turn_detection") or {}
        if detection.get("create_response", True) and self.response is None and self.config["type"] == "realtime":
            self._start_response({})

    async def on_input_audio_buffer_commit(self, event: dict[str, Any]) -> None:
        ms = len(self.buffer) * 1000 // (RATE * 2)
        if ms < MIN_COMMIT_MS:
            raise ClientError(
                f"Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {ms:.2f}ms of audio.",
                "input_audio_buffer_commit_empty",
            )
        await self._commit(self.speech_item or self.new_id("item"))
        self.speech_item = None

    async def _commit(self, item_id: str) -> None:
        seconds = len(self.buffer) / (RATE * 2)
        self.buffer.clear()
        heard = self.sim.next_heard(f"audio of {seconds:.1f} s") if hasattr(self.sim, "next_heard") else ""
        previous = self.items[-1]["id"] if self.items else None
        item = {
            "id": item_id,
            "type": "message",
            "object": "realtime.item",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        self.items.append({**item, "content": [{"type": "input_audio", "transcript": heard}]})
        await self.send({"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": previous})
        await self.send({"type": "conversation.item.added", "item": item, "previous_item_id": previous})
        await self.send({"type": "conversation.item.done", "item": item, "previous_item_id": previous})
        if self.config["audio"]["input"].get("transcription"):
            self._spawn(self._transcribe(item_id, heard, seconds))

    async def _transcribe(self, item_id: str, text: str, seconds: float) -> None:
        with contextlib.suppress(ConnectionError):
            await asyncio.sleep(self.latency_s("stt_ms"))
            for piece in text_pieces(text):
                await self.send(
                    {
                        "type": "conversation.item.input_audio_transcription.delta",
                        "item_id": item_id,
                        "content_index": 0,
                        "delta": piece,
                    }
                )
            await self.send(
                {
                    "type": "conversation.item.input_audio_transcription.completed",
                    "item_id": item_id,
                    "content_index": 0,
                    "transcript": text,
                    "usage": {"type": "duration", "seconds": round(seconds, 3)},
                }
            )

    async def on_input_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        self.buffer.clear()
        await self.send({"type": "input_audio_buffer.cleared"})

    async def on_output_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        raise ClientError(
            "output_audio_buffer.clear is only supported for WebRTC and SIP sessions.",
            "invalid_value",
            "type",
        )

    # --- responses ------------------------------------------------------------------------------------

    async def on_response_create(self, event: dict[str, Any]) -> None:
        if self.response is not None:
            raise ClientError(
                "Conversation already has an active response in progress.",
                "conversation_already_has_active_response",
            )
        self._start_response(event.get("response") or {})

    async def on_response_cancel(self, event: dict[str, Any]) -> None:
        if self.response is None:
            raise ClientError("Cancellation failed: no active response found", "response_cancel_not_active")
        await self._cancel_response("client_cancelled")

    def response_finished(self, audio_ms: int) -> None:
        """server_vad's idle_timeout_ms: counted from when the answer's audio will have played."""
        detection = self.config["audio"]["input"].get("turn_detection") or {}
        timeout = detection.get("idle_timeout_ms") if detection.get("type") == "server_vad" else None
        self._cancel_idle_timer()
        if timeout and not (self.vad is not None and self.vad.speaking):
            loop = asyncio.get_running_loop()
            delay = (audio_ms / max(self.pace, 1.0) + timeout) / 1000
            self._idle_timer = loop.call_later(delay, lambda: self._spawn(self._idle_timeout()))

    def _cancel_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    async def _idle_timeout(self) -> None:
        """The user said nothing for idle_timeout_ms: the model is prompted to go on."""
        self._idle_timer = None
        if self.response is not None:
            return
        now_ms = self.pos * 1000 // RATE
        await self.send_quietly(
            {
                "type": "input_audio_buffer.timeout_triggered",
                "audio_start_ms": now_ms,
                "audio_end_ms": now_ms,
                "item_id": self.new_id("item"),
            }
        )
        self._start_response({})

    def _start_response(self, params: dict[str, Any]) -> None:
        self._cancel_idle_timer()
        modalities = params.get("output_modalities") or self.config.get("output_modalities") or ["audio"]
        tools = params.get("tools") if isinstance(params.get("tools"), list) else self.config.get("tools") or []
        names = [str(t.get("name")) for t in tools if isinstance(t, dict) and t.get("type") == "function"]
        writer = ResponseWriter(self, self.new_id("resp"), list(modalities), names)
        self.response = writer
        self._response_task = asyncio.ensure_future(writer.run())

    async def _cancel_response(self, reason: str) -> None:
        writer, task = self.response, self._response_task
        if writer is None or task is None:
            return
        writer.cancel_reason = reason
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
