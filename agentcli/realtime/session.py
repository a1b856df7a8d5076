"""One realtime conversation: connection (and reconnection), session config, turns and the history.

Server events are handled in order by one reader; tools, guardrail checks and end-of-turn waits run
in side tasks. Responses are strictly one at a time: a `response.create` asked for while one is active
(or being created) waits for it to end. What happens inside a response (audio, transcripts, tools,
barge-in, guardrails) lives in agentcli/realtime/responses.py, turn bookkeeping in turns.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentcli import events as ev
from agentcli.errors import ModelError
from agentcli.realtime.audio_io import OutputAudio
from agentcli.realtime.config import agent_part, server_cancels_on_speech, session_config
from agentcli.realtime.connection import ConnectionLost, EventLog, RealtimeConnection, Validator
from agentcli.realtime.reconnect import Backoff, new_item_id, replay_plan
from agentcli.realtime.responses import ResponseHandling
from agentcli.realtime.tools import AgentTools
from agentcli.realtime.turns import TurnHandling, TurnState
from agentcli.runtime.conversation import Conversation
from agentcli.runtime.tools import Approver
from agentcli.spec.model import Spec

if TYPE_CHECKING:
    from agentcli.mcp.servers import McpServers
    from agentcli.runtime.runner import Runner

MIN_PTT_MS = 100  # the API refuses to commit less


@dataclass
class SessionOptions:
    text_only: bool = False
    ptt: bool = False
    give_up_s: float | None = None  # reconnect for at most this long (default $AGENT_REALTIME_GIVE_UP_S or 30)


class RealtimeSession(TurnHandling, ResponseHandling):
    def __init__(
        self,
        spec: Spec,
        conversation: Conversation,
        *,
        url: str,
        api_key: str,
        emit: Callable[[ev.Event], None],
        sink: Any = None,
        approver: Approver | None = None,
        options: SessionOptions | None = None,
        save: Callable[[Conversation], None] | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        log: EventLog | None = None,
        validate: Validator | None = None,
        mcp: McpServers | None = None,
        runner: Runner | None = None,
    ):
        """`mcp`: the session's started MCP servers (their tools are offered, and offered again when a
        server's list changes); `runner`: a text Runner that runs `agent:` tools (the delegate pattern)."""
        self.spec = spec
        self.conversation = conversation
        self.options = options or SessionOptions()
        self.settings = spec.entry_agent.realtime  # the session's audio settings; handoffs keep them
        self.agent = conversation.agent if conversation.agent in spec.agents else spec.entry
        conversation.agent = self.agent
        self.url, self._api_key, self._api_key_env = url, api_key, api_key_env
        self.emit = emit
        self.tools = AgentTools(spec, approver, mcp=mcp, runner=runner)
        self._tool_updates: set[asyncio.Future[None]] = set()
        if mcp is not None:
            mcp.listeners.append(self._tools_changed)
        self.output = OutputAudio(sink) if sink is not None else None
        self.save = save
        self.log, self.validate = log, validate
        self.server_cancels = server_cancels_on_speech(self.settings, self.options.ptt)
        # no server turn detection (--ptt, or `turn_detection: none`): the client commits each turn
        self.manual = self.options.ptt or self.settings.turn_detection.type == "none"
        self.conn: RealtimeConnection | None = None
        self.ready = asyncio.Event()  # configured and able to take audio
        self.closing = False
        self.reconnects = 0
        self.turn: TurnState | None = None
        self.by_id: dict[str, dict[str, Any]] = {}  # realtime item id -> its history entry
        self.own_ids: set[str] = set()  # items we created: their echo is not news
        # what the last replay created on the server: (history entry, server item id), in order
        self.replayed: list[tuple[dict[str, Any], str]] = []
        self.user_speaking = False
        self.awaiting_reply = False  # a user turn went in and its response has not started
        self.talking = False  # push-to-talk held
        self.ptt_ms = 0.0
        self._speech_stopped_at: float | None = None
        self._committed_ts: float | None = None  # when the user's audio went to transcription (events ts)
        self._audio_span: tuple[int, int] = (0, 0)
        self.sent_ms = 0.0  # microphone audio sent this session, over every connection
        self._connection_ms = 0.0  # sent_ms when this connection began: the server counts from there
        self._speech_from_ms: float | None = None  # where the speech in progress began, on sent_ms's timeline
        self._speech: tuple[float, float] | None = None  # finished speech waiting for the item it makes
        self._session_event = 0
        self._resumed = bool(conversation.items)  # a --session with history: recreate it on the server
        self._init_responses()

    # --- connection -------------------------------------------------------------------------------------

    async def _open(self) -> RealtimeConnection:
        return await RealtimeConnection.open(
            self.url, self._api_key, log=self.log, validate=self.validate, api_key_env=self._api_key_env
        )

    async def run(self) -> None:
        """Serve the session until close(); reconnects after a drop, or raises ModelError."""
        self.conn = await self._open()
        while True:
            try:
                await self._serve(self.conn)
                return
            except ConnectionLost:
                if self.closing:
                    return
                self._on_drop()
                self.conn = await self._reconnect()

    async def _serve(self, conn: RealtimeConnection) -> None:
        while True:
            event = await conn.recv()
            if event is None:
                return
            handler = getattr(self, "_on_" + str(event.get("type", "")).replace(".", "_"), None)
            if handler is not None:
                await handler(event)

    async def _reconnect(self) -> RealtimeConnection:
        backoff = Backoff(self.options.give_up_s)
        last = "connection lost"
        while (delay := backoff.next_delay()) is not None:
            await asyncio.sleep(delay)
            try:
                conn = await self._open()
            except ModelError as e:
                last = str(e)
                continue
            self.reconnects += 1
            return conn
        raise ModelError(
            f"lost the realtime connection and could not reconnect within {backoff.give_up_s:g} s ({last})"
        )

    def _on_drop(self) -> None:
        self.ready.clear()
        self.replayed = []  # those items were on the server session that is gone
        self.emit(ev.Notice(message="the realtime connection dropped; reconnecting…", level="warning"))
        self._drop_responses()
        self.user_speaking = self.talking = False
        if self.awaiting_reply or (self.turn is not None and self.turn.closer is None):
            self.awaiting_reply = False
            self.finish_turn("error", error="the realtime connection dropped mid-answer")

    async def rewrite_replayed(self, entry: dict[str, Any]) -> None:
        """A replayed history entry changed after the replay: a barge-in cut an answer that was still
        playing from the dropped connection, so the server holds all of its text while the user heard a
        part. Swap the server's copy for the entry as it is now, at the same place in the conversation."""
        index = next((i for i, (replayed, _) in enumerate(self.replayed) if replayed is entry), None)
        if index is None:
            return
        await self.send_soft({"type": "conversation.item.delete", "item_id": self.replayed[index][1]})
        plan = replay_plan([entry])
        if not plan:  # nothing was heard: the answer leaves the conversation
            del self.replayed[index]
            return
        _, event = plan[0]
        event["previous_item_id"] = self.replayed[index - 1][1] if index else "root"
        self.own_ids.add(event["item"]["id"])
        self.replayed[index] = (entry, event["item"]["id"])
        await self.send_soft(event)

    async def send(self, event: dict[str, Any]) -> None:
        if self.conn is None:
            raise ConnectionLost("not connected")
        await self.conn.send(event)

    async def send_soft(self, event: dict[str, Any]) -> None:
        """Send, or drop the event while the connection is down (the reader handles the drop)."""
        with contextlib.suppress(ConnectionLost):
            await self.send(event)

    async def close(self) -> None:
        self.closing = True
        self._cancel_side_tasks()
        if self.conn is not None:
            await self.conn.close()

    def session_config(self) -> dict[str, Any]:
        agent = self.tools.agent(self.agent)
        return session_config(
            agent,
            self.tools.schemas(self.agent),
            settings=self.settings,
            text_only=self.options.text_only,
            ptt=self.options.ptt,
        )

    async def _on_session_created(self, event: dict[str, Any]) -> None:
        self._session_event += 1
        # this server counts audio from here; speech a dropped connection never made into an item is gone
        self._connection_ms, self._speech_from_ms, self._speech = self.sent_ms, None, None
        await self.send(
            {
                "type": "session.update",
                "event_id": f"evt_session_{self._session_event}",
                "session": self.session_config(),
            }
        )
        if self.reconnects or self._resumed:
            replay = replay_plan(self.conversation.items)
            self.replayed = [(entry, item_event["item"]["id"]) for entry, item_event in replay]
            for _, item_event in replay:
                self.own_ids.add(item_event["item"]["id"])
                await self.send(item_event)
            what = "reconnected; conversation restored" if self.reconnects else "conversation resumed"
            self.emit(ev.Notice(message=f"{what} ({len(replay)} items)"))
            self._resumed = False
        self.ready.set()
        self.emit(ev.StateChanged(state="listening"))

    async def _on_error(self, event: dict[str, Any]) -> None:
        error = event.get("error") or {}
        message, code = str(error.get("message") or "error"), error.get("code")
        if code == "conversation_already_has_active_response":
            self.create_refused()
            return
        if code == "response_cancel_not_active":  # the response ended while our cancel was on its way
            return
        if str(error.get("event_id") or "").startswith("evt_session_") or str(error.get("param") or "").startswith(
            "session"
        ):
            raise ModelError(f"the realtime server refused the session: {message}")
        self.emit(ev.Notice(message=f"realtime server: {message}", level="warning"))

    # --- input ------------------------------------------------------------------------------------------

    async def send_audio(self, pcm: bytes) -> None:
        """One microphone block (24 kHz pcm16); dropped while the connection is down."""
        if not self.ready.is_set():
            return
        if self.manual:
            self.ptt_ms += len(pcm) / 48
        self.sent_ms += len(pcm) / 48  # 24 kHz pcm16: 48 bytes a millisecond
        await self.send_soft({"type": "input_audio_buffer.append", "audio": _b64(pcm)})

    def gate(self) -> bool:
        """Whether microphone audio goes up now (manual turns: only while talking)."""
        return self.talking or not self.manual

    async def ptt_press(self) -> None:
        """Push-to-talk pressed: cut off the assistant, start a fresh input buffer."""
        await self.barge_in(local=True)
        self.ptt_ms = 0.0
        self.talking = True
        self._speech_from_ms = self.sent_ms
        await self.send_soft({"type": "input_audio_buffer.clear"})
        self.emit(ev.StateChanged(state="hearing"))

    async def ptt_release(self) -> None:
        """Push-to-talk released: commit what was said and ask for the answer."""
        self.talking = False
        if self.ptt_ms < MIN_PTT_MS:
            await self.send_soft({"type": "input_audio_buffer.clear"})
            self.emit(ev.Notice(message="too short to send; hold the key while you talk"))
            self.emit(ev.StateChanged(state="listening"))
            return
        self._speech_stopped_at = time.perf_counter()
        self.awaiting_reply = True
        self._speech_ended(self.sent_ms)
        await self.send_soft({"type": "input_audio_buffer.commit"})
        await self.request_response()

    async def send_text(self, text: str) -> None:
        """A typed line: a user message, then an answer (after any answer in progress)."""
        await self.barge_in(local=True)
        item_id = new_item_id()
        self.own_ids.add(item_id)
        self.start_turn(item_id, text, base=time.perf_counter())
        self.awaiting_reply = True
        await self.send_soft(
            {
                "type": "conversation.item.create",
                "item": {
                    "id": item_id,
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": text}],
                },
            }
        )
        await self.request_response()

    async def input_ended(self) -> None:
        """The input file is over: with manual turns the buffer is committed; with server VAD, trailing
        silence lets the server end the turn."""
        if self.manual:
            if self.talking:
                await self.ptt_release()
            return
        silence = self.settings.turn_detection.silence_duration_ms or 500
        await self.send_audio(bytes(48 * (silence + 300)))

    # --- server events about the user's input ----------------------------------------------------------

    async def _on_input_audio_buffer_speech_started(self, event: dict[str, Any]) -> None:
        self.user_speaking = True
        self._audio_span = (int(event.get("audio_start_ms") or 0), 0)
        self._speech_from_ms = self._connection_ms + self._audio_span[0]
        self.emit(ev.StateChanged(state="hearing"))
        if self.settings.turn_detection.interrupt_response:
            await self.barge_in(local=False)

    async def _on_input_audio_buffer_speech_stopped(self, event: dict[str, Any]) -> None:
        self.user_speaking = False
        self._speech_stopped_at = time.perf_counter()
        self._audio_span = (self._audio_span[0], int(event.get("audio_end_ms") or 0))
        self._speech_ended(self._connection_ms + self._audio_span[1])
        if self.settings.turn_detection.create_response:
            self.awaiting_reply = True
        self.emit(ev.StateChanged(state="thinking"))

    def _speech_ended(self, end_ms: float) -> None:
        start = end_ms if self._speech_from_ms is None else min(self._speech_from_ms, end_ms)
        self._speech, self._speech_from_ms = (start, end_ms), None

    async def _on_conversation_item_added(self, event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        item_id = str(item.get("id") or "")
        if item_id in self.own_ids or item_id in self.by_id:
            return
        if item.get("type") == "message" and item.get("role") == "user":
            self._committed_ts = ev.now()
            if self._speech is not None:  # the speech this item was made of, just before its turn
                start, end = self._speech
                self.emit(ev.UserSpeech(start_ms=round(start, 1), end_ms=round(end, 1)))
                self._speech = None
            self.start_turn(item_id, "", base=self._speech_stopped_at or time.perf_counter())
        elif item.get("type") == "message" and item.get("role") == "assistant":
            self.assistant_item(item_id, event)

    async def _on_conversation_item_input_audio_transcription_delta(self, event: dict[str, Any]) -> None:
        if event.get("delta"):
            self.emit(ev.TranscriptDelta(role="user", delta=str(event["delta"])))

    async def _on_conversation_item_input_audio_transcription_completed(self, event: dict[str, Any]) -> None:
        text = str(event.get("transcript") or "").strip()
        entry = self.by_id.get(str(event.get("item_id")))
        if entry is not None:
            entry["content"] = text
        t = self.turn
        if t is not None and entry is not None and t.index == self.conversation.turns and not t.input:
            t.input = text
            self.announce_turn()
        self.mark("transcript_final")
        start, end = self._audio_span
        model = self.settings.transcription.model if self.settings.transcription else ""
        self.emit(
            ev.TranscriptDone(
                role="user", text=text, model=model, audio_ms=float(max(0, end - start)), started=self._committed_ts
            )
        )

    async def _on_conversation_item_input_audio_transcription_failed(self, event: dict[str, Any]) -> None:
        message = (event.get("error") or {}).get("message") or "transcription failed"
        self.emit(ev.Notice(message=f"could not transcribe what you said: {message}", level="warning"))

    def _tools_changed(self) -> None:
        if self.conn is None or self.closing:
            return  # the next connection's session.update carries the new list
        update = {"type": "session.update", "session": agent_part(self.tools.agent(self.agent),
                                                                  self.tools.schemas(self.agent))}
        task = asyncio.ensure_future(self.send_soft(update))
        self._tool_updates.add(task)
        task.add_done_callback(self._tool_updates.discard)

    def switch_agent(self, key: str) -> dict[str, Any]:
        """Make `key` the session's agent; returns the session.update for it (no voice: it stays)."""
        before = self.tools.agent(self.agent).name
        self.agent = self.conversation.agent = key
        self.emit(ev.Handoff(from_agent=before, to_agent=self.tools.agent(key).name))
        return {
            "type": "session.update",
            "session": agent_part(self.tools.agent(key), self.tools.schemas(key)),
        }


def _b64(pcm: bytes) -> str:
    import base64

    return base64.b64encode(pcm).decode("ascii")
