"""The user's side of a realtime conversation: the audio and lines they send (push-to-talk, typed text,
the end of an input file), and what the server makes of them (speech started and stopped, the idle
timeout, the user's item and its transcript). RealtimeSession routes those server events here."""

from __future__ import annotations

import time
from collections.abc import Callable

from agentcli import events as ev
from agentcli.realtime.answers import Answers
from agentcli.realtime.interrupting import Interruptions
from agentcli.realtime.reconnect import new_item_id
from agentcli.realtime.server_events import (
    InputTimeout,
    ItemAdded,
    SpeechStarted,
    SpeechStopped,
    UserTranscriptDelta,
    UserTranscriptDone,
    UserTranscriptFailed,
)
from agentcli.realtime.state import History, Link
from agentcli.realtime.turns import Turns
from agentcli.spec.model import RealtimeSettings
from agentcli.voice.turns import echo_of

MIN_PTT_MS = 100  # the API refuses to commit less
RECENT_ANSWERS = 2  # the answers an echo may come from: the one heard last and the one before
ECHO_TAIL_S = 1.0  # an answer's echo can still reach the microphone this long after its end (device latencies)


class Hearing:
    def __init__(
        self,
        link: Link,
        history: History,
        turns: Turns,
        answers: Answers,
        settings: RealtimeSettings,
        emit: Callable[[ev.Event], None],
        *,
        manual: bool,
        min_speech_ms: int = 400,
    ):
        self.link, self.history, self.turns, self.answers = link, history, turns, answers
        self.settings = settings
        self.emit = emit
        self.manual = manual  # no server turn detection: the client commits each turn
        self.user = answers.user
        self.interruptions = Interruptions(
            answers, settings, emit, min_speech_ms=min_speech_ms, enabled=settings.turn_detection.interrupt_response
        )
        self.forgotten: set[str] = set()  # dropped user items whose transcripts may still come
        self.over_playback = False  # the speech in progress began while an answer was heard
        self.echo_candidates: set[str] = set()  # user items whose speech did: checked for echo when transcribed

    # --- what the user sends ------------------------------------------------------------------------------

    async def send_audio(self, pcm: bytes) -> None:
        """One microphone block (24 kHz pcm16); dropped while the connection is down."""
        if not self.link.ready.is_set():
            return
        if self.manual:
            self.user.ptt_ms += len(pcm) / 48
        self.user.sent_ms += len(pcm) / 48  # 24 kHz pcm16: 48 bytes a millisecond
        self.user.sent_audio.add(pcm)
        await self.link.soft(lambda m: m.append_audio(pcm))

    def gate(self) -> bool:
        """Whether microphone audio goes up now (manual turns: only while talking)."""
        return self.user.talking or not self.manual

    async def ptt_press(self) -> None:
        """Push-to-talk pressed: cut off the assistant, start a fresh input buffer."""
        await self.answers.barge_in(local=True)
        self.user.ptt_ms = 0.0
        self.user.talking = True
        self.user.speech_from_ms = self.user.sent_ms
        await self.link.soft(lambda m: m.clear_audio())
        self.turns.tell(ev.StateChanged(state="hearing"), self.turns.upcoming())

    async def ptt_release(self) -> None:
        """Push-to-talk released: commit what was said and ask for the answer."""
        self.user.talking = False
        if self.user.ptt_ms < MIN_PTT_MS:
            await self.link.soft(lambda m: m.clear_audio())
            self.turns.tell(ev.Notice(message="too short to send; hold the key while you talk"), None)
            self.turns.tell(ev.StateChanged(state="listening"), None)
            return
        self.user.speech_stopped_at = time.perf_counter()
        self.user.awaiting_reply = True
        self.user.speech_ended(self.user.sent_ms)
        await self.link.soft(lambda m: m.commit_audio())
        await self.answers.request()

    async def send_text(self, text: str) -> None:
        """A typed line: a user message, then an answer (after any answer in progress). It cuts off a
        turn whose tool still runs, as speech does (the call's output still reaches the model)."""
        await self.answers.barge_in(local=True)
        self._cut_off_tool_turn()
        item_id = new_item_id()
        self.history.own_ids.add(item_id)
        entry = self.turns.start(item_id, text, base=time.perf_counter())
        self.user.awaiting_reply = True
        self.user.unanswered, self.user.unanswered_speech = entry, None
        await self.link.soft(lambda m: m.add_item(item_id, entry))
        await self.answers.request()

    def _cut_off_tool_turn(self) -> bool:
        """A new user turn (a typed line, committed speech) while the open turn's tool still runs: that
        turn ends as interrupted, not 'ok' with no output. The call runs on; its output still goes to the
        server, so the model has it when it answers the new turn. (Gemini Live takes the call back
        itself: Answers.calls_cancelled.)"""
        calls, turn = self.answers.calls, self.turns.current
        if calls is None or turn is None or turn.index != calls.turn:
            return False
        self.turns.finish("interrupted", interrupted=True)
        return True

    def _server_answers_speech(self) -> bool:
        """The server answers committed speech on its own (OpenAI's server VAD with create_response); not
        Gemini Live, which takes a running call back when the user talks."""
        model = self.link.model
        td = self.settings.turn_detection
        return not self.manual and bool(td.create_response) and model is not None and model.client_interrupts

    async def input_ended(self) -> None:
        """The input file is over: with manual turns the buffer is committed; with server VAD, trailing
        silence lets the server end the turn."""
        if self.manual:
            if self.user.talking:
                await self.ptt_release()
            return
        silence = self.settings.end_silence_ms or 500
        await self.send_audio(bytes(48 * (silence + 300)))

    # --- server events about the user's input ------------------------------------------------------------

    async def speech_started(self, e: SpeechStarted) -> None:
        received = time.perf_counter()
        u = self.user
        u.speaking = True
        u.audio_span = (e.audio_start_ms, 0)
        u.speech_from_ms = u.connection_ms + e.audio_start_ms
        # only speech that begins while the assistant is heard (or just after) can be its echo
        self.over_playback = self.interruptions.answering() or self.turns.answered_within(ECHO_TAIL_S)
        self.turns.tell(ev.StateChanged(state="hearing"), self.turns.upcoming())  # the turn this speech opens
        await self.interruptions.speech_started(e, received)

    async def speech_stopped(self, e: SpeechStopped) -> None:
        u = self.user
        u.speaking = False
        start_ms = u.speech_from_ms
        if await self.interruptions.speech_stopped(e):  # short speech over the answer: forgotten, it plays on
            u.speech_from_ms = None
            self.turns.tell(ev.StateChanged(state="speaking"), self.turns.current_id())
            return
        known = time.perf_counter()  # the end of the turn is known now, a silence window after the speech
        end_ms = u.connection_ms + e.audio_end_ms
        ended = min(known, u.sent_audio.local_time(end_ms) or known)
        began = ended
        if start_ms is not None:  # the server's start includes the padding it keeps from before the speech
            pad = self.settings.turn_detection.prefix_padding_ms
            began = min(ended, u.sent_audio.local_time(start_ms + (300 if pad is None else pad)) or ended)
        u.speech_stopped_at = ended  # latency counts from the end of the speech, as in the cascade
        u.speech_times = (began, ended, known)
        u.audio_span = (u.audio_span[0], e.audio_end_ms)
        u.speech_ended(end_ms)
        if self.settings.turn_detection.create_response:
            u.awaiting_reply = True
        self.turns.tell(ev.StateChanged(state="thinking"), self.turns.upcoming())

    def input_timeout(self, e: InputTimeout) -> None:
        """The user stayed silent for idle_timeout_ms: the server answers on its own, as a turn with no
        input whose latency counts from now."""
        if self.turns.current is None and not self.answers.responding.busy():
            t = self.turns.open(base=time.perf_counter())
            self.user.awaiting_reply = True
            ms = self.settings.turn_detection.idle_timeout_ms or 0
            self.turns.tell(ev.Notice(message=f"no speech for {ms / 1000:g} s; the assistant carries on"), t.turn_id)
            self.turns.tell(ev.StateChanged(state="thinking"), t.turn_id)

    async def item_added(self, e: ItemAdded) -> None:
        if e.kind == "message" and e.role == "user" and self.interruptions.drops(e.item_id):
            self.history.own_ids.add(e.item_id)  # a cough over the answer: not a turn, not in the history
            self.forgotten.add(e.item_id)
            self.user.speech = None
            await self.link.soft(lambda m: m.delete_item(e.item_id))
            return
        if self.history.known(e.item_id) or e.kind != "message":
            return
        if e.role == "user":
            u = self.user
            u.committed_ts = ev.now()
            u.unanswered_speech = None
            speech = None
            if u.speech is not None:  # the speech this item was made of: told just before its turn
                start, end = u.speech
                speech = ev.UserSpeech(start_ms=round(start, 1), end_ms=round(end, 1))
                if u.speech_times is not None:
                    speech.started, speech.ended, speech.detected = (_wall(t) for t in u.speech_times)
                u.speech, u.speech_times = None, None
                if self.over_playback:
                    self.echo_candidates.add(e.item_id)
                self.over_playback = False
                pad = self.settings.turn_detection.prefix_padding_ms or 300
                u.unanswered_speech = (start - pad, end)
            if self._cut_off_tool_turn() and self._server_answers_speech():
                # its answer would come before the call's output: cancelled when it comes; the answer is
                # asked for once the output is sent (the tool task's request, as for a typed line)
                self.answers.responding.ignore_auto = True
            base = u.speech_stopped_at or time.perf_counter()
            u.unanswered = self.turns.start(e.item_id, "", base=base, speech=speech)
            if speech is not None and speech.detected is not None and speech.ended is not None:
                self.turns.mark("end_of_turn", base + (speech.detected - speech.ended))
        elif e.role == "assistant":
            await self.answers.assistant_item(e.item_id)

    def forgets(self, item_id: str) -> bool:
        """Whether the item is user speech that was dropped (its transcript is no news)."""
        return item_id in self.forgotten

    def transcript_delta(self, e: UserTranscriptDelta) -> None:
        if e.delta and not self.forgets(e.item_id):
            self.turns.tell(ev.TranscriptDelta(role="user", delta=e.delta), self.turns.id_of_item(e.item_id))

    def transcript_failed(self, e: UserTranscriptFailed) -> None:
        failed = ev.Notice(message=f"could not transcribe what you said: {e.message}", level="warning")
        self.turns.tell(failed, self.turns.id_of_item(e.item_id))

    async def user_transcript(self, e: UserTranscriptDone) -> None:
        if e.item_id in self.forgotten:
            self.forgotten.discard(e.item_id)
            return
        text = e.transcript.strip()
        entry = self.history.by_id.get(e.item_id)
        candidate = e.item_id in self.echo_candidates
        self.echo_candidates.discard(e.item_id)
        t = self.turns.current
        open_turn = t is not None and t.item_id == e.item_id  # once answered and heard, it is too late
        if entry is not None and candidate and open_turn and echo_of(text, self._assistant_recent(entry)):
            await self._drop_echo(e.item_id, entry, text)
            return
        if entry is not None:
            entry["content"] = text
        if t is not None and entry is not None and t.index == self.history.conversation.turns and not t.input:
            t.input = text
            self.turns.announce()
        self.turns.mark("transcript_final")
        start, end = self.user.audio_span
        model = self.settings.transcription.model if self.settings.transcription else ""
        heard_ms = float(max(0, end - start))
        started = self.user.committed_ts
        done = ev.TranscriptDone(role="user", text=text, model=model, audio_ms=heard_ms, started=started)
        self.turns.tell(done, self.turns.id_of_item(e.item_id))

    # --- never talking to itself --------------------------------------------------------------------------
    # The last line of defence (an echo canceller can diverge, a speaker be turned up): a user turn whose
    # speech began while an answer was heard, or just after, and whose words are mostly what the assistant
    # said before it, in order (agentcli/voice/turns.echo_of, the cascade's test), is its own voice.
    # Only answers before the item count: the answer to it may quote the question.

    def _assistant_recent(self, entry: dict[str, object]) -> list[str]:
        """What the assistant said before the user's item: what its echo can be. Never the answer to this
        very item (it came after, and may well quote the question)."""
        items = self.history.conversation.items
        before = items[: items.index(entry)] if entry in items else items
        said = [
            str(i.get("content") or "")
            for i in before[-8:]
            if i.get("role") == "assistant" and i.get("type", "message") == "message"
        ]
        return said[-RECENT_ANSWERS:]

    async def _drop_echo(self, item_id: str, entry: dict[str, object], text: str) -> None:
        """The user's turn is the assistant's own voice come back through the microphone (echo the front
        end let through): it leaves the history and the server, and an answer made to it is cancelled."""
        notice = ev.Notice(message=f"ignored: that was my own voice ({short(text)})", level="warning")
        self.turns.tell(notice, self.turns.id_of_item(item_id))
        items = self.history.conversation.items
        if entry in items:
            items.remove(entry)
        self.history.by_id.pop(item_id, None)
        self.history.own_ids.add(item_id)
        await self.link.soft(lambda m: m.delete_item(item_id))
        t = self.turns.current
        state = self.answers.responding.current
        if t is not None and state is not None and state.turn == t.index and not state.cancelled:
            await self.answers.drop_response(state)
        elif self.user.awaiting_reply:  # the server's answer to it has not come yet: cancel it then
            self.answers.responding.ignore_auto = True
        self.user.awaiting_reply = False
        self.user.unanswered = None
        self.turns.abandon()


def _wall(perf: float) -> float:
    """A perf_counter time on the events' clock."""
    return ev.now() - (time.perf_counter() - perf)


def short(text: str, limit: int = 60) -> str:
    """One line of a transcript for a notice: no control characters (it is the server's text)."""
    flat = "".join(ch for ch in " ".join(text.split()) if ch.isprintable())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
