"""Hands-free turn taking (--vad): when the user's turn ends, and when talking over an answer interrupts it.

The turn detector runs with a short silence window (`voice.turn.prepare_ms`): each stretch of speech it
ends is a *fragment*. At a fragment's end the answer is prepared at once (transcript, agent, speech) but
held back (VoiceTurn(committed=False)); it is committed once the silence has lasted long enough for how
the transcript reads (`turns.reads`), and with `voice.turn.model` how the speech sounds (`turns.Listener`):
`complete_ms` for a complete sentence, `vad.silence_ms` for neither, `max_wait_ms` for an unfinished one.
If the user talks again before the commit, the prepared answer is dropped and the fragments so far become
one turn (fragment merging).

Speech during a committed answer pauses its playback at once; only after `interruption.min_speech_ms` of
speech is it an interruption (the answer is cut, the history keeps what was heard). A shorter sound (a
cough) resumes playback where it paused, and is not a turn. With `interruption.min_words`, the speech must
also hold that many words (its transcript so far, then all of it; "uh-huh" does not interrupt), unless it
lasts longer than `min_words_cap_ms`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from agentcli import events as ev
from agentcli.spec.model import InterruptionSettings, TurnSettings, VadSettings
from agentcli.voice.pipeline import TurnInput, VoiceTurn
from agentcli.voice.turns import Listener

if TYPE_CHECKING:
    from agentcli.voice.live import LiveSession


@dataclass
class _Suspect:
    """Speech heard during a committed turn, not yet long enough to interrupt it."""

    turn: VoiceTurn
    since: float  # perf_counter when it started
    paused: bool  # playback was paused for it
    voiced: float  # perf_counter of its first voiced frame
    words: asyncio.Future[None] | None = None  # counting the words of its speech (interruption.min_words)
    counted_ms: float = 0.0  # how much of its speech that count covers
    fragment: Any = None  # its speech ended while its words were being counted: decided by the count
    carried: bool = False  # the audio of an earlier stretch of it waits in HandsFree.fragments


_RECOUNT_MS = 300  # speech between two word counts of the same stretch


class HandsFree:
    def __init__(self, live: LiveSession, vad: VadSettings, turn: TurnSettings,
                 interruption: InterruptionSettings, rate: int) -> None:
        from agentcli.audio.vad import TurnDetector

        self.live = live
        self.vad = vad
        self.settings = turn
        self.min_speech_ms = interruption.min_speech_ms
        self.min_words, self.words_cap_ms = interruption.min_words, interruption.min_words_cap_ms
        self.rate = rate
        self.prepare_ms = min(turn.prepare_ms, vad.silence_ms)
        # min_utterance_ms is applied here: a short word ("not") after a pause belongs to the turn in progress
        fragments = vad.model_copy(update={"silence_ms": self.prepare_ms, "min_utterance_ms": 0})
        self.detector: Any = TurnDetector(fragments, rate)
        self.listener = Listener.load(turn, rate)  # the acoustic end-of-turn model, when the spec asks for it
        self.fragments: list[np.ndarray] = []  # the user's turn so far (not committed)
        self.pending: VoiceTurn | None = None  # its prepared answer
        self.pending_task: asyncio.Task[None] | None = None
        self.pending_after: asyncio.Future[Any] | None = None  # what the prepared turn waits for
        self.quiet_ms = 0.0  # silence since the last fragment ended
        self.suspect: _Suspect | None = None
        self.over_playback = False  # some of the turn so far was spoken while the assistant played

    # -- one microphone block ----------------------------------------------------------------------------
    async def feed(self, block: np.ndarray, allow_speech: bool, playing: bool = False) -> None:
        """One mic block; `playing`: the assistant's answer was coming out of the speaker meanwhile."""
        from agentcli.audio.vad import Discarded, SpeechEnd, SpeechStart

        ended = False
        if playing and self.detector.in_speech:
            self.over_playback = True
        events = self.detector.feed(block, allow_speech=allow_speech)
        for event in events:
            if isinstance(event, SpeechStart):
                self.over_playback = self.over_playback or playing
                self._on_start(event)
            elif isinstance(event, SpeechEnd):
                ended = True
                self._on_fragment(event)
            elif isinstance(event, Discarded):
                self._on_noise(event.speech_ms)
        if self.listener is not None:  # it scores a pause before the detector ends the fragment
            self.listener.hear(block, events, self.detector, self.fragments)
        if self.suspect is not None and self.detector.in_speech and self.detector.speech_ms >= self.min_speech_ms:
            self._enough(self.suspect, self.detector.speech_ms)
        if self.pending is not None and not self.detector.in_speech:
            if not ended:  # the detector's own silence counted up to the fragment's end
                self.quiet_ms += block.shape[0] * 1000.0 / self.rate
            self._check(self.pending)

    def _check(self, turn: VoiceTurn) -> None:
        """Commit the prepared turn once the silence so far is long enough for how its transcript reads."""
        if turn is not self.pending or self.detector.in_speech:
            return
        if self.quiet_ms >= self._wait_ms(turn):
            self.commit()
        elif self.quiet_ms >= self.vad.silence_ms:
            turn.go_ahead()

    def _reads(self, turn: VoiceTurn) -> str | None:
        # an echo, or nothing heard: nothing to wait for, whatever the model hears
        listener = self.listener if turn.result.status == "ok" else None
        return turn.reads if listener is None else listener.reads(turn.reads)

    def _wait_ms(self, turn: VoiceTurn) -> float:
        s = self.settings
        reads = self._reads(turn)
        wait = {"complete": s.complete_ms, "neutral": self.vad.silence_ms}.get(reads or "", s.max_wait_ms)
        return max(wait, self.prepare_ms)

    # -- detector events ---------------------------------------------------------------------------------
    def _on_start(self, event: Any) -> None:
        live, ctx = self.live, self.live.ctx
        voiced_ms = self.detector.speech_ms if self.detector.in_speech else 0.0
        voiced = event.time - voiced_ms / 1000.0  # the speech's first voiced frame
        turn = live.turn
        if self.suspect is not None:  # talking again while the words of the last stretch were counted
            suspect = self.suspect
            if suspect.words is not None:
                suspect.words.cancel()
            if suspect.fragment is not None:
                self.fragments.append(suspect.fragment.audio)
                suspect.fragment, suspect.carried = None, True
            return
        if turn is not None and turn.active and turn.committed and not turn.interrupting:
            # at once, within one audio block (a short fade); an answer not playing yet is held back too
            ctx.sink.pause()
            turn.emit(ev.PlaybackPaused(heard_ms=round(_heard_ms(turn), 1)))
            self.suspect = _Suspect(turn, time.perf_counter(), True, voiced)
            if self.min_speech_ms <= 0:
                self._confirm()
            return
        ctx.set_state("hearing", ctx.upcoming_turn())  # the turn this speech will make

    def _enough(self, suspect: _Suspect, speech_ms: float, fragment: Any = None) -> bool:
        """Speech past min_speech_ms: an interruption now (True), or once its transcript has min_words."""
        if self.min_words <= 0 or speech_ms >= self.words_cap_ms:
            self._confirm()
            return True
        if fragment is not None:  # the speech ended: all of it is counted
            suspect.fragment = fragment
            self._count(suspect, np.concatenate([*self.fragments, fragment.audio]), speech_ms)
        elif (suspect.words is None or suspect.words.done()) and speech_ms - suspect.counted_ms >= _RECOUNT_MS:
            self._count(suspect, self.detector.utterance_audio(), speech_ms)
        return False

    def _count(self, suspect: _Suspect, audio: np.ndarray, speech_ms: float) -> None:
        if suspect.words is not None:
            suspect.words.cancel()
        suspect.counted_ms = speech_ms
        suspect.words = asyncio.ensure_future(self._words(suspect, audio))

    async def _words(self, suspect: _Suspect, audio: np.ndarray) -> None:
        from agentcli.voice.turns import words

        text = None
        try:
            async for part in self.live.ctx.stt.transcribe(audio, self.rate):
                if part.final:
                    text = part.text
        except Exception:  # noqa: BLE001 - no transcript: the user's speech wins, as without min_words
            text = None
        if self.suspect is not suspect:
            return
        fragment = suspect.fragment
        if text is None or len(words(text)) >= self.min_words:
            self._confirm()
            if fragment is not None:
                self._on_fragment(fragment)  # now the start of the user's turn
        elif fragment is not None:
            self._resume(fragment.speech_ms)  # "uh-huh": not an interruption, not a turn

    def _confirm(self) -> None:
        """Enough speech: a real interruption."""
        suspect, self.suspect = self.suspect, None
        assert suspect is not None
        self.live._barge_in(suspect.turn, suspect.voiced)
        self.live.ctx.set_state("hearing", self.live.ctx.upcoming_turn())

    def _resume(self, speech_ms: float) -> None:
        """Too little speech to interrupt: the answer goes on from where it paused."""
        suspect, self.suspect = self.suspect, None
        assert suspect is not None
        if suspect.words is not None and suspect.words is not asyncio.current_task():
            suspect.words.cancel()
        if suspect.carried:
            self.fragments = []
        if not self.fragments:
            self.over_playback = False
        if suspect.paused:
            self.live.ctx.sink.resume()
            paused_ms = (time.perf_counter() - suspect.since) * 1000.0
            suspect.turn.emit(ev.PlaybackResumed(paused_ms=round(paused_ms, 1), speech_ms=round(speech_ms, 1)))

    def _on_noise(self, speech_ms: float) -> None:
        if self.suspect is not None:
            self._resume(speech_ms)
            return
        if not self.fragments:
            self.over_playback = False
        turn = self.live.turn
        if self.pending is None and not self.fragments and not (turn is not None and turn.active):
            self.live.ctx.set_state("listening")

    def _on_fragment(self, event: Any) -> None:
        if self.suspect is not None:
            if event.speech_ms < self.min_speech_ms:  # too short to interrupt: not a turn
                self._resume(event.speech_ms)
                return
            if not self._enough(self.suspect, event.speech_ms, event):
                return  # decided once its words are counted
        if event.speech_ms < self.vad.min_utterance_ms and not self.fragments:
            self._on_noise(event.speech_ms)  # a cough, a click: not the start of a turn
            return
        self.fragments.append(event.audio)
        audio = np.concatenate(self.fragments)
        previous: asyncio.Future[Any] | None = self.live._turn_task  # the turns before, in order
        if self.pending is not None:  # the user went on before the answer was committed: merge
            previous = asyncio.ensure_future(self._drop(self.pending, self.pending_task, self.pending_after))
        self.pending_after = previous
        self.pending, self.pending_task = self.live.prepare(
            TurnInput(audio=audio, rate=self.rate, end_of_speech=event.last_voiced_time,
                      over_playback=self.over_playback,
                      # the VAD's own measure for one stretch; merged fragments: the audio's length
                      speech_ms=event.speech_ms if len(self.fragments) == 1 else None), previous)
        # the transcript may come after the wait it needs: the answer is committed then, not a block later
        self.pending.on_read = self._check
        if self.listener is not None:
            self.listener.listen(audio, event.last_voiced_time)
        # the silence seen so far: the detector may have ended the fragment on a block's first frame
        self.quiet_ms = max(float(self.prepare_ms), self.detector.position_ms - event.end_ms)
        if event.forced:  # too long to wait, or the end of input
            self.commit()

    @staticmethod
    async def _drop(turn: VoiceTurn, task: asyncio.Task[None] | None, after: asyncio.Future[Any] | None) -> None:
        """Drop a prepared turn; done when it is gone and what it waited for is done too."""
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])
        await turn.discard()
        if after is not None and not after.done():
            await asyncio.wait([after])

    # -- committing and resetting ------------------------------------------------------------------------
    def commit(self) -> None:
        """The user's turn is over: the prepared answer is committed (it plays)."""
        turn = self.pending
        if turn is None:
            return
        self.pending, self.pending_task, self.fragments = None, None, []
        self.over_playback = False
        self.live.turn = turn
        turn.commit(self._reads(turn), None if self.listener is None else self.listener.p)

    def drop(self) -> asyncio.Future[None]:
        """Forget the user's turn in progress now (a typed line replaces it); the future is done when the
        prepared answer is gone from the history."""
        turn, task, after = self.pending, self.pending_task, self.pending_after
        self.pending, self.pending_task, self.fragments = None, None, []
        self.over_playback = False
        if turn is None:
            return asyncio.ensure_future(asyncio.sleep(0))
        return asyncio.ensure_future(self._drop(turn, task, after))


def _heard_ms(turn: VoiceTurn) -> float:
    from agentcli.voice.history import heard_ms

    return heard_ms(turn.speaker.spoken)
