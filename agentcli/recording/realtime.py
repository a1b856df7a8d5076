"""`agent voice --realtime --record [DIR]`: the conversation saved into DIR/<session>/ as

- user.wav: the microphone (or the --input file) exactly as sent to the server, one file for the whole
  session since a realtime conversation is continuous; 24 kHz pcm16, appended block by block (a crash keeps
  what was sent; the header is fixed on close);
- turn-NNN-assistant.wav: the answer audio of each turn as played: an interrupted answer holds the part
  the user heard (`assistant_ms` = `heard_ms`; `received_ms` says how much had arrived), an answer that
  paused for a cough and resumed is whole;
- turns.json, rewritten atomically after each turn: per turn the user's words, the answer, the status
  (ok, interrupted, error, guardrail), what was heard of an interrupted answer, where the user's speech
  sits in user.wav, the answer's length and the latency marks.

Turn data comes from the run's events (`on_event`, one more consumer of the EventFanout), where the user's
speech sits in user.wav included (`UserSpeech`: the session places it on the timeline of the audio it sent,
from the server's VAD offsets or push-to-talk); audio from two taps: `mic_tap` around the pump's send and
`OutputAudio.tap`. The folder, turns.json and the answer WAVs are base.py's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from agentcli import events as ev
from agentcli.audio.wavfile import WavWriter
from agentcli.errors import AudioError
from agentcli.recording.base import ENDED, Recording, ms_of
from agentcli.storage.files import make_private

USER_WAV = "user.wav"
Send = Callable[[bytes], Awaitable[None]]


class RealtimeRecording(Recording):
    def __init__(self, root: Path, session: str, *, agent: str, rate: int = 24000) -> None:
        """`rate`: the wire's pcm16 rate, both ways (realtime.config.RATE)."""
        self.rate = rate
        self._frames = 0  # samples in user.wav
        super().__init__(root, session, {"agent": agent, "model": None, "user_wav": None, "user_ms": 0.0},
                         assistant_rate=rate)
        self._user: WavWriter | None = None
        self._spans: deque[tuple[int, int]] = deque()  # finished speech not yet given to a turn
        self._awaiting: deque[dict[str, Any]] = deque()  # spoken turns whose transcript has not come yet
        self._turn: dict[str, Any] | None = None  # the turn in progress
        self._deltas: list[str] = []  # its answer text as received (more than was heard, if cut off)
        self._cut: ev.Interrupted | None = None

    # --- audio taps ------------------------------------------------------------------------------------

    def mic_tap(self, send: Send, ready: Callable[[], bool]) -> Send:
        """`send` (the session's send_audio) also recording each block: not the blocks the session drops
        while the connection is down, so that user.wav is the audio the server heard, in order."""

        async def tapped(pcm: bytes) -> None:
            if ready():
                self.user_audio(pcm)
            await send(pcm)

        return tapped

    def user_audio(self, pcm: bytes) -> None:
        if self.failed or self.closed:
            return
        try:
            if self._user is None:
                self._user = WavWriter(self.dir / USER_WAV, self.rate)
                make_private(self.dir / USER_WAV)
                self.meta["user_wav"] = USER_WAV
            self._user.write(pcm)
        except (OSError, AudioError) as e:
            self._fail(e)
        self._frames += len(pcm) // 2

    # --- turns from the events -------------------------------------------------------------------------

    def _on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.SessionStarted):
            self.meta["agent"] = event.agent or self.meta["agent"]
            self.meta["model"] = event.metadata.get("model")
        elif isinstance(event, ev.UserSpeech):
            self._spans.append((self._samples(event.start_ms), self._samples(event.end_ms)))
        elif isinstance(event, ev.TurnStarted):
            turn = self._current()
            turn["user_text"] = turn["user_text"] or event.input
            if self._take_span(turn):
                self._awaiting.append(turn)  # spoken: its transcript comes as a TranscriptDone
        elif isinstance(event, ev.TranscriptDone) and event.role == "user":
            self._transcript(event.text)
        elif isinstance(event, ev.TranscriptDelta) and event.role == "assistant":
            self._deltas.append(event.delta)
        elif isinstance(event, ev.Interrupted):
            self._cut = event  # before the turn's TurnStarted, when the words were not known yet
        elif isinstance(event, ev.TurnLatency):
            self._current()["marks_ms"] = dict(event.marks)
        elif isinstance(event, ev.TurnDone):
            self._finish(event.status, event.output, event.error)

    def _current(self) -> dict[str, Any]:
        if self._turn is None:
            self._turn = {"turn": 0, "status": "", "user_text": "", "answer": ""}
        return self._turn

    def _take_span(self, turn: dict[str, Any]) -> bool:
        """Give the turn the oldest finished speech (spoken turns start in the order their speech ended)."""
        if not self._spans:
            return False
        start, end = self._spans.popleft()
        # the silence the client sends after an --input file is not the user's audio and is not in user.wav
        turn["user_start_ms"] = self._ms(min(start, self._frames))
        turn["user_end_ms"] = self._ms(min(end, self._frames))
        return True

    def _transcript(self, text: str) -> None:
        if self._awaiting:
            turn = self._awaiting.popleft()
            turn["user_text"] = text
            if turn is not self._turn:  # the transcript came after the turn was written
                self._write_json()
        elif self._turn is not None and not self._turn["user_text"]:
            self._turn["user_text"] = text

    def _finish(self, status: str, output: Any, error: str | None) -> None:
        turn = self._current()
        received = "".join(self._deltas)
        turn["turn"], turn["status"] = self._number(), status
        cut = self._cut if status == "interrupted" else None
        if status == "interrupted":
            turn["answer"] = received or str(output or "")
            turn["heard_text"] = cut.heard_text if cut is not None else str(output or "")
            turn["heard_ms"] = cut.heard_ms if cut is not None else 0.0
        else:
            turn["answer"] = str(output or "") or received
        if error:
            turn["error"] = error
        self._end_answer(turn, cut)
        self._turn, self._deltas, self._cut = None, [], None
        self._add_turn(turn)

    def _close(self, status: str) -> None:
        """A turn still in progress is written as cut short, user.wav is closed."""
        if self._turn is not None or self._answer is not None or self._deltas:
            turn = self._current()
            if "user_start_ms" not in turn:
                self._take_span(turn)
            self._finish("error" if status == "error" else "interrupted", None, ENDED)
        if self._user is not None:
            self._user.close()

    def _refresh_meta(self) -> None:
        self.meta["user_ms"] = self._ms(self._frames)

    def _writers(self) -> list[WavWriter | None]:
        return [self._user, self._answer]

    def _samples(self, ms: float) -> int:
        return round(ms * self.rate / 1000)

    def _ms(self, samples: int) -> float:
        return ms_of(samples, self.rate)
