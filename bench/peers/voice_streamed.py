"""Peer: hands-free voice through openai-agents' VoicePipeline with StreamedAudioInput (the documented way
to talk to it continuously), on the PulseAudio rig.

openai-agents has no audio devices of its own (its examples use sounddevice); this app gives it PulseAudio's
own clients at 20 ms latency: `parec` from the microphone source (24 kHz mono PCM16, 20 ms blocks pushed
into StreamedAudioInput as they come) and `pacat` to the speaker sink (each audio event's PCM written as it
comes). Turns are cut by the transcription session's server VAD (its default, semantic_vad), as the peer does
by default. Runs until stdin closes; prints `{"ready": true}` once listening, `{"turn": n}` after each reply,
and a final JSON line. Runs in bench/.venv-peers (openai-agents[voice]); OPENAI_BASE_URL names the simulator.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import numpy as np
from agents import Agent, set_tracing_disabled
from agents.voice import SingleAgentVoiceWorkflow, StreamedAudioInput, VoicePipeline

RATE = 24000  # what the pipeline's transcription session and speech take and give
BLOCK = RATE // 50  # 20 ms


async def pump_mic(source: str, audio_in: StreamedAudioInput) -> None:
    proc = await asyncio.create_subprocess_exec(
        "parec", f"--device={source}", "--raw", f"--rate={RATE}", "--channels=1", "--format=s16le",
        "--latency-msec=20", stdout=subprocess.PIPE)
    assert proc.stdout is not None
    try:
        while chunk := await proc.stdout.readexactly(BLOCK * 2):
            await audio_in.add_audio(np.frombuffer(chunk, np.int16).copy())
    finally:
        proc.kill()


def say(obj: dict[str, object]) -> None:
    print(json.dumps(obj), flush=True)


async def main() -> None:
    source, sink = sys.argv[1], sys.argv[2]
    set_tracing_disabled(True)
    agent = Agent(name="voice", instructions="You answer briefly.", model="gpt-4.1-mini")
    pipeline = VoicePipeline(workflow=SingleAgentVoiceWorkflow(agent))
    audio_in = StreamedAudioInput()
    speaker = subprocess.Popen(["pacat", "--playback", f"--device={sink}", "--raw", f"--rate={RATE}",
                                "--channels=1", "--format=s16le", "--latency-msec=20"], stdin=subprocess.PIPE)
    assert speaker.stdin is not None
    result = await pipeline.run(audio_in)
    mic = asyncio.create_task(pump_mic(source, audio_in))
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    say({"ready": True})
    turns = 0

    async def play() -> None:
        nonlocal turns
        async for event in result.stream():
            if event.type == "voice_stream_event_audio" and event.data is not None:
                speaker.stdin.write(np.asarray(event.data, np.int16).tobytes())  # type: ignore[union-attr]
                speaker.stdin.flush()  # type: ignore[union-attr]
            elif event.type == "voice_stream_event_lifecycle" and event.event == "turn_ended":
                turns += 1
                say({"turn": turns})
            elif event.type == "voice_stream_event_error":
                say({"error": str(event.error)})

    player = asyncio.create_task(play())
    await stdin_closed
    mic.cancel()
    player.cancel()
    speaker.terminate()
    say({"turns": turns})


if __name__ == "__main__":
    asyncio.run(main())
