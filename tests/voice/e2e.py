"""Helpers for the voice end-to-end tests: speech WAVs from espeak-ng, a running `agent voice` whose
--jsonl events are collected as they come, and WAV analysis (where the sound is)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import ROOT

# ../shared/data from the project's root; AGENT_TEST_SHARED_DATA points elsewhere (a git worktree)
SHARED_DATA = Path(os.environ.get("AGENT_TEST_SHARED_DATA") or ROOT.parent / "shared" / "data")
JFK = SHARED_DATA / "jfk_16k.wav"


def espeak_wav(path: Path, text: str, speed: int = 175) -> Path:
    """Speech for `text` as a WAV (espeak-ng's 22.05 kHz); skips the test when espeak-ng is missing."""
    exe = shutil.which("espeak-ng") or shutil.which("espeak")
    if exe is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    subprocess.run([exe, "-s", str(speed), "-w", str(path), text], check=True, capture_output=True, timeout=30)
    return path


def _sox(*args: str) -> None:
    exe = shutil.which("sox")
    if exe is None:
        pytest.skip("sox is not installed (apt-get install sox)")
    subprocess.run([exe, *args], check=True, capture_output=True, timeout=30)


def phrases_wav(path: Path, phrases: list[str], pause_s: float = 1.0) -> Path:
    """Speech with thinking pauses: espeak-ng phrases joined by `pause_s` of silence (sox)."""
    parts = []
    for i, phrase in enumerate(phrases):
        raw = espeak_wav(path.with_name(f"{path.stem}-{i}.wav"), phrase)
        padded = path.with_name(f"{path.stem}-{i}-padded.wav")
        # espeak-ng's own leading/trailing silence trimmed, then the pause added after the phrase
        _sox(str(raw), str(padded), "silence", "1", "0.01", "1%", "reverse", "silence", "1", "0.01", "1%",
             "reverse", "pad", "0", str(pause_s if i < len(phrases) - 1 else 0.3))
        parts.append(str(padded))
    _sox(*parts, str(path))
    return path


def burst_wav(path: Path, seconds: float = 0.2) -> Path:
    """A short voiced sound (a cough, "huh"): the start of a spoken "ah", cut to `seconds`."""
    raw = espeak_wav(path.with_name(f"{path.stem}-raw.wav"), "aaah")
    _sox(str(raw), str(path), "silence", "1", "0.01", "1%", "trim", "0", str(seconds), "pad", "0", "0.3")
    return path


def sound_span(path: Path, threshold: float = 0.01) -> tuple[float, float, int] | None:
    """(first, last) second with sound above `threshold` (|amplitude|) and the rate; None if silent."""
    from agentcli.audio.resample import to_mono
    from agentcli.audio.wavfile import load_wav

    samples, fmt = load_wav(path)
    mono = np.abs(to_mono(samples))
    loud = np.flatnonzero(mono > threshold)
    if loud.size == 0:
        return None
    return loud[0] / fmt.rate, loud[-1] / fmt.rate, fmt.rate


def wav_seconds(path: Path) -> float:
    from agentcli.audio.wavfile import load_wav

    samples, fmt = load_wav(path)
    return samples.shape[0] / fmt.rate


def write_script(path: Path, hear: list[str], replies: list[str], matches: list[str] | None = None) -> Path:
    """A simulator script: its STT hears `hear` in order; the model answers `replies[i]` to a user message
    matching `matches[i]` (a regex; default: anything, so the first reply answers everything)."""
    lines = ["hear:"] + [f"  - {json.dumps(h)}" for h in hear] + ["turns:"]
    for i, reply in enumerate(replies):
        match = matches[i] if matches else ".*"
        lines += [f"  - match: {json.dumps(match)}", "    reply:", f"      - text: {json.dumps(reply)}"]
    path.write_text("\n".join(lines) + "\n")
    return path


class VoiceProcess:
    """`agent voice ... --jsonl` in the background; events are parsed from stdout as they arrive."""

    def __init__(self, *args: str, cwd: Path = ROOT) -> None:
        env = dict(os.environ)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agentcli", "voice", *args, "--jsonl"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd,
            text=True, bufsize=1,
        )
        self.events: list[dict[str, Any]] = []
        self.stderr = ""
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._read_out, daemon=True),
                         threading.Thread(target=self._read_err, daemon=True)]
        for t in self._threads:
            t.start()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            event["_seen"] = time.perf_counter()
            with self._lock:
                self.events.append(event)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr += line

    def wait_event(self, kind: str, timeout: float = 20.0, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            with self._lock:
                found = [e for e in self.events[seen:] if e["type"] == kind
                         and all(e.get(k) == v for k, v in match.items())]
            if found:
                return found[0]
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the readers finish
                with self._lock:
                    found = [e for e in self.events if e["type"] == kind
                             and all(e.get(k) == v for k, v in match.items())]
                if found:
                    return found[0]
                raise AssertionError(f"agent voice exited ({self.proc.returncode}) before {kind}: {self.stderr}")
            time.sleep(0.01)
        raise AssertionError(f"no {kind} event within {timeout}s; stderr: {self.stderr}; events: "
                             f"{[e['type'] for e in self.events]}")

    def of(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.events if e["type"] == kind]

    def quit(self, timeout: float = 15.0) -> int:
        """End of input (Ctrl-D): the session ends after the turn in progress."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"agent voice did not end on end of input; stderr: {self.stderr}") from None
        for t in self._threads:
            t.join(timeout=2)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
