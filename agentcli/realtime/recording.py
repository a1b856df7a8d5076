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
`OutputAudio.tap`. Only audio, text and timings are written: never a key (text is redacted), a URL or the
environment. The folder is 0700 and every file in it 0600.
"""

from __future__ import annotations

import contextlib
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from agentcli import events as ev
from agentcli.audio.wavfile import WavWriter, load_wav, write_wav
from agentcli.errors import AudioError
from agentcli.realtime.config import RATE
from agentcli.storage.files import make_private
from agentcli.voice.recording import session_dir, write_json_atomic

USER_WAV = "user.wav"
Send = Callable[[bytes], Awaitable[None]]


def _samples(ms: float) -> int:
    return round(ms * RATE / 1000)


def _ms(samples: int) -> float:
    return round(samples * 1000.0 / RATE, 1)


class RealtimeRecording:
    def __init__(self, root: Path, session: str, *, agent: str) -> None:
        # a resumed --session gets a folder of its own: the earlier run's user.wav is never overwritten
        self.dir = session_dir(root, session, fresh=True)
        self.meta: dict[str, Any] = {"session": session, "agent": agent, "model": None, "user_wav": None,
                                     "user_ms": 0.0, "turns": []}
        self.failed = False
        self.closed = False
        self._user: WavWriter | None = None
        self._frames = 0  # samples in user.wav
        self._spans: deque[tuple[int, int]] = deque()  # finished speech not yet given to a turn
        self._awaiting: deque[dict[str, Any]] = deque()  # spoken turns whose transcript has not come yet
        self._turn: dict[str, Any] | None = None  # the turn in progress
        self._answer: WavWriter | None = None  # its answer audio
        self._deltas: list[str] = []  # its answer text as received (more than was heard, if cut off)
        self._cut: ev.Interrupted | None = None
        self._count = 0
        try:
            self._write_json()  # the folder says what it is from the start, and is known to be writable
        except OSError as e:
            raise AudioError(f"--record {root}: cannot write into {self.dir}: {e.strerror or e}") from None

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
                self._user = WavWriter(self.dir / USER_WAV, RATE)
                make_private(self.dir / USER_WAV)
                self.meta["user_wav"] = USER_WAV
            self._user.write(pcm)
        except (OSError, AudioError) as e:
            self._fail(e)
        self._frames += len(pcm) // 2

    def assistant_audio(self, pcm: bytes) -> None:
        """One answer audio delta (24 kHz pcm16) as the session queued it for playback."""
        if self.failed or self.closed:
            return
        try:
            if self._answer is None:  # turns are numbered as they end, in order: this one is the next
                self._answer = WavWriter(self.dir / f"turn-{self._count + 1:03d}-assistant.wav", RATE)
                make_private(Path(self._answer.path))
            self._answer.write(pcm)
        except (OSError, AudioError) as e:
            self._fail(e)

    # --- turns from the events -------------------------------------------------------------------------

    def on_event(self, event: ev.Event) -> None:
        if self.failed or self.closed:
            return
        try:
            self._on_event(event)
        except (OSError, AudioError) as e:
            self._fail(e)

    def _on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.SessionStarted):
            self.meta["agent"] = event.agent or self.meta["agent"]
            self.meta["model"] = event.metadata.get("model")
        elif isinstance(event, ev.UserSpeech):
            self._spans.append((_samples(event.start_ms), _samples(event.end_ms)))
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
        elif isinstance(event, ev.SessionEnded):
            self.close(event.status)

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
        turn["user_start_ms"], turn["user_end_ms"] = _ms(min(start, self._frames)), _ms(min(end, self._frames))
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
        self._count += 1
        received = "".join(self._deltas)
        turn["turn"], turn["status"] = self._count, status
        if status == "interrupted":
            turn["answer"] = received or str(output or "")
            turn["heard_text"] = self._cut.heard_text if self._cut is not None else str(output or "")
            turn["heard_ms"] = self._cut.heard_ms if self._cut is not None else 0.0
        else:
            turn["answer"] = str(output or "") or received
        if error:
            turn["error"] = error
        answer, self._answer = self._answer, None
        if answer is not None:
            answer.close()
            turn["assistant_wav"] = Path(answer.path).name
            turn["assistant_ms"] = round(answer.duration_ms, 1)
            if status == "interrupted" and self._cut is not None:
                turn["received_ms"] = turn["assistant_ms"]
                turn["assistant_ms"] = self._keep_heard(Path(answer.path), self._cut.heard_ms, answer.duration_ms)
        self.meta["turns"].append(turn)
        self._turn, self._deltas, self._cut = None, [], None
        self._write_json()

    @staticmethod
    def _keep_heard(path: Path, heard_ms: float, total_ms: float) -> float:
        """An interrupted answer's WAV ends where the user stopped hearing it (audio that arrived beyond
        that was never played); returns its length."""
        if heard_ms >= total_ms - 1.0:
            return round(total_ms, 1)
        samples, _ = load_wav(path)
        write_wav(path, samples[: _samples(heard_ms)], RATE)
        make_private(path)
        return _ms(min(samples.shape[0], _samples(heard_ms)))

    def close(self, status: str = "ok") -> None:
        """The session ended: a turn still in progress is written as cut short, user.wav is closed."""
        if self.closed:
            return
        try:
            if self._turn is not None or self._answer is not None or self._deltas:
                turn = self._current()
                if "user_start_ms" not in turn:
                    self._take_span(turn)
                self._finish("error" if status == "error" else "interrupted", None, "the session ended in this turn")
            if self._user is not None:
                self._user.close()
            self._write_json()
        except (OSError, AudioError) as e:
            self._fail(e)
        self.closed = True

    def _write_json(self) -> None:
        if self.failed:
            return
        self.meta["user_ms"] = _ms(self._frames)
        write_json_atomic(self.dir / "turns.json", self.meta)

    def _fail(self, e: Exception) -> None:
        """A recording that cannot be written (disk full...) stops; the conversation goes on."""
        if self.failed:
            return
        self.failed = True
        print(f"agent: warning: --record stopped: {e}", file=sys.stderr)
        for writer in (self._user, self._answer):
            if writer is not None:
                with contextlib.suppress(OSError):
                    writer.close()
