"""`--record DIR`: each turn's audio as WAV files (user and assistant) plus turns.json with timings.

Everything goes to DIR/<session name>/ (folder 0700, files 0600: they hold the user's voice and words).
Only audio, text and timings are written: never a key (text is redacted), a URL with credentials, or the
environment. The realtime variant (one continuous user.wav) builds on the
helpers here: agentcli/realtime/recording.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agentcli.errors import AudioError
from agentcli.redact import scrub
from agentcli.storage.files import make_private, write_json_private


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


class SessionRecording:
    def __init__(self, root: Path, session: str, *, user_rate: int, assistant_rate: int, agent: str) -> None:
        self.dir = session_dir(root, session, fresh=True)  # a resumed session never overwrites a recording
        self.user_rate = user_rate
        self.assistant_rate = assistant_rate
        self.meta: dict[str, Any] = {"session": session, "agent": agent, "turns": []}
        self._count = 0

    def add_turn(self, *, user_audio: np.ndarray | None, assistant_pcm: list[bytes], user_text: str,
                 answer: str, status: str, heard: str | None, marks: dict[str, float],
                 heard_ms: float | None = None) -> dict[str, Any]:
        from agentcli.audio.wavfile import write_wav

        self._count += 1
        n = self._count
        entry: dict[str, Any] = {"turn": n, "status": status, "user_text": user_text, "answer": answer,
                                 "marks_ms": marks}
        if heard is not None:
            entry["heard_text"] = heard
            entry["heard_ms"] = heard_ms
        if user_audio is not None and user_audio.size:
            name = f"turn-{n:03d}-user.wav"
            write_wav(self.dir / name, user_audio, self.user_rate)
            make_private(self.dir / name)
            entry["user_wav"] = name
            entry["user_ms"] = round(user_audio.shape[0] * 1000.0 / self.user_rate, 1)
        pcm = b"".join(assistant_pcm)
        if pcm:
            name = f"turn-{n:03d}-assistant.wav"
            write_wav(self.dir / name, np.frombuffer(pcm, dtype="<i2"), self.assistant_rate)
            make_private(self.dir / name)
            entry["assistant_wav"] = name
            entry["assistant_ms"] = round(len(pcm) / 2 * 1000.0 / self.assistant_rate, 1)
        self.meta["turns"].append(entry)
        self._write_json()
        return entry

    def _write_json(self) -> None:
        write_json_atomic(self.dir / "turns.json", self.meta)
