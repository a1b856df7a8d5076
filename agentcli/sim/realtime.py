"""The simulator's Realtime endpoint: `GET /v1/realtime?model=...` upgraded to a websocket, GA protocol.

What it does, like the API: `session.created` on connect, `session.update` -> `session.updated`; server VAD
on the appended audio (an energy gate; `turn_detection` threshold / prefix_padding_ms / silence_duration_ms,
semantic_vad's eagerness as a silence length, or none = manual commit) -> `input_audio_buffer.speech_started`
/ `speech_stopped` / `committed` + `conversation.item.added`; input transcription events when
`audio.input.transcription` is set (the text is the script's next `hear:` entry, else `audio of N.N s`);
responses planned from the script's `turns` (agentcli/sim/planner.py) as audio (the sim's speech voice) or
text, or function calls; `conversation.item.truncate` / `delete` / `retrieve`; `response.cancel`;
`interrupt_response` (speech while responding cancels the response); errors shaped like the API's.

Faults: a script fault `disconnect_after_events: N` taken by the websocket upgrade closes the socket
abruptly after N server events (the server passes it in `request.extra["disconnect_after_events"]`, or
tests pass `disconnect_after=`); `latency_ms` delays the upgrade. Script latency knobs: `first_token_ms`
before each response's output, `stt_ms` before transcription events, `tts_first_byte_ms` before audio.
Audio is sent as fast as it is made unless `$AGENT_SIM_REALTIME_PACE` (x real time, e.g. 1) paces it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
from typing import Any

import numpy as np

from agentcli.realtime.items import text_of, to_neutral
from agentcli.sim.planner import PlannedText, count_tokens, json_pieces, plan_reply, text_pieces

RATE = 24000
CHUNK_MS = 50  # one response.output_audio.delta
FRAME = RATE // 100  # VAD frame: 10 ms
MIN_COMMIT_MS = 100
START_FRAMES = 2  # voiced frames in a row before speech counts as started
EAGERNESS_SILENCE_MS = {"low": 900, "medium": 500, "auto": 500, "high": 250}

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
SESSION_KEYS = {
    "type", "audio", "include", "instructions", "max_output_tokens", "model", "output_modalities", "prompt",
    "tool_choice", "tools", "tracing", "truncation", "reasoning", "parallel_tool_calls",
}


def default_session(model: str) -> dict[str, Any]:
    pcm = {"type": "audio/pcm", "rate": RATE}
    vad = {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500,
           "create_response": True, "interrupt_response": True}
    return {
        "type": "realtime", "model": model, "instructions": "", "output_modalities": ["audio"],
        "audio": {"input": {"format": pcm, "transcription": None, "noise_reduction": None, "turn_detection": vad},
                  "output": {"format": pcm, "voice": "marin", "speed": 1.0}},
        "tools": [], "tool_choice": "auto", "max_output_tokens": "inf",
    }


class ClientError(Exception):
    def __init__(self, message: str, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.code, self.param = code, param


class FaultClose(Exception):
    """The scripted fault: drop the connection now."""


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key not in ("turn_detection", "format"):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


class EnergyVad:
    """Server VAD stand-in: 10 ms frames, voiced when RMS exceeds a level set by `threshold` (0.5 ~ -35 dBFS)."""

    def __init__(self, detection: dict[str, Any]):
        threshold = detection.get("threshold")
        self.level = 10 ** ((-60 + 50 * (0.5 if threshold is None else threshold)) / 20)
        self.prefix_ms = int(detection.get("prefix_padding_ms") or 300)
        silence = detection.get("silence_duration_ms")
        if detection.get("type") == "semantic_vad":
            silence = EAGERNESS_SILENCE_MS.get(detection.get("eagerness") or "auto", 500)
        self.silence_ms = int(500 if silence is None else silence)
        self.speaking = False
        self._voiced_run = 0
        self._silent_ms = 0
        self._last_voiced_end = 0
        self._rest = np.zeros(0, np.float32)

    def feed(self, samples: np.ndarray, start_pos: int) -> list[tuple[str, int]]:
        """Feed audio whose first sample is at `start_pos` (samples since the session began);
        returns ("start", audio_start_ms) / ("stop", audio_end_ms) in order."""
        out: list[tuple[str, int]] = []
        data = np.concatenate([self._rest, samples]) if self._rest.size else samples
        pos = start_pos - self._rest.size
        n = data.size // FRAME
        for i in range(n):
            frame = data[i * FRAME : (i + 1) * FRAME]
            voiced = float(np.sqrt(np.mean(frame.astype(np.float64) ** 2))) > self.level
            end_ms = (pos + (i + 1) * FRAME) * 1000 // RATE
            if voiced:
                self._voiced_run += 1
                self._silent_ms = 0
                self._last_voiced_end = end_ms
                if not self.speaking and self._voiced_run >= START_FRAMES:
                    self.speaking = True
                    first_ms = end_ms - START_FRAMES * 10
                    out.append(("start", max(0, first_ms - self.prefix_ms)))
            else:
                self._voiced_run = 0
                if self.speaking:
                    self._silent_ms += 10
                    if self._silent_ms >= self.silence_ms:
                        self.speaking = False
                        out.append(("stop", self._last_voiced_end))
        self._rest = data[n * FRAME :].copy()
        return out


def synthesize(text: str, voice: str, speed: float) -> bytes:
    """24 kHz 16-bit mono PCM for `text`: the simulator's speech voice (the one /v1/audio/speech uses)."""
    try:
        from agentcli.sim.speech import synthesize_pcm  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return _placeholder_voice(text, speed)
    return bytes(synthesize_pcm(text, voice=voice, speed=speed))


