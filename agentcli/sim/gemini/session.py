"""One simulated Gemini Live session (see agentcli/sim/gemini/__init__.py for what it does)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
from typing import Any

import numpy as np

from agentcli.sim.gemini.wire import camel, function_output, neutral_items
from agentcli.sim.planner import PlannedText, count_tokens, item_text, plan_reply, text_pieces
from agentcli.sim.realtime.vad import RATE as VAD_RATE
from agentcli.sim.realtime.vad import EnergyVad
from agentcli.sim.speech import synthesize_pcm

IN_RATE = 16000
OUT_RATE = 24000
CHUNK_MS = 50  # audio per modelTurn message
PACE_LEAD_S = 0.2
GO_AWAY_CLOSE_S = 1.0


class GeminiSimSession:
    def __init__(self, conn: Any, sim: Any, go_away_after: int | None = None):
        self.conn, self.sim = conn, sim
        self.script = getattr(sim, "script", None)
        self.setup: dict[str, Any] = {}
        self.items: list[dict[str, Any]] = []  # the conversation, as the planner's neutral items
        self.vad: EnergyVad | None = None
        self.pos = 0  # 24 kHz samples fed to the detector
        self.turn_samples = 0  # 16 kHz samples of the user's turn in progress
        self.activity = False  # between activityStart and activityEnd
        self.generation: asyncio.Task[None] | None = None
        self.open_calls: list[str] = []  # toolCall ids sent whose toolResponse has not come
        self.sent = 0
        self.go_away_after = go_away_after
        self.pace = float(os.environ.get("AGENT_SIM_REALTIME_PACE") or 0)
        self._tasks: set[asyncio.Task[None]] = set()
        if not hasattr(sim, "gemini_handles"):
            sim.gemini_handles = {}  # resumption handle -> the conversation then (shared by connections)
        self.handles: dict[str, list[dict[str, Any]]] = sim.gemini_handles

    # --- plumbing ------------------------------------------------------------------------------------------

    async def send(self, message: dict[str, Any]) -> None:
        await self.conn.send(json.dumps(message))
        self.sent += 1
        if self.go_away_after is not None and self.sent >= self.go_away_after:
            self.go_away_after = None
            await self.conn.send(json.dumps({"goAway": {"timeLeft": f"{GO_AWAY_CLOSE_S:g}s"}}))
            self._spawn(self._close_later(GO_AWAY_CLOSE_S))

    async def _close_later(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        with contextlib.suppress(ConnectionError):
            await self.conn.close(1000, "session over (goAway)")

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def latency_s(self, knob: str) -> float:
        return (self.sim.latency_ms(knob) if hasattr(self.sim, "latency_ms") else 0) / 1000

    async def _read(self) -> dict[str, Any] | None:
        raw = await self.conn.recv()
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            await self.conn.close(1007, "Request contains an invalid argument: not a JSON object.")
            return None
        return camel(message)  # type: ignore[no-any-return]

    async def run(self) -> None:
        try:
            first = await self._read()
            if first is None:
                return
            if not isinstance(first.get("setup"), dict):
                await self.conn.close(1007, "Request contains an invalid argument: the first message must be setup.")
                return
            await self._setup(first["setup"])
            while (message := await self._read()) is not None:
                await self.handle(message)
        except ConnectionError:  # the client left, or a scripted fault dropped the connection
            pass
        finally:
            for task in [*self._tasks, *([self.generation] if self.generation else [])]:
                task.cancel()

    async def _setup(self, setup: dict[str, Any]) -> None:
        self.setup = setup
        handle = (setup.get("sessionResumption") or {}).get("handle")
        if handle and handle in self.handles:
            self.items = [dict(i) for i in self.handles[handle]]
        detection = (setup.get("realtimeInputConfig") or {}).get("automaticActivityDetection") or {}
        if not detection.get("disabled"):
            silence, prefix = detection.get("silenceDurationMs"), detection.get("prefixPaddingMs")
            self.vad = EnergyVad({"silence_duration_ms": silence, "prefix_padding_ms": prefix})
        await self.send({"setupComplete": {}})

    async def handle(self, message: dict[str, Any]) -> None:
        if isinstance(message.get("realtimeInput"), dict):
            await self._realtime_input(message["realtimeInput"])
        elif isinstance(message.get("clientContent"), dict):
            await self._client_content(message["clientContent"])
        elif isinstance(message.get("toolResponse"), dict):
            for response in message["toolResponse"].get("functionResponses") or []:
                if isinstance(response, dict):
                    self.items.append(function_output(response))
                    self.open_calls = [c for c in self.open_calls if c != str(response.get("id") or "")]
            if not self.open_calls:  # the model goes on once every call of its toolCall has its response
                await self._answer()
        else:
            what = "setup may only be the first message" if "setup" in message else "unknown message"
            await self.conn.close(1007, f"Request contains an invalid argument: {what}.")

    # --- the user's side -----------------------------------------------------------------------------------

    async def _realtime_input(self, ri: dict[str, Any]) -> None:
        if ri.get("activityStart") is not None:
            self.activity, self.turn_samples = True, 0
            await self._interrupt()
        audio = ri.get("audio")
        if audio is None and ri.get("mediaChunks"):
            audio = ri["mediaChunks"][0]
        if isinstance(audio, dict) and audio.get("data"):
            await self._audio(base64.b64decode(audio["data"]))
        if ri.get("activityEnd") is not None and self.activity:
            self.activity = False
            await self._user_turn()
        if ri.get("text"):
            await self._interrupt()
            self.items.append({"type": "message", "role": "user", "content": str(ri["text"])})
            await self._answer()

    async def _audio(self, pcm: bytes) -> None:
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], "<i2").astype(np.float32) / 32768
        if self.vad is None:
            if self.activity:
                self.turn_samples += samples.size
            return
        n = samples.size * VAD_RATE // IN_RATE
        up = np.interp(np.arange(n) * IN_RATE / VAD_RATE, np.arange(samples.size), samples).astype(np.float32)
        events = self.vad.feed(up, self.pos)
        self.pos += n
        if self.vad.speaking or events:
            self.turn_samples += samples.size
        for kind, _ms in events:
            if kind == "start":
                await self._interrupt()
            else:
                await self._user_turn()

    async def _user_turn(self) -> None:
        seconds = self.turn_samples / IN_RATE
        self.turn_samples = 0
        default = f"audio of {seconds:.1f} s"
        heard = self.sim.next_heard(default) if hasattr(self.sim, "next_heard") else default
        if "inputAudioTranscription" in self.setup:
            await asyncio.sleep(self.latency_s("stt_ms"))
            await self.send({"serverContent": {"inputTranscription": {"text": heard}}})
        self.items.append({"type": "message", "role": "user", "content": heard})
        await self._answer()

    async def _client_content(self, content: dict[str, Any]) -> None:
        turns = [t for t in content.get("turns") or [] if isinstance(t, dict)]
        if turns:
            await self._interrupt()  # new content interrupts the answer in progress, as the API does
        for turn in turns:
            for part in turn.get("parts") or []:
                blob = part.get("inlineData") if isinstance(part, dict) else None
                if isinstance(blob, dict) and str(blob.get("mimeType", "")).startswith("audio/"):
                    seconds = len(base64.b64decode(blob.get("data") or "")) / 2 / IN_RATE
                    default = f"audio of {seconds:.1f} s"
                    heard = self.sim.next_heard(default) if hasattr(self.sim, "next_heard") else default
                    self.items.append({"type": "message", "role": "user", "content": heard})
            self.items.extend(neutral_items(turn))
        if content.get("turnComplete"):
            await self._answer()

    # --- the model's side ----------------------------------------------------------------------------------

    async def _interrupt(self) -> None:
        if self.open_calls:  # the user cut in while the client runs our calls: they are taken back
            ids, self.open_calls = self.open_calls, []
            self.items = [i for i in self.items if not (i.get("type") == "function_call" and i.get("call_id") in ids)]
            await self.send({"toolCallCancellation": {"ids": ids}})
        task, self.generation = self.generation, None
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await self.send({"serverContent": {"interrupted": True}})

    async def _answer(self) -> None:
        await self._interrupt()
        self.generation = asyncio.ensure_future(self._generate())

    async def _generate(self) -> None:
        try:
            await asyncio.sleep(self.latency_s("first_token_ms"))
            said: list[str] = []
            for planned in plan_reply(self.script, self.items):
                if isinstance(planned, PlannedText):
                    await self._say(planned.text, said)
                    continue
                calls = []
                for call in planned.calls:
                    self.items.append({"type": "function_call", "call_id": call.call_id, "name": call.name,
                                       "arguments": call.arguments})  # fmt: skip
                    calls.append({"id": call.call_id, "name": call.name, "args": json.loads(call.arguments or "{}")})
                self.open_calls = [c["id"] for c in calls]
                await self.send({"toolCall": {"functionCalls": calls}})
                return  # the model waits for the toolResponse
            await self.send({"serverContent": {"generationComplete": True}})
            await self.send({"serverContent": {"turnComplete": True}, "usageMetadata": self._usage(" ".join(said))})
            if "sessionResumption" in self.setup:
                handle = self.sim.next_id("handle") if hasattr(self.sim, "next_id") else f"handle_{id(self)}"
                self.handles[handle] = [dict(i) for i in self.items]
                await self.send({"sessionResumptionUpdate": {"newHandle": handle, "resumable": True}})
        except ConnectionError:
            pass

    def _voice(self) -> str:
        speech = (self.setup.get("generationConfig") or {}).get("speechConfig") or {}
        return str(((speech.get("voiceConfig") or {}).get("prebuiltVoiceConfig") or {}).get("voiceName") or "Puck")

    async def _say(self, text: str, said: list[str]) -> None:
        """One answer; the conversation keeps what was sent (all of it, or up to an interruption)."""
        item = {"type": "message", "role": "assistant", "content": ""}
        self.items.append(item)
        words = text_pieces(text)
        modalities = (self.setup.get("generationConfig") or {}).get("responseModalities") or ["AUDIO"]
        if "AUDIO" not in [str(m).upper() for m in modalities]:
            for word in words:
                item["content"] += word
                await self.send({"serverContent": {"modelTurn": {"parts": [{"text": word}]}}})
                await asyncio.sleep(0)
            said.append(text)
            return
        pcm = await asyncio.to_thread(synthesize_pcm, text, self._voice(), 1.0)
        await asyncio.sleep(self.latency_s("tts_first_byte_ms"))
        step = OUT_RATE * 2 * CHUNK_MS // 1000
        chunks = [pcm[i : i + step] for i in range(0, len(pcm), step)] or [b""]
        transcribe = "outputAudioTranscription" in self.setup
        loop = asyncio.get_running_loop()
        t0, sent_ms, done = loop.time(), 0, 0
        for n, chunk in enumerate(chunks):
            while done < len(words) * (n + 1) // len(chunks):  # words spread over the audio
                item["content"] += words[done]
                if transcribe:
                    await self.send({"serverContent": {"outputTranscription": {"text": words[done]}}})
                done += 1
            blob = {"data": base64.b64encode(chunk).decode("ascii"), "mimeType": f"audio/pcm;rate={OUT_RATE}"}
            await self.send({"serverContent": {"modelTurn": {"parts": [{"inlineData": blob}]}}})
            sent_ms += len(chunk) * 1000 // (OUT_RATE * 2)
            delay = 0.0
            if self.pace > 0:
                delay = max(0.0, t0 + sent_ms / 1000 / self.pace - PACE_LEAD_S - loop.time())
            await asyncio.sleep(delay)  # also lets an interruption in between chunks
        said.append(text)

    def _usage(self, said: str) -> dict[str, int]:
        out_tokens = count_tokens(said)
        in_tokens = sum(count_tokens(item_text(i)) for i in self.items) - out_tokens
        total = in_tokens + out_tokens
        return {"promptTokenCount": in_tokens, "responseTokenCount": out_tokens, "totalTokenCount": total}
