"""RealtimeModel over Gemini Live (BidiGenerateContent): our calls become `setup`, `realtimeInput`,
`clientContent` and `toolResponse`; server messages become the typed events of server_events.py.

Gemini has no items, no response.create, no cancel, no truncate and no speech events, so this model
makes the events the session expects from what the wire says:
- a generation (the first model part, transcription or tool call after input) is ResponseCreated and an
  assistant ItemAdded; if the user spoke since the last one, SpeechStopped and the user's ItemAdded come
  first; `turnComplete` (or a `toolCall`, or `interrupted`) is ResponseDone, with the input
  transcription as UserTranscriptDone;
- the first `inputTranscription` of new speech, and `interrupted`, are SpeechStarted (the session's
  barge-in); playback is cut there and the history keeps the heard part (no truncate exists);
- create_response sends `turnComplete` only when content is waiting; audio turns (server activity
  detection, activityEnd) and tool responses are answered by the server on its own.
Audio: 24 kHz from the session, resampled to 16 kHz here (the audio layer's resampler); 24 kHz back.
A `toolCallCancellation` (the server takes calls back when the user cuts in while they run) is
FunctionCallsCancelled: the session stops those calls, and no toolResponse goes for them.
Handoffs reconnect: the Live API fixes instructions and tools at `setup`, so a handoff opens a new
connection with the new agent's setup and replays the history as text. A `goAway` reconnects with the
last `sessionResumptionUpdate` handle once the answer in progress is over (the server keeps the context).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from agentcli.errors import ModelError
from agentcli.models.base import ToolSchema
from agentcli.realtime import gemini_wire as wire
from agentcli.realtime.connection import ConnectionLost, EventLog, RealtimeConnection, Validator
from agentcli.realtime.gemini_events import GeminiReading, Resumption
from agentcli.realtime.items import replay_entries
from agentcli.realtime.model import RealtimeModel, SessionSetup
from agentcli.realtime.server_events import ServerEvent, SessionCreated
from agentcli.spec.model import AgentSpec, GeminiSettings

BYTES_PER_MS = 48  # the session's side: 24 kHz pcm16
VOICED_RMS = 500.0  # int16 RMS (~ -36 dBFS): where speech lies in what we sent, for its timing only


class GeminiRealtime(GeminiReading, RealtimeModel):
    client_interrupts = False  # the Live API drops its generation itself when it hears the user

    def __init__(
        self,
        url: str,
        api_key: str,
        gemini: GeminiSettings,
        model: str,
        *,
        history: Callable[[], list[dict[str, Any]]],
        resumption: Resumption | None = None,
        log: EventLog | None = None,
        validate: Validator | None = None,
        api_key_env: str = "GEMINI_API_KEY",
    ):
        super().__init__(resumption or Resumption())
        self.url, self.api_key, self.gemini, self.model_name = url, api_key, gemini, model
        self.history = history
        self.log, self.validate, self.api_key_env = log, validate, api_key_env
        self.conn: RealtimeConnection | None = None
        self.restores_context = bool(gemini.session_resumption and self.resumption.handle)
        self._setup: SessionSetup | None = None
        self._greeted = False
        self._resampler: Any = None
        self._activity = False  # activityStart sent (manual turns)
        self._pending = False  # clientContent sent without turnComplete
        self._swap: str | None = None  # "handoff" | "resume": the socket closes to be reopened
        self._respond_after_swap = False

    @classmethod
    async def open(cls, *args: Any, **kwargs: Any) -> GeminiRealtime:
        self = cls(*args, **kwargs)
        self.conn = await wire.open_socket(
            self.url, self.api_key, log=self.log, validate=self.validate, api_key_env=self.api_key_env
        )
        return self

    # --- server side -------------------------------------------------------------------------------------

    async def recv(self) -> ServerEvent | None:
        if not self._greeted:  # the session configures on SessionCreated: that is when `setup` goes
            self._greeted = True
            return SessionCreated()
        while not self._queue:
            assert self.conn is not None
            raw = await self.conn.recv()
            if raw is None:
                if self._swap is None:
                    return None
                await self._reopen()
                continue
            self._translate(raw)
            if self._go_away and self._rid is None and not self._open_calls and self._swap is None \
                    and self.resumption.handle:
                self._swap = "resume"
                await self.conn.close()
        return self._queue.popleft()

    # --- connecting ------------------------------------------------------------------------------------------

    async def _send(self, message: dict[str, Any]) -> None:
        if "toolResponse" in message or (message.get("clientContent") or {}).get("turns"):
            self.resumption.unconsumed.append(message)  # kept first: a resumed session gets it even now
        if self.conn is None or self._swap is not None:
            raise ConnectionLost("reconnecting")
        if "clientContent" in message and self._rid is not None:
            self._cut_by_content = True
        await self.conn.send(message)

    async def configure(self, setup: SessionSetup) -> None:
        self._setup = setup
        self._manual = setup.ptt or self.gemini.activity_detection.disabled
        self._text_only = setup.text_only
        await self._handshake(self.resumption.handle if self.restores_context else None)

    async def _handshake(self, handle: str | None) -> None:
        """Send `setup` and read until `setupComplete` (what comes first is kept for recv)."""
        assert self.conn is not None and self._setup is not None
        if not self.gemini.session_resumption:
            handle = None
        await self.conn.send(wire.setup_message(self._setup, self.gemini, self.model_name, handle))
        try:
            while True:
                raw = await self.conn.recv()
                if raw is None:
                    raise ConnectionLost("closed during setup")
                if "setupComplete" in raw:
                    break
                self._translate(raw)
        except ConnectionLost as e:
            raise ModelError(f"the Gemini Live server refused the session: {e}") from None
        if handle is None:
            self.resumption.unconsumed.clear()
            return
        for message in self.resumption.unconsumed:  # what the resumed session has not seen yet
            await self.conn.send(message)
            self._answered = False
            if "clientContent" in message:
                self._pending = True
            else:  # a toolResponse: the server carries on by itself
                self._expect = True

    async def _reopen(self) -> None:
        """A handoff or a goAway closed the socket on purpose: open the next one and carry on."""
        swap = self._swap  # stays set until the new socket is ready: sends meanwhile are dropped or deferred
        self._go_away = self._expect = False
        self._open_calls.clear()
        try:
            self.conn = await wire.open_socket(
                self.url, self.api_key, log=self.log, validate=self.validate, api_key_env=self.api_key_env
            )
        except ModelError as e:
            raise ConnectionLost(str(e)) from None
        self._resampler = None
        resume = swap == "resume" and self.resumption.handle is not None
        if not resume:  # a handoff: a new session (the old handle would bring the old agent back)
            self.resumption.handle = None
        await self._handshake(self.resumption.handle if resume else None)
        if not resume:
            turns = [c for e in replay_entries(self.history()) if (c := self._content(e)) is not None]
            if turns:
                await self.conn.send({"clientContent": {"turns": turns, "turnComplete": False}})
                self._pending, self._answered = True, False
        self._swap = None
        if self._respond_after_swap:
            self._respond_after_swap = False
            await self.create_response()

    async def switch_agent(self, agent: AgentSpec, tools: list[ToolSchema]) -> None:
        if self._setup is None or self.conn is None:
            return
        self._setup = replace(self._setup, agent=agent, tools=tools)
        self._swap = "handoff"
        await self.conn.close()  # the reader's recv reopens with the new setup

    # --- client side ---------------------------------------------------------------------------------------

    async def append_audio(self, pcm: bytes) -> None:
        import numpy as np

        from agentcli.audio.resample import Resampler, float_to_pcm16

        samples = np.frombuffer(pcm, dtype=np.int16)
        ms = len(pcm) / BYTES_PER_MS
        if samples.size and float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) > VOICED_RMS:
            start = self._voiced[0] if self._voiced is not None else self._sent_ms
            self._voiced = (start, self._sent_ms + ms)
        self._sent_ms += ms
        if self._manual and not self._activity:
            await self._send({"realtimeInput": {"activityStart": {}}})
            self._activity = True
        if self._resampler is None:
            self._resampler = Resampler(wire.OUT_RATE, wire.IN_RATE)
        out = float_to_pcm16(self._resampler.process(pcm))
        if out:
            data = base64.b64encode(out).decode("ascii")
            await self._send({"realtimeInput": {"audio": {"data": data, "mimeType": wire.IN_MIME}}})

    async def commit_audio(self) -> None:
        """Push-to-talk released: the activity ends, and the server answers it."""
        if self._activity:
            self._activity = False
            self._heard = self._expect = True
            self._answered = False
            await self._send({"realtimeInput": {"activityEnd": {}}})

    async def clear_audio(self) -> None:
        """Nothing to clear: Gemini takes audio as it comes (a push-to-talk press starts an activity)."""

    def _content(self, entry: dict[str, Any]) -> dict[str, Any] | None:
        if entry.get("type") == "function_call":
            self._call_names[str(entry.get("call_id", ""))] = str(entry.get("name", ""))
        return wire.to_content(entry, self._call_names)

    async def add_item(self, item_id: str, entry: dict[str, Any], previous_item_id: str | None = None) -> bool:
        if previous_item_id is not None:  # Gemini cannot place content mid-conversation: no rewrites
            return False
        call_id = str(entry.get("call_id", ""))
        if entry.get("type") == "function_call_output" and call_id in self._cancelled_calls:
            return False  # the server took the call back: it wants no response for it
        if entry.get("type") == "function_call_output" and call_id in self._open_calls:
            self._open_calls.discard(call_id)
            name = self._call_names[call_id]
            response = wire.function_response(call_id, name, entry.get("output", ""))
            await self._send({"toolResponse": {"functionResponses": [response]}})
            self._expect, self._answered = True, False
            return True
        content = self._content(entry)
        if content is None:
            return False
        await self._send({"clientContent": {"turns": [content], "turnComplete": False}})
        self._pending, self._answered = True, False
        return True

    async def add_user_audio(self, item_id: str, pcm: bytes) -> None:
        import numpy as np

        from agentcli.audio.resample import float_to_pcm16, resample

        audio = float_to_pcm16(resample(np.frombuffer(pcm, dtype=np.int16), wire.OUT_RATE, wire.IN_RATE))
        blob = {"data": base64.b64encode(audio).decode("ascii"), "mimeType": wire.IN_MIME}
        await self._send({"clientContent": {"turns": [{"role": "user", "parts": [{"inlineData": blob}]}],
                                            "turnComplete": False}})  # fmt: skip
        self._pending, self._answered = True, False

    async def delete_item(self, item_id: str) -> None:
        """Gemini cannot forget a turn; our history (what a reconnect replays) drops or rewrites it."""

    async def truncate(self, item_id: str, audio_end_ms: int) -> None:
        """No truncate on Gemini: the server keeps what it sent; our history keeps what was heard."""

    async def create_response(self) -> bool:
        """Ask for an answer. True when one will come; False when nothing is to be answered (the server
        answered, or answers, the input on its own)."""
        if self._swap is not None:
            self._respond_after_swap = True
            return True
        if self._pending or not (self._answered or self._expect or self._rid is not None):
            self._pending = False
            await self._send({"clientContent": {"turnComplete": True}})
            return True
        return self._expect

    async def cancel_response(self) -> None:
        """No cancel on Gemini: a push-to-talk press or new content interrupts the server's answer, and the
        session ignores the rest of a response it cut off."""

    async def close(self) -> None:
        self._swap = None
        if self.conn is not None:
            await self.conn.close()

    def is_session_error(self, event_id: str | None, param: str | None) -> bool:
        return False