def _placeholder_voice(text: str, speed: float) -> bytes:
    """A voice-like signal ~70 ms per character, until the sim's speech module is there."""
    n = int(RATE * 0.07 * max(1, len(text)) / max(0.25, speed))
    t = np.arange(n) / RATE
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)
    wave = 0.25 * env * (np.sin(2 * np.pi * 160 * t) + 0.5 * np.sin(2 * np.pi * 320 * t))
    return (np.clip(wave, -1, 1) * 32767).astype("<i2").tobytes()


async def handle_realtime(conn: Any, request: Any, *, disconnect_after: int | None = None) -> None:
    """The websocket route for /v1/realtime (registered in agentcli.sim.server)."""
    model = request.query.get("model") or "gpt-realtime"
    if disconnect_after is None:
        disconnect_after = request.extra.get("disconnect_after_events")
    session = RealtimeSimSession(conn, request.sim, model, disconnect_after)
    await session.run()


class RealtimeSimSession:
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
        self.response: asyncio.Task[None] | None = None
        self.cancel_reason = "client_cancelled"
        self.sent = 0
        self.disconnect_after = disconnect_after
        self.pace = float(os.environ.get("AGENT_SIM_REALTIME_PACE") or 0)
        self._tasks: set[asyncio.Task[None]] = set()
        self._new_vad()

    # --- plumbing -------------------------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return self.sim.next_id(prefix) if hasattr(self.sim, "next_id") else f"{prefix}_{id(object())}"

    def _latency(self, knob: str) -> float:
        return (self.sim.latency_ms(knob) if hasattr(self.sim, "latency_ms") else 0) / 1000

    async def send(self, event: dict[str, Any]) -> None:
        if self.disconnect_after is not None and self.sent >= self.disconnect_after:
            raise FaultClose()
        self.sent += 1
        await self.conn.send(json.dumps({"event_id": self._id("event"), **event}))

    async def error(self, message: str, code: str | None, param: str | None = None,
                    event_id: str | None = None) -> None:
        await self.send({"type": "error", "error": {"type": "invalid_request_error", "code": code,
                                                    "message": message, "param": param, "event_id": event_id}})

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _new_vad(self) -> None:
        detection = self.config["audio"]["input"].get("turn_detection")
        self.vad = EnergyVad(detection) if detection else None

    async def run(self) -> None:
        try:
            await self.send({"type": "session.created", "session": self.config})
            while True:
                raw = await self.conn.recv()
                await self.handle(raw)
        except FaultClose:
            await self.conn.aclose_transport()  # no close frame: the client sees the connection drop
        except ConnectionError:
            pass
        finally:
            for task in [*self._tasks, *([self.response] if self.response else [])]:
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
                raise ClientError(f"Invalid value: '{kind}'. Supported values are: "
                                  + ", ".join(f"'{k}'" for k in CLIENT_EVENTS) + ".", "invalid_value", "type")
            for name in CLIENT_EVENTS[kind]:
                if name not in event:
                    raise ClientError(f"Missing required parameter: '{name}'.", "missing_required_parameter", name)
            await getattr(self, "on_" + kind.replace(".", "_"))(event)
        except ClientError as e:
            await self.error(str(e), e.code, e.param, event_id)

    # --- session and input audio --------------------------------------------------------------------

    async def on_session_update(self, event: dict[str, Any]) -> None:
        session = event["session"]
        if not isinstance(session, dict) or session.get("type") != "realtime":
            raise ClientError("The simulator supports realtime sessions: session.type must be 'realtime'.",
                              "invalid_value", "session.type")
        unknown = sorted(set(session) - SESSION_KEYS)
        if unknown:
            raise ClientError(f"Unknown parameter: 'session.{unknown[0]}'.", "unknown_parameter",
                              f"session.{unknown[0]}")
        if len(session.get("output_modalities") or []) > 1:
            raise ClientError("output_modalities takes one of 'audio' or 'text'.", "invalid_value",
                              "session.output_modalities")
        voice = ((session.get("audio") or {}).get("output") or {}).get("voice")
        if voice is not None and self.sent_audio and voice != self.config["audio"]["output"]["voice"]:
            raise ClientError("Cannot update a conversation's voice if assistant audio is present.",
                              "cannot_update_voice", "session.audio.output.voice")
        self.config = _merge(self.config, session)
        self._new_vad()
        await self.send({"type": "session.updated", "session": self.config})

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
        self.speech_item = self._id("item")
        await self.send({"type": "input_audio_buffer.speech_started", "audio_start_ms": audio_start_ms,
                         "item_id": self.speech_item})
        detection = self.config["audio"]["input"].get("turn_detection") or {}
        if self.response is not None and detection.get("interrupt_response", True):
            await self._cancel_response("turn_detected")

    async def _speech_stopped(self, audio_end_ms: int) -> None:
        item_id = self.speech_item or self._id("item")
        self.speech_item = None
        await self.send({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": audio_end_ms,
                         "item_id": item_id})
        await self._commit(item_id)
        detection = self.config["audio"]["input"].get("turn_detection") or {}
        if detection.get("create_response", True) and self.response is None:
            self._start_response({})

    async def on_input_audio_buffer_commit(self, event: dict[str, Any]) -> None:
        ms = len(self.buffer) * 1000 // (RATE * 2)
        if ms < MIN_COMMIT_MS:
            raise ClientError(f"Error committing input audio buffer: buffer too small. Expected at least "
                              f"{MIN_COMMIT_MS}ms of audio, but buffer only has {ms:.2f}ms of audio.",
                              "input_audio_buffer_commit_empty")
        await self._commit(self.speech_item or self._id("item"))
        self.speech_item = None

    async def _commit(self, item_id: str) -> None:
        seconds = len(self.buffer) / (RATE * 2)
        self.buffer.clear()
        heard = self.sim.next_heard(f"audio of {seconds:.1f} s") if hasattr(self.sim, "next_heard") else ""
        previous = self.items[-1]["id"] if self.items else None
        item = {"id": item_id, "type": "message", "object": "realtime.item", "status": "completed",
                "role": "user", "content": [{"type": "input_audio", "transcript": None}]}
        self.items.append({**item, "content": [{"type": "input_audio", "transcript": heard}]})
        await self.send({"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": previous})
        await self.send({"type": "conversation.item.added", "item": item, "previous_item_id": previous})
        await self.send({"type": "conversation.item.done", "item": item, "previous_item_id": previous})
        if self.config["audio"]["input"].get("transcription"):
            self._spawn(self._transcribe(item_id, heard, seconds))

    async def _transcribe(self, item_id: str, text: str, seconds: float) -> None:
        with contextlib.suppress(FaultClose, ConnectionError):
            await asyncio.sleep(self._latency("stt_ms"))
            for piece in text_pieces(text):
                await self.send({"type": "conversation.item.input_audio_transcription.delta", "item_id": item_id,
                                 "content_index": 0, "delta": piece})
            await self.send({"type": "conversation.item.input_audio_transcription.completed", "item_id": item_id,
                             "content_index": 0, "transcript": text,
                             "usage": {"type": "duration", "seconds": round(seconds, 3)}})

    async def on_input_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        self.buffer.clear()
        await self.send({"type": "input_audio_buffer.cleared"})

    async def on_output_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        raise ClientError("output_audio_buffer.clear is only supported for WebRTC and SIP sessions.",
                          "invalid_value", "type")

    # --- conversation items ---------------------------------------------------------------------------

    def _find(self, item_id: Any) -> dict[str, Any]:
        for item in self.items:
            if item["id"] == item_id:
                return item
        raise ClientError(f"Conversation item with item_id '{item_id}' not found.", "item_not_found", "item_id")

    async def on_conversation_item_create(self, event: dict[str, Any]) -> None:
        item = event["item"]
        if not isinstance(item, dict) or to_neutral(item) is None:
            raise ClientError("Invalid 'item': expected a message, function_call or function_call_output.",
                              "invalid_value", "item")
        item = {**item, "id": item.get("id") or self._id("item"), "object": "realtime.item", "status": "completed"}
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
            raise ClientError("Invalid 'content_index': the item has one content part.", "invalid_value",
                              "content_index")
        if not isinstance(end_ms, int) or end_ms < 0 or end_ms > self.audio_ms[item["id"]]:
            raise ClientError(f"Audio content of {self.audio_ms[item['id']]}ms is already shorter than "
                              f"{end_ms}ms", "invalid_value", "audio_end_ms")
        self.audio_ms[item["id"]] = end_ms
        for part in item.get("content") or []:
            part["transcript"] = ""  # like the API: no text the user did not hear stays in the context
        await self.send({"type": "conversation.item.truncated", "item_id": item["id"], "content_index": 0,
                         "audio_end_ms": end_ms})

    # --- responses ------------------------------------------------------------------------------------

    async def on_response_create(self, event: dict[str, Any]) -> None:
        if self.response is not None:
            raise ClientError("Conversation already has an active response in progress.",
                              "conversation_already_has_active_response")
        self._start_response(event.get("response") or {})

    async def on_response_cancel(self, event: dict[str, Any]) -> None:
        if self.response is None:
            raise ClientError("Cancellation failed: no active response found", "response_cancel_not_active")
        await self._cancel_response("client_cancelled")

    def _start_response(self, params: dict[str, Any]) -> None:
        modalities = params.get("output_modalities") or self.config.get("output_modalities") or ["audio"]
        self.response = asyncio.ensure_future(self._respond(self._id("resp"), modalities))

    async def _cancel_response(self, reason: str) -> None:
        task = self.response
        if task is None:
            return
        self.cancel_reason = reason
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _respond(self, rid: str, modalities: list[str]) -> None:
        output: list[dict[str, Any]] = []
        base = {"id": rid, "object": "realtime.response", "output_modalities": modalities}
        state = {"text": "", "status": "in_progress"}
        try:
            await self.send({"type": "response.created", "response": {**base, "status": "in_progress", "output": []}})
            await asyncio.sleep(self._latency("first_token_ms"))
            conversation = [n for n in (to_neutral(i) for i in self.items) if n is not None]
            for planned in plan_reply(self.script, conversation):
                if isinstance(planned, PlannedText):
                    await self._message(rid, planned.text, modalities, output, state)
                else:
                    for call in planned.calls:
                        await self._function_call(rid, call, output)
            state["status"] = "completed"
            details = None
        except asyncio.CancelledError:
            state["status"] = "cancelled"
            details = {"type": "cancelled", "reason": self.cancel_reason}
            for item in output:
                if item["status"] == "in_progress":
                    item["status"] = "incomplete"
        finally:
            self.response = None
        in_tokens = sum(count_tokens(text_of(i) or i.get("arguments") or i.get("output") or "") for i in self.items)
        in_tokens += count_tokens(self.config.get("instructions") or "")
        out_tokens = sum(count_tokens(text_of(i) or i.get("arguments") or "") for i in output)
        usage = {"total_tokens": in_tokens + out_tokens, "input_tokens": in_tokens, "output_tokens": out_tokens}
        done = {**base, "status": state["status"], "output": output, "usage": usage}
        if details:
            done["status_details"] = details
        with contextlib.suppress(FaultClose, ConnectionError):
            await self.send({"type": "response.done", "response": done})

    async def _add_output(self, rid: str, item: dict[str, Any], output: list[dict[str, Any]]) -> None:
        previous = self.items[-1]["id"] if self.items else None
        self.items.append(item)
        output.append(item)
        await self.send({"type": "conversation.item.added", "item": item, "previous_item_id": previous})
        await self.send({"type": "response.output_item.added", "response_id": rid,
                         "output_index": len(output) - 1, "item": item})

    async def _finish_output(self, rid: str, item: dict[str, Any], output: list[dict[str, Any]]) -> None:
        item["status"] = "completed"
        await self.send({"type": "response.output_item.done", "response_id": rid,
                         "output_index": output.index(item), "item": item})
        await self.send({"type": "conversation.item.done", "item": item})

    async def _message(self, rid: str, text: str, modalities: list[str], output: list[dict[str, Any]],
                       state: dict[str, Any]) -> None:
        audio = "audio" in modalities
        item_id = self._id("item")
        kind = "output_audio" if audio else "output_text"
        item = {"id": item_id, "type": "message", "object": "realtime.item", "status": "in_progress",
                "role": "assistant", "content": []}
        await self._add_output(rid, item, output)
        part: dict[str, Any] = {"type": kind, "transcript": ""} if audio else {"type": kind, "text": ""}
        item["content"].append(part)
        where = {"response_id": rid, "item_id": item_id, "output_index": output.index(item), "content_index": 0}
        wire_part = {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
        await self.send({"type": "response.content_part.added", **where, "part": wire_part})
        words = text_pieces(text)
        if audio:
            await self._speak(text, words, where, part)
            await self.send({"type": "response.output_audio.done", **where})
            await self.send({"type": "response.output_audio_transcript.done", **where, "transcript": text})
            wire_part = {"type": "audio", "transcript": text}
        else:
            for word in words:
                part["text"] += word
                await self.send({"type": "response.output_text.delta", **where, "delta": word})
                await asyncio.sleep(0)
            await self.send({"type": "response.output_text.done", **where, "text": text})
            wire_part = {"type": "text", "text": text}
        await self.send({"type": "response.content_part.done", **where, "part": wire_part})
        await self._finish_output(rid, item, output)

    async def _speak(self, text: str, words: list[str], where: dict[str, Any], part: dict[str, Any]) -> None:
        out = self.config["audio"]["output"]
        pcm = await asyncio.to_thread(synthesize, text, str(out.get("voice") or "marin"), float(out.get("speed") or 1))
        await asyncio.sleep(self._latency("tts_first_byte_ms"))
        self.sent_audio = True
        item_id = where["item_id"]
        self.audio_ms[item_id] = 0
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
            await self.send({"type": "response.output_audio.delta", **where,
                             "delta": base64.b64encode(chunk).decode("ascii")})
            self.audio_ms[item_id] += len(chunk) * 1000 // (RATE * 2)
            if self.pace > 0:
                await asyncio.sleep(max(0.0, t0 + self.audio_ms[item_id] / 1000 / self.pace - loop.time() - 0.2))
            else:
                await asyncio.sleep(0)

    async def _function_call(self, rid: str, call: Any, output: list[dict[str, Any]]) -> None:
        item_id = self._id("item")
        item = {"id": item_id, "type": "function_call", "object": "realtime.item", "status": "in_progress",
                "call_id": call.call_id, "name": call.name, "arguments": ""}
        await self._add_output(rid, item, output)
        where = {"response_id": rid, "item_id": item_id, "output_index": output.index(item), "call_id": call.call_id}
        for piece in json_pieces(call.arguments):
            await self.send({"type": "response.function_call_arguments.delta", **where, "delta": piece})
        item["arguments"] = call.arguments
        await self.send({"type": "response.function_call_arguments.done", **where, "name": call.name,
                         "arguments": call.arguments})
        await self._finish_output(rid, item, output)
