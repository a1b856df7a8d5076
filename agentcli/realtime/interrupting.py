"""Forgiving interruptions: the client, not the server's VAD, decides what interrupts an answer.

The server is configured with `interrupt_response: false` (agentcli/realtime/config.py). When it hears
speech while an answer is playing or on its way, playback pauses at once (`OutputAudio.pause`, one block)
and a `PlaybackPaused` goes out. The speech is a real interruption once it has lasted
`voice.interruption.min_speech_ms`: then the answer is cancelled and truncated to what was heard
(`Answers.barge_in`, an `Interrupted`). Shorter speech (a cough, "huh", a blip of the answer's own echo)
resumes playback where it paused (`PlaybackResumed`), and its user item is deleted from the server
unanswered, so the history keeps the whole answer and no turn is made of it.

How long the speech lasted is known from the server's offsets at `speech_stopped`, which comes
`silence_duration_ms` after the speech ends; when it has not come by `min_speech_ms` plus that wait (plus
a margin for the network) after `speech_started` was received, the speech went on long enough.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from agentcli import events as ev
from agentcli.realtime.answers import Answers
from agentcli.realtime.server_events import SpeechStarted, SpeechStopped
from agentcli.spec.model import RealtimeSettings

NETWORK_MARGIN_MS = 150  # the server's speech_stopped is a network trip behind the end of the silence
# semantic_vad ends a turn when the words sound finished, at the latest after this (the API's documented
# timeouts by eagerness); until then a cough's speech_stopped may not have come
SEMANTIC_MAX_WAIT_MS = {"low": 8000, "medium": 4000, "auto": 4000, "high": 2000}


@dataclass
class Suspect:
    """Speech heard over an answer, not yet judged."""

    audio_start_ms: int
    item_id: str
    since: float  # perf_counter when speech_started was received
    turn_id: str | None  # the turn whose answer it paused
    timer: asyncio.Task[None] | None = None


class Interruptions:
    def __init__(
        self,
        answers: Answers,
        settings: RealtimeSettings,
        emit: Callable[[ev.Event], None],
        *,
        min_speech_ms: int,
        enabled: bool,
    ):
        self.answers = answers
        self.settings = settings
        self.emit = emit
        self.min_speech_ms = min_speech_ms
        self.enabled = enabled  # the spec's interrupt_response: speech may interrupt an answer at all
        self.suspect: Suspect | None = None
        self.dropped_items: set[str] = set()  # user items of short speech: deleted, never a turn
        self.confirmed = 0
        self.resumed = 0

    def answering(self) -> bool:
        """An answer is playing, or being made (it will play)."""
        a = self.answers
        state = a.responding.current
        live = state is not None and not state.cancelled
        return live or (a.output is not None and a.output.playing)

    def _prefix_ms(self) -> int:
        td = self.settings.turn_detection
        return td.prefix_padding_ms if td.prefix_padding_ms is not None else 300

    def _wait_s(self) -> float:
        """How long after speech_started no speech_stopped means the speech went on long enough."""
        td = self.settings.turn_detection
        if td.type == "semantic_vad":  # it may wait up to its eagerness's timeout before it says stopped
            silence = SEMANTIC_MAX_WAIT_MS.get(td.eagerness or "auto", 4000)
        else:
            silence = 500 if td.silence_duration_ms is None else td.silence_duration_ms
        return (self.min_speech_ms + silence + NETWORK_MARGIN_MS) / 1000

    async def speech_started(self, e: SpeechStarted, received: float) -> None:
        """`received`: perf_counter when the server's speech_started came."""
        self.answers.responding.ignore_auto = False  # a response made after this speech is the user's
        model = self.answers.link.model
        if model is not None and not model.client_interrupts:  # the server has cut its answer already
            if self.enabled:
                await self.answers.barge_in(local=False, speech_at=received)
            return
        if not self.enabled or self.suspect is not None or not self.answering():
            return
        output = self.answers.output
        heard_ms = 0.0
        if output is not None:
            output.pause()
            heard_ms = output.heard_ms()
        turn_id = self.answers.turns.current_id()
        self.answers.turns.tell(ev.PlaybackPaused(heard_ms=round(heard_ms, 1)), turn_id)
        suspect = self.suspect = Suspect(e.audio_start_ms, e.item_id, received, turn_id)
        suspect.timer = asyncio.ensure_future(self._confirm_later(suspect))

    async def _confirm_later(self, suspect: Suspect) -> None:
        await asyncio.sleep(self._wait_s())
        if self.suspect is suspect:  # no speech_stopped yet: the user is still talking
            await self._confirm()

    async def _confirm(self) -> bool:
        """A real interruption: cancel and truncate. True when a response was still being made (the
        server made none for the speech then: the client asks for it)."""
        suspect, self.suspect = self.suspect, None
        if suspect is not None and suspect.timer is not None and suspect.timer is not asyncio.current_task():
            suspect.timer.cancel()
        state = self.answers.responding.current
        active = state is not None and not state.cancelled
        self.confirmed += 1
        await self.answers.barge_in(local=True, speech_at=suspect.since if suspect is not None else None)
        return active

    async def speech_stopped(self, e: SpeechStopped) -> bool:
        """The speech ended: judge it. True when it was too short and is dropped (playback resumed)."""
        suspect = self.suspect
        if suspect is None:
            return False
        spoken = e.audio_end_ms - suspect.audio_start_ms - self._prefix_ms()
        if spoken >= self.min_speech_ms:
            was_answering = await self._confirm()
            if was_answering and self.settings.turn_detection.create_response:
                await self.answers.request()  # the server does not answer while a response is active
            return False
        self.suspect = None
        if suspect.timer is not None:
            suspect.timer.cancel()
        self.resumed += 1
        output = self.answers.output
        paused_ms = output.resume() if output is not None else 0.0
        resumed = ev.PlaybackResumed(paused_ms=round(paused_ms, 1), speech_ms=float(max(0, spoken)))
        self.answers.turns.tell(resumed, suspect.turn_id)
        self.dropped_items.add(e.item_id)
        # the server may answer the short speech on its own: that response is cancelled when it comes
        self.answers.responding.ignore_auto = True
        return True

    def drops(self, item_id: str) -> bool:
        """Whether this user item is short speech judged no interruption (it is then forgotten)."""
        if item_id in self.dropped_items:
            self.dropped_items.discard(item_id)
            return True
        return False

    def reset(self, *, resume: bool = True) -> None:
        """No judgement pending any more (the connection dropped, the session closes): a paused answer
        plays on (`resume`)."""
        suspect, self.suspect = self.suspect, None
        if suspect is not None and suspect.timer is not None and suspect.timer is not asyncio.current_task():
            suspect.timer.cancel()
        output = self.answers.output
        if resume and suspect is not None and output is not None and output.paused:
            self.answers.turns.tell(ev.PlaybackResumed(paused_ms=round(output.resume(), 1)), suspect.turn_id)
