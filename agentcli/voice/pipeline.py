"""One voice turn: the user's audio (or a typed line) -> STT -> the agent -> sentences -> TTS -> the sink.

Latency marks are ms from the user's last voiced frame (end_of_speech = 0): transcript_final,
first_token, first_sentence, first_audio_byte, end_of_turn (a prepared turn), first_sample_played.
`interrupt()` is barge-in: the sink goes silent first, then synthesis and the agent run are cancelled
and the history keeps what was heard.

A turn started with `committed=False` is prepared ahead (at a short pause, before the user's turn is
known to be over): it transcribes, runs the agent and synthesizes, but holds back its events, its state
changes and its audio until `commit()`; `discard()` drops it without a trace in the history.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agentcli import events as ev
from agentcli.audio.sink import silenced
from agentcli.runtime.open_turn import OpenTurn
from agentcli.voice.history import TurnItems, heard_chars, heard_ms, heard_text, truncate_turn
from agentcli.voice.sentences import SentenceSplitter
from agentcli.voice.speaker import Speaker, to_ts
from agentcli.voice.stt import SpeechToText
from agentcli.voice.tts import TextToSpeech


@dataclass
class VoiceContext:
    """What every turn of a session shares."""

    runner: Any  # agentcli.runtime.runner.Runner
    conversation: Any  # agentcli.runtime.conversation.Conversation
    stt: SpeechToText
    tts: TextToSpeech
    sink: Any  # agentcli.audio.sink.AudioSink (Player or FileSink)
    emit: Callable[[ev.Event], None]
    save: Callable[[], None] = lambda: None  # persist the conversation (SessionStore)
    hold_speech: bool = False  # the answer may be replaced at the end (output guardrails/type): speak it then
    state: str = "idle"
    said: deque[str] = field(default_factory=lambda: deque(maxlen=12))  # sentences lately played (echo check)
    # taps (--record): a committed turn's audio as sent to STT, handed over just before its UserSpeech goes
    # out; each chunk of answer audio the speaker writes to the sink
    user_audio_tap: Callable[[np.ndarray, int], None] | None = None
    answer_audio_tap: Callable[[bytes], None] | None = None
    turn_ids: ev.TurnIds = field(default_factory=ev.TurnIds)  # the run's (its fan-out's)
    upcoming: str | None = None  # the id taken for the turn the user's speech in progress will make

    def set_state(self, state: str, turn_id: str | None = None) -> None:
        """`turn_id`: the turn the change is part of (the user's speech, an answer), if any."""
        if state != self.state:
            self.state = state
            self.emit(ev.StateChanged(state=state, turn_id=turn_id))

    def upcoming_turn(self) -> str:
        """The id of the next turn, taken now (the user started talking): the next turn to go out keeps it."""
        if self.upcoming is None:
            self.upcoming = self.turn_ids.next()
        return self.upcoming

    def take_turn_id(self) -> str:
        turn_id, self.upcoming = self.upcoming or self.turn_ids.next(), None
        return turn_id


@dataclass
class TurnInput:
    """The user's side of a turn: audio (mono float32 at `rate`) or typed text."""

    audio: np.ndarray | None = None
    rate: int = 16000
    text: str | None = None
    end_of_speech: float = field(default_factory=time.perf_counter)  # perf_counter of the last voiced frame
    over_playback: bool = False  # the speech began while the assistant was playing: it may be its echo
    speech_ms: float | None = None  # how long the user spoke (the VAD's SpeechEnd.speech_ms); else the audio's


@dataclass
class TurnResult:
    status: str = "ok"  # ok | error | interrupted | guardrail | empty | echo | discarded
    user_text: str = ""
    answer: str = ""  # what the agent answered (all of it)
    heard: str | None = None  # after a barge-in: what stayed in the history
    marks: dict[str, float] = field(default_factory=dict)
    error: str | None = None


class VoiceTurn:
    def __init__(self, ctx: VoiceContext, turn_input: TurnInput, *, committed: bool = True) -> None:
        self.ctx = ctx
        self.input = turn_input
        self.result = TurnResult()
        self.marks: dict[str, float] = {"end_of_speech": 0.0}
        self.turn_id: str | None = None  # the run's id for this turn, taken when its first event goes out
        self.committed = committed
        self.reads: str | None = None  # how the transcript reads (turns.reads), once it is known
        self.on_read: Callable[[VoiceTurn], None] | None = None  # called once `reads` is known
        self.verdict: tuple[str | None, float | None] = (None, None)  # end_of_turn, turn_model_p (commit())
        self._gate = asyncio.Event()
        self._go = asyncio.Event()  # an unfinished-sounding prepared turn runs the agent only once this is set
        if committed:
            self._gate.set()
            self._go.set()
        self._held: list[ev.Event] = []  # events of a turn not committed yet
        self._state: str | None = None  # the state it would have set
        self.speaker = Speaker(ctx.tts, ctx.sink, self.emit, on_audio=self._first_audio,
                               record=ctx.answer_audio_tap, gate=self._gate,
                               on_sentence=ctx.said.append)
        self._items: TurnItems | None = None
        self._start_len = len(ctx.conversation.items)
        self._start_agent = ctx.conversation.agent
        self._ran = False
        self._task: asyncio.Task[TurnResult] | None = None
        self._interruption: asyncio.Future[ev.Interrupted] | None = None
        self._open = OpenTurn()  # the runner's turn and tool calls that went out and have not ended

    def emit(self, event: ev.Event) -> None:
        """Emit through the run, stamped with this turn: its speech and transcript come before its
        TurnStarted, its speech, interruption and latency events after its TurnDone, and none must be
        taken for another turn's. Held back until commit() (a discarded turn takes no id)."""
        if not self.committed:
            self._held.append(event)
            return
        if event.turn_id is None:
            event.turn_id = self.id()
        tap = self.ctx.user_audio_tap
        if isinstance(event, ev.UserSpeech) and tap is not None and self.input.audio is not None:
            tap(self.input.audio, self.input.rate)
        self.ctx.emit(event)

    def id(self) -> str:
        if self.turn_id is None:
            self.turn_id = self.ctx.take_turn_id()
        return self.turn_id

    # -- marks ---------------------------------------------------------------------------------------
    def _mark(self, name: str, perf: float | None = None) -> None:
        if name not in self.marks:
            t = time.perf_counter() if perf is None else perf
            self.marks[name] = round((t - self.input.end_of_speech) * 1000.0, 1)

    def _first_audio(self, perf: float) -> None:
        self._mark("first_audio_byte", perf)
        self._set_state("speaking")

    def _set_state(self, state: str) -> None:
        if self.committed:
            self.ctx.set_state(state, self.id())
        else:
            self._state = state

    # -- a prepared turn -----------------------------------------------------------------------------
    def commit(self, end_of_turn: str | None = None, turn_model_p: float | None = None) -> None:
        """The user's turn is over: this answer is theirs. Its events go out, its audio may play.
        `end_of_turn`, `turn_model_p`: how the turn read then, for its UserSpeech."""
        if self.committed:
            return
        self.committed = True
        self.verdict = (end_of_turn, turn_model_p)
        self._mark("end_of_turn")
        held, self._held = self._held, []
        for event in held:
            if isinstance(event, ev.UserSpeech):  # the end of the turn is known now, not when it was prepared
                event.detected = ev.now()
                event.end_of_turn, event.turn_model_p = self.verdict
            self.emit(event)
        if self._state is not None:
            self.ctx.set_state(self._state, self.id())
        self._go.set()
        self._gate.set()

    def go_ahead(self) -> None:
        """The pause has lasted: worth running the agent even if the transcript reads unfinished."""
        self._go.set()

    async def _stop(self) -> None:
        """Silence the speaker and end the turn's task (its generation, speech)."""
        await self.speaker.cancel()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def discard(self) -> None:
        """The user went on talking before this answer was committed: drop it (no history, no audio)."""
        self._held = []
        await self._stop()
        conv = self.ctx.conversation
        if self._ran:  # what the runner saved of this turn goes again
            if len(conv.items) > self._start_len:
                del conv.items[self._start_len :]
                conv.turns -= 1
            conv.agent = self._start_agent
        self.result.status = "discarded"

    # -- running ---------------------------------------------------------------------------------------
    def start(self) -> asyncio.Task[TurnResult]:
        self._task = asyncio.create_task(self.run())
        return self._task

    @property
    def active(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def speaking(self) -> bool:
        return self.speaker.speaking

    async def run(self) -> TurnResult:
        ctx = self.ctx
        # where the history stood when this turn began (a prepared turn is created before the one it
        # replaces is dropped)
        self._start_len, self._start_agent, self._ran = len(ctx.conversation.items), ctx.conversation.agent, True
        self._set_state("thinking")
        text = self.input.text
        if text is None:
            self._spoken()
            text = await self._transcribe()
            if text is None:
                await self._gate.wait()
                return self.result
            from agentcli.voice.turns import echo_of

            if self.input.over_playback and echo_of(text, ctx.said):
                self._read_as("complete")  # nothing to wait for
                self.emit(ev.Notice(message=f"ignored: that was my own voice ({_short(text)})", level="warning"))
                self.result.status = "echo"
                self.emit(ev.TurnLatency(marks=dict(self.marks)))  # every finished turn ends with one
                await self._gate.wait()
                return self.result
        if self.reads == "unfinished":
            await self._go.wait()  # most such pauses end with more speech: no model call for each of them
        self.result.user_text = text
        self._items = TurnItems(text)
        await self._agent(text)
        await self._gate.wait()
        if self.result.status != "error":
            await self.speaker.finish()
            first = next((s.utterance for s in self.speaker.sentences if s.utterance is not None), None)
            if first is not None and first.first_sample_time is not None:
                self._mark("first_sample_played", first.first_sample_time)
        else:
            await self.speaker.cancel()
        self.emit(ev.TurnLatency(marks=dict(self.marks)))
        self.result.marks = dict(self.marks)
        ctx.save()
        return self.result

    def _spoken(self) -> None:
        """The user's speech and the end-of-turn wait, for the trace's spans: the turn starts when the end of
        the turn is known, `end_of_speech` is the last voiced frame."""
        known, end, audio = time.perf_counter(), self.input.end_of_speech, self.input.audio
        rate_ms = audio.shape[0] * 1000.0 / self.input.rate if audio is not None else 0.0
        spoken = self.input.speech_ms if self.input.speech_ms is not None else rate_ms
        wall = ev.now() - known  # perf_counter -> the events' clock
        self.emit(ev.UserSpeech(start_ms=0.0, end_ms=round(spoken, 1), started=wall + end - spoken / 1000,
                                ended=wall + end, detected=wall + known,
                                end_of_turn=self.verdict[0], turn_model_p=self.verdict[1]))

    def _read_as(self, reads: str) -> None:
        self.reads = reads
        if self.on_read is not None:
            self.on_read(self)

    async def _transcribe(self) -> str | None:
        ctx, audio = self.ctx, self.input.audio
        assert audio is not None
        started = ev.now()
        final = ""
        async for part in ctx.stt.transcribe(audio, self.input.rate):
            if part.final:
                final = part.text
            elif part.text:
                self.emit(ev.TranscriptDelta(role="user", delta=part.text))
        self._mark("transcript_final")
        from agentcli.voice.turns import reads

        self.emit(ev.TranscriptDone(role="user", text=final, model=ctx.stt.model,
                                    audio_ms=audio.shape[0] * 1000.0 / self.input.rate, started=started))
        self._read_as(reads(final) if final.strip() else "complete")
        if not final.strip():
            self.emit(ev.Notice(message="heard nothing to answer"))
            self.result.status = "empty"
            self.emit(ev.TurnLatency(marks=dict(self.marks)))
            return None
        return final.strip()

    async def _agent(self, text: str) -> None:
        ctx = self.ctx
        splitter = SentenceSplitter()
        answer: list[str] = []
        assert self._items is not None
        try:
            async for event in ctx.runner.run_turn(ctx.conversation, text):
                await self._on_event(event, splitter, answer)
        except asyncio.CancelledError:
            if not self.interrupting:  # Ctrl-C, the session's end: a barge-in ends it after its Interrupted
                self._end_cancelled("cancelled")
            raise
        self._say(splitter.flush())
        self.result.answer = "".join(answer)

    def _end_cancelled(self, error: str) -> None:
        """A turn cut off before the runner's TurnDone still ends with one (status interrupted), after a
        cancelled ToolCallFinished for each tool call left running, so consumers and the trace see it end."""
        for event in self._open.cut(error):
            self.emit(event)

    async def _on_event(self, event: ev.Event, splitter: SentenceSplitter, answer: list[str]) -> None:
        ctx = self.ctx
        assert self._items is not None
        self.emit(event)
        self._open.note(event)
        self._items.on_event(event)
        if isinstance(event, ev.ToolCallStarted) and not self.committed:
            await self._gate.wait()  # a tool acts on the world: only for a turn the user finished
        if isinstance(event, ev.TextDelta) and event.delta:
            self._mark("first_token")
            answer.append(event.delta)
            if not ctx.hold_speech:
                self._say(splitter.feed(event.delta))
        elif isinstance(event, ev.GenerationDone) and not ctx.hold_speech:
            self._say(splitter.flush())
        elif isinstance(event, ev.TurnDone):
            self.result.status = event.status
            self.result.error = event.error
            if event.status == "ok" and ctx.hold_speech:
                from agentcli.events import output_text

                self._say(splitter.feed(output_text(event.output)) + splitter.flush())
            elif event.status == "guardrail" and event.error:
                self._say([event.error])

    def _say(self, sentences: list[str]) -> None:
        for sentence in sentences:
            self._mark("first_sentence")
            self.speaker.say(sentence)

    # -- barge-in --------------------------------------------------------------------------------------
    @property
    def interrupting(self) -> bool:
        return self._interruption is not None

    def interrupt(self, speech_at: float | None = None) -> asyncio.Future[ev.Interrupted]:
        """The user started talking (`speech_at`: perf_counter of the speech's first voiced frame, or of
        the key press; default now): silence now, cancel the rest, keep only what was heard.
        The sink is flushed before this returns; await the result for the history rewrite (every
        caller gets the same one)."""
        if self._interruption is None:
            speech_at = time.perf_counter() if speech_at is None else speech_at
            self.ctx.sink.flush()  # first: the speaker goes quiet within one audio block
            self._interruption = asyncio.ensure_future(self._interrupt(speech_at))
        return self._interruption

    async def _interrupt(self, speech_at: float) -> ev.Interrupted:
        await self._stop()
        spoken = self.speaker.spoken
        self.result.status = "interrupted"
        silent = await silenced(self.ctx.sink, speech_at)  # the pause's fade, or the flush's first silence
        event = ev.Interrupted(heard_ms=round(heard_ms(spoken), 1), speech_started=ev.from_perf(speech_at),
                               silenced=ev.from_perf(silent) if silent is not None else None)
        if self._items is not None:
            conv = self.ctx.conversation
            turn = conv.items[self._start_len :] if self._items.committed else self._items.finish()
            kept = truncate_turn(turn, heard_chars(spoken))
            conv.items = conv.items[: self._start_len] + kept
            if not self._items.committed:
                conv.turns += 1
            event.heard_text = heard_text(kept)
            self.result.heard = event.heard_text
        self.emit(event)
        self._end_cancelled("interrupted by the user")  # cut off while the model was still answering
        if "first_sample_played" not in self.marks:
            first = next((s.utterance for s in self.speaker.sentences if s.utterance is not None), None)
            if first is not None and first.first_sample_time is not None:
                self._mark("first_sample_played", first.first_sample_time)
        self.result.marks = dict(self.marks)
        self.emit(ev.TurnLatency(marks=dict(self.marks)))
        self.ctx.save()
        return event


def _short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


__all__ = ["TurnInput", "TurnResult", "VoiceContext", "VoiceTurn", "to_ts"]
