"""Peer: one push-to-talk voice turn through openai-agents' VoicePipeline (the documented way).

A VoicePipeline with a SingleAgentVoiceWorkflow gets the spoken question as an AudioInput (the whole
WAV: the user has let go of the talk key); measured per turn: `pipeline.run(...)` called (end of input)
-> the first `voice_stream_event_audio` of the result stream (first reply audio byte the app can play).
Talks to the simulator named by OPENAI_BASE_URL. Prints one JSON line: {"samples_ms": [...]}.
Runs in bench/.venv-peers (openai-agents[voice]).
"""

from __future__ import annotations

import asyncio
import sys
import time
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

import numpy as np  # noqa: E402
from agents import Agent, set_tracing_disabled  # noqa: E402
from agents.voice import AudioInput, SingleAgentVoiceWorkflow, VoicePipeline  # noqa: E402

from bench.common import driver_args, emit_result  # noqa: E402


def read_wav(path: str) -> tuple[np.ndarray, int]:
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise SystemExit(f"{path}: expected 16-bit mono")
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16), w.getframerate()


async def one_turn(agent: Agent, buffer: np.ndarray, rate: int) -> tuple[float, int]:
    """(ms from end of input to the first audio event, audio bytes received in all)."""
    pipeline = VoicePipeline(workflow=SingleAgentVoiceWorkflow(agent))
    start = time.perf_counter()
    result = await pipeline.run(AudioInput(buffer=buffer, frame_rate=rate))
    first: float | None = None
    received = 0
    async for event in result.stream():
        if event.type == "voice_stream_event_audio" and event.data is not None:
            if first is None:
                first = (time.perf_counter() - start) * 1000
            received += event.data.nbytes
        elif event.type == "voice_stream_event_error":
            raise SystemExit(f"voice pipeline error: {event.error}")
    if first is None:
        raise SystemExit("the voice pipeline produced no audio")
    return first, received


async def main() -> None:
    parser = driver_args(__doc__)
    parser.add_argument("--input", required=True, help="the spoken question (16-bit mono WAV)")
    args = parser.parse_args()
    set_tracing_disabled(True)
    agent = Agent(name="voice", instructions="You answer briefly.", model="gpt-4.1-mini")
    buffer, rate = read_wav(args.input)
    samples, audio = [], []
    for i in range(args.warmup + args.reps):
        first, received = await one_turn(agent, buffer, rate)
        if i >= args.warmup:
            samples.append(first)
            audio.append(received)
    emit_result({"samples_ms": samples, "audio_bytes": audio})


if __name__ == "__main__":
    asyncio.run(main())
