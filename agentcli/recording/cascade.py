"""`agent voice --record [DIR]` (STT, agent, TTS): per turn into DIR/<session>/

- turn-NNN-user.wav: the user's audio as sent to speech-to-text (none for a typed line);
- turn-NNN-assistant.wav: the answer audio as the speaker was given it to play (24 kHz pcm16); an
  interrupted answer holds the part heard (`assistant_ms` = `heard_ms`; `received_ms` is what had been
  synthesized and given to the speaker);
- turns.json, rewritten after each turn: the user's words, the answer, the status (ok, interrupted, error,
  guardrail..., `empty` when nothing was heard, `echo` when the speech was the assistant's own voice),
  what stayed in the history of an interrupted answer (`heard_text`, `heard_ms`) and the latency marks.

Turn data comes only from the run's events: a cascade turn begins with its `UserSpeech` (spoken) or its
`TurnStarted` (typed), and ends with its `TurnLatency` (after `Interrupted` when it was cut off, after the
last sample played otherwise); a turn that failed before then ends when the next one begins or the session
ends. Audio comes from two taps the voice driver wires through its VoiceContext: `user_audio` (a turn's
audio, handed over just before that turn's UserSpeech) and `assistant_audio` (each chunk the speaker
writes to the player or the --output file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agentcli import events as ev
from agentcli.audio.wavfile import write_wav
from agentcli.recording.base import ENDED, Recording, ms_of
from agentcli.storage.files import make_private


@dataclass
class _Turn:
    """A turn in progress, as its events told it so far."""

    audio: tuple[np.ndarray, int] | None = None  # the user's audio and its rate (a spoken turn)
    started: bool = False  # its TurnStarted came: the agent ran
    user_text: str = ""  # what the agent was given
    transcript: str | None = None  # what speech-to-text heard
    deltas: list[str] = field(default_factory=list)  # the answer as it streamed
    done: ev.TurnDone | None = None
    cut: ev.Interrupted | None = None
    error: str | None = None
    marks: dict[str, float] = field(default_factory=dict)


class CascadeRecording(Recording):
    def __init__(self, root: Path, session: str, *, agent: str, assistant_rate: int) -> None:
        super().__init__(root, session, {"agent": agent}, assistant_rate=assistant_rate)
        self._heard: tuple[np.ndarray, int] | None = None  # tapped user audio, for the next UserSpeech
        self._turn: _Turn | None = None

    # --- the user audio tap ------------------------------------------------------------------------------

    def user_audio(self, audio: np.ndarray, rate: int) -> None:
        """A spoken turn's audio (mono float32 at `rate`) as sent to speech-to-text; its UserSpeech follows."""
        if not (self.failed or self.closed):
            self._heard = (audio, rate)

    # --- turns from the events ---------------------------------------------------------------------------

    def _on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.SessionStarted):
            self.meta["agent"] = event.agent or self.meta["agent"]
        elif isinstance(event, ev.UserSpeech):
            self._finish()  # a turn that failed without its TurnLatency ends here
            self._turn, self._heard = _Turn(audio=self._heard), None
        elif isinstance(event, ev.TurnStarted):
            turn = self._turn
            if turn is None or turn.started:  # a typed line
                self._finish()
                turn = self._turn = _Turn()
                self._heard = None
            turn.started, turn.user_text = True, event.input
        elif self._turn is not None:
            self._in_turn(self._turn, event)

    def _in_turn(self, turn: _Turn, event: ev.Event) -> None:
        if isinstance(event, ev.TranscriptDone) and event.role == "user":
            turn.transcript = event.text.strip()
        elif isinstance(event, ev.TextDelta):
            turn.deltas.append(event.delta)
        elif isinstance(event, ev.TurnDone):
            turn.done = event
        elif isinstance(event, ev.Interrupted):
            turn.cut = event
        elif isinstance(event, ev.ErrorEvent):
            turn.error = turn.error or event.message
        elif isinstance(event, ev.TurnLatency):  # a cascade turn's last event
            turn.marks = dict(event.marks)
            self._finish()

    def _finish(self, ended: str | None = None) -> None:
        """Write the turn in progress; `ended`: the session ended in it, with that status."""
        turn, self._turn = self._turn, None
        if turn is None:
            return
        status, error = _status(turn, ended)
        n = self._number()
        entry: dict[str, Any] = {"turn": n, "status": status, "user_text": turn.user_text or turn.transcript or "",
                                 "answer": "".join(turn.deltas), "marks_ms": turn.marks}
        if error:
            entry["error"] = error
        if turn.cut is not None:
            entry["heard_text"], entry["heard_ms"] = turn.cut.heard_text, turn.cut.heard_ms
        if turn.audio is not None and turn.audio[0].size:
            audio, rate = turn.audio
            name = f"turn-{n:03d}-user.wav"
            write_wav(self.dir / name, audio, rate)
            make_private(self.dir / name)
            entry["user_wav"], entry["user_ms"] = name, ms_of(audio.shape[0], rate)
        self._end_answer(entry, turn.cut)
        self._add_turn(entry)

    def _close(self, status: str) -> None:
        if self._turn is None and self._answer is not None:
            self._turn = _Turn()  # answer audio without its turn's events: still kept
        self._finish(ended=status)


def _status(turn: _Turn, ended: str | None) -> tuple[str, str | None]:
    """The turn's status and error, from its events."""
    if turn.cut is not None:
        return "interrupted", None
    if turn.error is not None and turn.done is None:  # speech-to-text or the turn itself failed
        return "error", turn.error
    if ended is not None:  # Ctrl-C, SIGTERM, a fatal error: the answer did not play to its end
        return ("error" if ended == "error" else "interrupted"), ENDED
    if turn.done is not None:
        return turn.done.status, turn.done.error
    if turn.started:
        return "interrupted", None
    return ("echo" if turn.transcript else "empty"), None  # nothing was asked of the agent
