"""What `agent voice` was asked to do. Shared by the voice pipeline and the realtime session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class VoiceOptions:
    realtime: bool = False  # full duplex over the Realtime API instead of STT -> agent -> TTS
    vad: bool = False  # hands-free turn taking (webrtcvad); default push-to-talk on a TTY
    ptt: bool = False  # realtime: push-to-talk (turn_detection none)
    text_only: bool = False  # realtime: text output modality, no speaker
    headphones: bool = False  # no echo guard
    input_wav: Path | None = None  # --input FILE.wav: one turn (voice) / the microphone (realtime)
    output_wav: Path | None = None  # --output FILE.wav: write reply audio instead of playing it
    fast: bool = False  # realtime --input: stream the file faster than real time
    record_dir: Path | None = None  # --record DIR: save the session's audio and turns
    input_device: str | None = None
    output_device: str | None = None
    jsonl: bool = False
    quiet: bool = False
    yes: bool = False
    model: str | None = None
    max_turns: int | None = None
    session: str | None = None
    sim: bool = False
    sim_script: Path | None = None
    no_trace: bool = False
    no_trace_content: bool = False
