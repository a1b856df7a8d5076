"""One realtime conversation: the link to the model (and reconnection), the user's input, turns and the
history; the assistant's side is agentcli/realtime/answers.py.

Server events arrive typed (agentcli/realtime/server_events.py) and are handled in order by one reader,
in one `match` (`handle`); tools, guardrail checks and end-of-turn waits run in side tasks. The model is
reached only through agentcli/realtime/model.py's RealtimeModel (OpenAI's is the default).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentcli import events as ev
from agentcli.errors import ModelError
from agentcli.realtime.answers import Answers
from agentcli.realtime.audio_io import OutputAudio
from agentcli.realtime.config import server_cancels_on_speech
from agentcli.realtime.connection import ConnectionLost, EventLog, Validator
from agentcli.realtime.hearing import MIN_PTT_MS, Hearing
from agentcli.realtime.model import Connect, RealtimeModel, SessionSetup
from agentcli.realtime.reconnect import connect_first, new_item_id, reconnect, replay_history
from agentcli.realtime.server_events import (
    AudioDelta,
    AudioDone,
    FunctionCallDone,
    FunctionCallsCancelled,
    Ignored,
    InputTimeout,
    ItemAdded,
    ResponseCreated,
    ResponseDone,
    ServerError,
    ServerEvent,
    SessionCreated,
    SpeechStarted,
    SpeechStopped,
    TextDelta,
    TextDone,
    UserTranscriptDelta,
    UserTranscriptDone,
    UserTranscriptFailed,
)
from agentcli.realtime.state import History, Link, TurnState, UserInput
from agentcli.realtime.tools import AgentTools
from agentcli.realtime.turns import Turns
from agentcli.runtime.conversation import Conversation
from agentcli.runtime.tools import Approver
from agentcli.spec.model import Spec

if TYPE_CHECKING:
    from agentcli.mcp.servers import McpServers
    from agentcli.runtime.runner import Runner

__all__ = ["MIN_PTT_MS", "RealtimeSession", "SessionOptions"]


@dataclass
class SessionOptions:
    text_only: bool = False
    ptt: bool = False
    give_up_s: float | None = None  # reconnect for at most this long (default $AGENT_REALTIME_GIVE_UP_S or 30)


class RealtimeSession:
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
        connect: Connect | None = None,
        mcp: McpServers | None = None,
        runner: Runner | None = None,
        turn_ids: ev.TurnIds | None = None,
    ):
        """`connect`: opens the model (default: OpenAI's Realtime API at `url`); `mcp`: the session's
        started MCP servers (their tools are offered, and offered again when a server's list changes);
        `runner`: a text Runner that runs `agent:` tools (the delegate pattern); `turn_ids`: the run's
        turn ids (its fan-out's), which the session's turns take as they begin."""
        self.spec = spec
        self.conversation = conversation
        self.options = options or SessionOptions()
        self.settings = spec.entry_agent.realtime  # the session's audio settings; handoffs keep them
        if conversation.agent not in spec.agents:
            conversation.agent = spec.entry
        self.emit = emit
        self.tools = AgentTools(spec, approver, mcp=mcp, runner=runner)
        self._tool_updates: set[asyncio.Future[None]] = set()
        if mcp is not None:
            mcp.listeners.append(self._tools_changed)
        self.log = log
        if connect is None:

            async def connect() -> RealtimeModel:
                from agentcli.realtime.openai_model import OpenAIRealtime

                return await OpenAIRealtime.open(url, api_key, log=log, validate=validate, api_key_env=api_key_env)

        self._connect = connect
        # no server turn detection (--ptt, or `turn_detection: none`): the client commits each turn
        self.manual = self.options.ptt or self.settings.client_turns
        self.server_cancels = server_cancels_on_speech(self.settings, self.options.ptt)
        self.link = Link(resumed=bool(conversation.items))
        self.user = UserInput()
        self.history = History(conversation)
        self.turns = Turns(self.history, emit, lambda: self.tools.agent(self.agent).name, save, turn_ids)
        self.answers = Answers(
            self.link, self.history, self.user, self.turns, self.tools, emit, server_cancels=self.server_cancels
        )
        self.hearing = Hearing(
            self.link, self.history, self.turns, self.answers, self.settings, emit, manual=self.manual,
            min_speech_ms=spec.entry_agent.voice.interruption.min_speech_ms,
        )
        if sink is not None:
            self.answers.output = OutputAudio(sink)

    # --- the parts, by their old names (run.py, tests and benches read these) -------------------------

    @property
    def agent(self) -> str:
        return self.conversation.agent

    @property
    def output(self) -> OutputAudio | None:
        return self.answers.output

    @output.setter
    def output(self, value: OutputAudio | None) -> None:
        self.answers.output = value

    @property
    def save(self) -> Callable[[Conversation], None] | None:
        return self.turns.save

    @save.setter
    def save(self, value: Callable[[Conversation], None] | None) -> None:
        self.turns.save = value

    @property
    def ready(self) -> asyncio.Event:
        return self.link.ready

    @property
    def reconnects(self) -> int:
        return self.link.reconnects

    @property
    def turn(self) -> TurnState | None:
        return self.turns.current

    @property
    def talking(self) -> bool:
        return self.user.talking

    # --- the connection ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the session until close(); reconnects after a drop, or raises ModelError."""
        retries = self.spec.entry_agent.provider.max_retries
        self.link.model = await connect_first(self._connect, self.options.give_up_s, retries, self.emit)
        while True:
            try:
                await self._serve(self.link.model)
                return
            except ConnectionLost:
                if self.link.closing:
                    return
                self._dropped()
                self.link.model = await reconnect(self._connect, self.options.give_up_s)
                self.link.reconnects += 1

    async def _serve(self, model: RealtimeModel) -> None:
        while (event := await model.recv()) is not None:
            await self.handle(event)

    def _dropped(self) -> None:
        self.link.ready.clear()
        self.link.model = None
        self.link.replayed = []  # those items were on the server session that is gone
        self.emit(ev.Notice(message="the realtime connection dropped; reconnecting…", level="warning"))
        asked = self.user.awaiting_reply or self.answers.responding.busy()
        self.hearing.interruptions.reset()  # speech the old server heard is judged no more
        silent = self.answers.dropped()  # the response in flight had said nothing yet
        self.user.speaking = self.user.talking = False
        turn = self.turns.current
        if turn is None or turn.closer is not None:
            self.user.awaiting_reply = False
            return
        entry = self.user.unanswered  # the turn's question: asked again if the new session can know it
        known = entry is not None and (str(entry.get("content") or "").strip() or self.user.unanswered_speech)
        if asked and silent and known:
            self.user.awaiting_reply = True  # asked again once the history is back on the new session
            return
        self.user.awaiting_reply = False
        self.turns.finish("error", error="the realtime connection dropped mid-answer")

    async def close(self) -> None:
        self.link.closing = True
        self.answers.cancel_side_tasks()
        self.hearing.interruptions.reset(resume=False)
        if self.link.model is not None:
            await self.link.model.close()

    def _tools_changed(self) -> None:
        """An MCP server's tool list changed: offer the agent's tools again (after a drop, the next
        connection's configuration carries them)."""
        if self.link.model is None or self.link.closing:
            return
        agent = self.tools.agent(self.agent)
        task = asyncio.ensure_future(self.link.soft(lambda m: m.switch_agent(agent, self.tools.schemas(self.agent))))
        self._tool_updates.add(task)
        task.add_done_callback(self._tool_updates.discard)

    def setup(self) -> SessionSetup:
        return SessionSetup(
            agent=self.tools.agent(self.agent),
            tools=self.tools.schemas(self.agent),
            settings=self.settings,
            text_only=self.options.text_only,
            ptt=self.options.ptt,
        )

    # --- the one dispatch of server events ---------------------------------------------------------------

    async def handle(self, event: ServerEvent) -> None:
        a, h = self.answers, self.hearing
        match event:
            case AudioDelta():  # response.output_audio.delta
                a.audio_delta(event)
            case TextDelta():  # response.output_audio_transcript.delta, response.output_text.delta
                a.text_delta(event)
            case TextDone():  # response.output_audio_transcript.done, response.output_text.done
                a.text_done(event)
            case AudioDone():  # response.output_audio.done
                a.audio_done(event)
            case FunctionCallDone():  # response.function_call_arguments.done
                a.function_call(event)
            case FunctionCallsCancelled():  # Gemini Live's toolCallCancellation
                await a.calls_cancelled(event)
            case ResponseCreated():  # response.created
                await a.created(event)
            case ResponseDone():  # response.done
                await a.done(event)
            case ItemAdded():  # conversation.item.added
                await h.item_added(event)
            case SpeechStarted():  # input_audio_buffer.speech_started
                await h.speech_started(event)
            case SpeechStopped():  # input_audio_buffer.speech_stopped
                await h.speech_stopped(event)
            case InputTimeout():  # input_audio_buffer.timeout_triggered
                h.input_timeout(event)
            case UserTranscriptDelta():  # conversation.item.input_audio_transcription.delta
                h.transcript_delta(event)
            case UserTranscriptDone():  # conversation.item.input_audio_transcription.completed
                await h.user_transcript(event)
            case UserTranscriptFailed():  # conversation.item.input_audio_transcription.failed
                h.transcript_failed(event)
            case SessionCreated():  # session.created
                await self._session_created()
            case ServerError():  # error
                self._server_error(event)
            case Ignored():
                pass

    async def _session_created(self) -> None:
        u = self.user
        # this server counts audio from here; speech a dropped connection never made into an item is gone
        u.connection_ms, u.speech_from_ms, u.speech = u.sent_ms, None, None
        await self.link.send(lambda m: m.configure(self.setup()))
        link = self.link
        restored = link.model is not None and link.model.restores_context  # a resumed server session
        if (link.reconnects or link.resumed) and restored:
            self.emit(ev.Notice(message="reconnected; the server resumed the session"))
            link.resumed = False
        elif link.reconnects or link.resumed:
            await replay_history(link, self.history)
            what = "reconnected; conversation restored" if link.reconnects else "conversation resumed"
            self.emit(ev.Notice(message=f"{what} ({len(link.replayed)} items)"))
            link.resumed = False
        link.ready.set()
        self.emit(ev.StateChanged(state="listening"))
        if u.awaiting_reply and u.unanswered is not None:  # the question the drop left unanswered
            await self._ask_again(u.unanswered)

    async def _ask_again(self, entry: dict[str, Any]) -> None:
        """After a reconnect: the open turn's question is on the new session (replayed as text, or here
        as its audio when it was never transcribed); ask for its answer."""
        audio = b"" if str(entry.get("content") or "").strip() else self.user.unanswered_audio()
        if audio:
            item_id = new_item_id()
            self.history.own_ids.add(item_id)
            self.history.by_id[item_id] = entry
            await self.link.send(lambda m: m.add_user_audio(item_id, audio))
        await self.answers.request()

    def _server_error(self, e: ServerError) -> None:
        if e.code == "conversation_already_has_active_response":
            self.answers.create_refused()
            return
        if e.code == "response_cancel_not_active":  # the response ended while our cancel was on its way
            return
        model = self.link.model
        if model is not None and model.is_session_error(e.event_id, e.param):
            raise ModelError(f"the realtime server refused the session: {e.message}")
        self.emit(ev.Notice(message=f"realtime server: {e.message}", level="warning"))

    # --- input (agentcli/realtime/hearing.py) ----------------------------------------------------------

    async def send_audio(self, pcm: bytes) -> None:
        await self.hearing.send_audio(pcm)

    def gate(self) -> bool:
        return self.hearing.gate()

    async def ptt_press(self) -> None:
        await self.hearing.ptt_press()

    async def ptt_release(self) -> None:
        await self.hearing.ptt_release()

    async def send_text(self, text: str) -> None:
        await self.hearing.send_text(text)

    async def input_ended(self) -> None:
        await self.hearing.input_ended()

    async def barge_in(self, *, local: bool) -> None:
        await self.answers.barge_in(local=local)

    async def request_response(self) -> None:
        await self.answers.request()

    # --- waiting for quiet ---------------------------------------------------------------------------------

    def is_idle(self) -> bool:
        u = self.user
        return not (u.speaking or u.awaiting_reply or self.turns.current is not None or self.answers.responding.busy())

    async def wait_idle(self, poll_s: float = 0.02) -> None:
        while not self.is_idle():
            await asyncio.sleep(poll_s)

    async def wait_quiet(self, quiet_s: float = 0.5, poll_s: float = 0.02) -> None:
        """Until the session has been idle for `quiet_s` in a row (the server may still be answering
        input it just got)."""
        loop = asyncio.get_running_loop()
        since = loop.time()
        while loop.time() - since < quiet_s:
            await asyncio.sleep(poll_s)
            if not self.is_idle():
                since = loop.time()

    async def wait_turn_over(self) -> None:
        """For --fast input: hold the microphone while a turn is being answered (no talking over)."""
        while self.user.awaiting_reply or self.turns.current is not None or self.answers.responding.busy():
            await asyncio.sleep(0.01)
