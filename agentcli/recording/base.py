"""What the cascade and realtime recordings share: the folder, turns.json, each answer's WAV, the failure rule.

DIR/<session>/ is 0700 and every file in it 0600 (they hold the user's voice and words); turns.json is
rewritten in one step after each turn, with secrets redacted. An interrupted answer's WAV ends where the
user stopped hearing it: `assistant_ms` is the part heard (`heard_ms`), `received_ms` what the speaker had
been given. A recording that cannot be written (disk full...) stops with one warning; the conversation
goes on.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

from agentcli import events as ev
from agentcli.audio.wavfile import WavWriter, load_wav, write_wav
from agentcli.errors import AudioError
from agentcli.redact import scrub
from agentcli.storage.files import make_private, write_json_private

ENDED = "the session ended in this turn"


def session_dir(root: Path, session: str, *, fresh: bool = False) -> Path:
    """Create DIR/<session>/ (AudioError, one line, when it cannot be). `fresh`: when that folder already
    holds a recording (a resumed --session), use <session>-2, -3... rather than overwrite it."""
    base = Path(root) / session
    path, n = base, 1
    while fresh and (path / "turns.json").exists():
        n += 1
        path = base.with_name(f"{session}-{n}")
    try:
        Path(root).mkdir(parents=True, exist_ok=True, mode=0o700)
        path.mkdir(exist_ok=True, mode=0o700)
        path.chmod(0o700)
    except OSError as e:
        raise AudioError(f"--record {root}: cannot create {path}: {e.strerror or e}") from None
    return path


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Replace `path` in one step (a reader or a crash never sees half a file), 0600, secrets redacted."""
    write_json_private(path, scrub(data))


def ms_of(samples: int, rate: int) -> float:
    return round(samples * 1000.0 / rate, 1)


def keep_heard(path: Path, heard_ms: float, total_ms: float, rate: int) -> float:
    """Cut an interrupted answer's WAV where the user stopped hearing it (audio given to the speaker
    beyond that was never played); returns its length in ms."""
    if heard_ms >= total_ms - 1.0:
        return round(total_ms, 1)
    samples, _ = load_wav(path)
    keep = round(max(0.0, heard_ms) * rate / 1000)
    write_wav(path, samples[:keep], rate)
    make_private(path)
    return ms_of(min(samples.shape[0], keep), rate)


class Recording:
    """An event consumer (`on_event`, added with the run's `add_consumer`) writing turns.json, plus the
    answer audio tap (`assistant_audio`). Subclasses turn events into turn entries (`_on_event`) and end a
    turn with `_end_answer` and `_add_turn`; SessionEnded closes the recording."""

    def __init__(self, root: Path, session: str, meta: dict[str, Any], *, assistant_rate: int) -> None:
        # a resumed --session gets a folder of its own: an earlier recording is never overwritten
        self.dir = session_dir(root, session, fresh=True)
        self.meta: dict[str, Any] = {"session": session, **meta, "turns": []}
        self.assistant_rate = assistant_rate
        self.failed = False
        self.closed = False
        self._count = 0  # turns written
        self._answer: WavWriter | None = None  # the answer audio of the turn in progress
        try:
            self._write_json()  # the folder says what it is from the start, and is known to be writable
        except OSError as e:
            raise AudioError(f"--record {root}: cannot write into {self.dir}: {e.strerror or e}") from None

    # --- the consumer ------------------------------------------------------------------------------------

    def on_event(self, event: ev.Event) -> None:
        if self.failed or self.closed:
            return
        try:
            if isinstance(event, ev.SessionEnded):
                self.close(event.status)
            else:
                self._on_event(event)
        except (OSError, AudioError) as e:
            self._fail(e)

    def _on_event(self, event: ev.Event) -> None:
        raise NotImplementedError

    # --- the answer audio tap ----------------------------------------------------------------------------

    def assistant_audio(self, pcm: bytes) -> None:
        """Answer audio (pcm16 mono at `assistant_rate`) as handed to the speaker, for the turn in progress."""
        if self.failed or self.closed:
            return
        try:
            if self._answer is None:  # turns are numbered as they end, in order: this one is the next
                self._answer = WavWriter(self.dir / f"turn-{self._count + 1:03d}-assistant.wav", self.assistant_rate)
                make_private(Path(self._answer.path))
            self._answer.write(pcm)
        except (OSError, AudioError) as e:
            self._fail(e)

    # --- ending turns ------------------------------------------------------------------------------------

    def _number(self) -> int:
        self._count += 1
        return self._count

    def _end_answer(self, turn: dict[str, Any], cut: ev.Interrupted | None) -> None:
        """Close the turn's answer WAV and describe it in `turn`; an interrupted one keeps the part heard."""
        answer, self._answer = self._answer, None
        if answer is None:
            return
        answer.close()
        turn["assistant_wav"] = Path(answer.path).name
        turn["assistant_ms"] = round(answer.duration_ms, 1)
        if cut is not None:
            turn["received_ms"] = turn["assistant_ms"]
            turn["assistant_ms"] = keep_heard(Path(answer.path), cut.heard_ms, answer.duration_ms,
                                              self.assistant_rate)

    def _add_turn(self, turn: dict[str, Any]) -> None:
        self.meta["turns"].append(turn)
        self._write_json()

    def close(self, status: str = "ok") -> None:
        """The session ended (`status` as in SessionEnded): a turn in progress is written as cut short."""
        if self.closed:
            return
        try:
            self._close(status)
            self._write_json()
        except (OSError, AudioError) as e:
            self._fail(e)
        self.closed = True

    def _close(self, status: str) -> None:
        raise NotImplementedError

    def _write_json(self) -> None:
        if self.failed:
            return
        self._refresh_meta()
        write_json_atomic(self.dir / "turns.json", self.meta)

    def _refresh_meta(self) -> None:
        """Subclasses bring session-wide fields up to date before turns.json is written."""

    def _writers(self) -> list[WavWriter | None]:
        return [self._answer]

    def _fail(self, e: Exception) -> None:
        """A recording that cannot be written (disk full...) stops; the conversation goes on."""
        if self.failed:
            return
        self.failed = True
        print(f"agent: warning: --record stopped: {e}", file=sys.stderr)
        for writer in self._writers():
            if writer is not None:
                with contextlib.suppress(OSError):
                    writer.close()
