"""Peer: realtime turns through openai-agents' RealtimeRunner / RealtimeSession (the documented way).

Against the simulator's /v1/realtime (URL from --url; the simulator paces its audio at real time, so an
answer is still playing when the user talks over it). The first answer is to a typed question (`send_message`);
the user's speech (`send_audio`, 24 kHz pcm16, in real time) barges in on each answer, and the server's
answer to that speech is the next turn. What the documented API
lets an app measure, from the session's event stream:

- first audio: the answer's first `response.output_audio.delta` as the transport receives it (a listener
  on `session.model`, the documented hook) -> the first `audio` event of the session's stream, what the
  app plays from (the SDK has no audio output of its own, so this is as far as it goes);
- barge-in: `input_audio_buffer.speech_started` received -> the `audio_interrupted` event that tells the
  app to stop its own playback.

Prints one JSON line: {"first_audio_ms": [...], "barge_in_ms": [...]}. Runs in bench/.venv-peers.
"""

from __future__ import annotations

import asyncio
import sys
import time
import wave
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from agents import set_tracing_disabled  # noqa: E402
from agents.realtime import RealtimeAgent, RealtimeRunner  # noqa: E402

from bench.common import driver_args, emit_result  # noqa: E402

RATE = 24000
CHUNK_MS = 20


def speech_pcm(path: str) -> bytes:
    """The WAV as 24 kHz pcm16 mono (linear resampling is plenty for the simulator's energy VAD)."""
    import numpy as np

    with wave.open(path, "rb") as w:
        rate, data = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    n = int(len(data) * RATE / rate)
    resampled = np.interp(np.linspace(0, len(data) - 1, n), np.arange(len(data)), data.astype(np.float32))
    silence = np.zeros(RATE // 2, dtype=np.int16)  # the end of the user's speech
    return np.concatenate([resampled.astype(np.int16), silence]).tobytes()


class Marks:
    """perf_counter of what the app saw: per response, and per barge-in in order."""

    def __init__(self) -> None:
        self.raw_delta: dict[str, float] = {}  # response id -> its first raw audio delta
        self.audio: dict[str, float] = {}  # response id -> its first `audio` event
        self.raw_speech: list[float] = []
        self.interrupted: list[float] = []

    async def on_event(self, event: Any) -> None:
        """A model listener (`session.model.add_listener`): raw server events as the transport gets them."""
        if event.type == "raw_server_event":
            now = time.perf_counter()
            raw = event.data
            if raw.get("type") == "response.output_audio.delta":
                self.raw_delta.setdefault(raw.get("response_id", ""), now)
            elif raw.get("type") == "input_audio_buffer.speech_started":
                self.raw_speech.append(now)

    def on(self, event: Any) -> None:
        """The session's event stream: what the app plays from, and when it is told to stop."""
        now = time.perf_counter()
        if event.type == "audio":
            self.audio.setdefault(event.audio.response_id, now)
        elif event.type == "audio_interrupted":
            self.interrupted.append(now)

    def first_audio_ms(self) -> list[float]:
        return [(self.audio[rid] - t) * 1000 for rid, t in self.raw_delta.items() if rid in self.audio]

    def barge_in_ms(self) -> list[float]:
        if len(self.raw_speech) != len(self.interrupted):
            raise SystemExit(f"realtime peer: {len(self.raw_speech)} speech_started, "
                             f"{len(self.interrupted)} audio_interrupted")
        return [(b - a) * 1000 for a, b in zip(self.raw_speech, self.interrupted, strict=True)]


async def wait_for(check: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"realtime peer: no {what} within {timeout:.0f} s")
        await asyncio.sleep(0.005)


async def main() -> None:
    parser = driver_args(__doc__)
    parser.add_argument("--url", required=True, help="ws://host:port/v1/realtime?model=...")
    parser.add_argument("--speech", required=True, help="the user's interruption (16-bit mono WAV)")
    args = parser.parse_args()
    set_tracing_disabled(True)
    pcm = speech_pcm(args.speech)
    chunk = RATE * 2 * CHUNK_MS // 1000
    agent = RealtimeAgent(name="assistant", instructions="You answer briefly.")
    runner = RealtimeRunner(agent)
    session = await runner.run(model_config={"url": args.url, "api_key": "sim"})
    first_audio, barge_in = [], []
    marks = Marks()
    async with session:
        session.model.add_listener(marks)  # after the session's own listener: it does not delay it

        async def consume() -> None:
            async for event in session:
                marks.on(event)

        reader = asyncio.create_task(consume())
        try:
            # turn 1 is a typed question; each later turn is the server's answer to the speech that
            # interrupted the previous answer (server VAD commits it and answers), barged in on again
            await session.send_message("Tell me a story.")
            for turn in range(1, args.warmup + args.reps + 1):
                await wait_for(lambda t=turn: len(marks.audio) >= t, "audio")
                await asyncio.sleep(0.3)  # the answer is playing
                for start in range(0, len(pcm), chunk):
                    await session.send_audio(pcm[start : start + chunk])
                    await asyncio.sleep(CHUNK_MS / 1000)  # a microphone delivers in real time
                await wait_for(lambda t=turn: len(marks.interrupted) >= t, "audio_interrupted")
        finally:
            reader.cancel()
    skip = args.warmup
    first_audio = marks.first_audio_ms()[skip : skip + args.reps]
    barge_in = marks.barge_in_ms()[skip : skip + args.reps]
    emit_result({"first_audio_ms": first_audio, "barge_in_ms": barge_in})


if __name__ == "__main__":
    asyncio.run(main())
