"""POST /v1/audio/transcriptions (WAV in; the script's `hear:` list out) and /v1/audio/speech (PCM/WAV).

Speech is streamed in 40 ms chunks, the first after the script's `latency.tts_first_byte_ms`, the rest as
fast as the client takes them unless `$AGENT_SIM_SPEECH_PACE` (x real time, e.g. 1) paces them like a
server streaming as it synthesizes: chunk k no earlier than first byte + k x 40 ms / pace. Unset, 0 or not
a positive number: unpaced.
"""

from __future__ import annotations

import asyncio
import math
import os
from typing import TYPE_CHECKING, Any

from agentcli.sim.http import HttpError, Request, Responder
from agentcli.sim.multipart import UploadedFile
from agentcli.sim.planner import count_tokens, text_pieces
from agentcli.sim.speech import RATE, parse_wav, synthesize_pcm, wav_header

if TYPE_CHECKING:
    from agentcli.sim.server import SimServer

CHUNK_MS = 40  # speech is streamed in 40 ms chunks
CHUNK_BYTES = RATE * 2 * CHUNK_MS // 1000
MAX_SPEECH_INPUT = 4096
MIN_AUDIO_S = 0.1


def _missing(name: str) -> HttpError:
    return HttpError(400, f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")


def _transcription_usage(model: str, seconds: float, prompt: str, text: str) -> dict[str, Any]:
    if model == "whisper-1":
        return {"type": "duration", "seconds": math.ceil(seconds)}
    audio_tokens = math.ceil(seconds * 10)  # a deterministic stand-in: 10 tokens a second
    text_tokens = count_tokens(prompt)
    out = count_tokens(text)
    return {
        "type": "tokens",
        "input_tokens": audio_tokens + text_tokens,
        "input_token_details": {"text_tokens": text_tokens, "audio_tokens": audio_tokens},
        "output_tokens": out,
        "total_tokens": audio_tokens + text_tokens + out,
    }


async def handle_transcription(sim: SimServer, request: Request, responder: Responder, body: dict[str, Any]) -> None:
    upload = body.get("file")
    if not isinstance(upload, UploadedFile):
        raise _missing("file")
    model = body.get("model")
    if not model:
        raise _missing("model")
    response_format = body.get("response_format", "json")
    if response_format not in ("json", "text"):
        raise HttpError(
            400,
            f"response_format '{response_format}' is not supported by the simulator: use 'json' or 'text'.",
            param="response_format",
            code="unsupported_value",
        )
    wav = parse_wav(upload.data)
    if wav is None or wav.bits not in (8, 16, 24, 32):
        raise HttpError(
            400,
            "Audio file might be corrupted or unsupported (the simulator reads WAV files).",
            param="file",
            code="invalid_value",
        )
    seconds = wav.seconds
    if seconds < MIN_AUDIO_S:
        raise HttpError(
            400,
            f"Audio file is too short. Minimum audio length is {MIN_AUDIO_S} seconds.",
            param="file",
            code="audio_too_short",
        )
    text = sim.next_heard(f"audio of {seconds:.1f} s")
    usage = _transcription_usage(str(model), seconds, str(body.get("prompt") or ""), text)
    delay = sim.latency_ms("stt_ms") / 1000
    if str(body.get("stream", "false")).lower() != "true":
        if delay:
            await asyncio.sleep(delay)
        if response_format == "text":
            await responder.send(200, text.encode(), "text/plain; charset=utf-8")
        else:
            await responder.send_json(200, {"text": text, "usage": usage})
        return
    await responder.start_stream()
    if delay:
        await asyncio.sleep(delay)
    for piece in text_pieces(text):
        await responder.sse({"type": "transcript.text.delta", "delta": piece})
    if usage["type"] != "tokens":  # the done event only carries token usage
        usage = _transcription_usage("", seconds, "", text)
    await responder.sse({"type": "transcript.text.done", "text": text, "usage": usage})
    await responder.end()


def speech_pace() -> float:
    """$AGENT_SIM_SPEECH_PACE as x real time; 0 (unpaced) when unset or not a positive finite number."""
    try:
        pace = float(os.environ.get("AGENT_SIM_SPEECH_PACE") or 0)
    except ValueError:
        return 0.0
    return pace if math.isfinite(pace) and pace > 0 else 0.0


def _speech_params(body: dict[str, Any]) -> tuple[str, str, float, str]:
    for name in ("model", "input", "voice"):
        if body.get(name) in (None, ""):
            raise _missing(name)
    text = body["input"]
    if not isinstance(text, str):
        raise HttpError(400, "Invalid type for 'input': expected a string.", param="input")
    if len(text) > MAX_SPEECH_INPUT:
        raise HttpError(
            400,
            f"Invalid 'input': string too long. Expected a string with maximum length {MAX_SPEECH_INPUT}, "
            f"but got a string with length {len(text)} instead.",
            param="input",
            code="string_above_max_length",
        )
    voice = body["voice"]
    voice = str(voice.get("id", "")) if isinstance(voice, dict) else str(voice)
    speed = body.get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0.25 <= speed <= 4.0:
        raise HttpError(400, "Invalid 'speed': expected a number from 0.25 to 4.0.", param="speed")
    response_format = body.get("response_format", "mp3")
    if response_format not in ("pcm", "wav"):
        raise HttpError(
            400,
            f"response_format '{response_format}' is not supported by the simulator: use 'pcm' or 'wav'.",
            param="response_format",
            code="unsupported_value",
        )
    if body.get("stream_format", "audio") != "audio":
        raise HttpError(
            400,
            "stream_format 'sse' is not supported by the simulator: use 'audio'.",
            param="stream_format",
            code="unsupported_value",
        )
    return text, voice, float(speed), response_format


async def handle_speech(sim: SimServer, request: Request, responder: Responder, body: dict[str, Any]) -> None:
    text, voice, speed, response_format = _speech_params(body)
    loop = asyncio.get_running_loop()
    started = loop.time()
    pcm = await asyncio.to_thread(synthesize_pcm, text, voice, speed)
    # the knob sets the time to first byte; synthesis time counts towards it
    wait = sim.latency_ms("tts_first_byte_ms") / 1000 - (loop.time() - started)
    if wait > 0:
        await asyncio.sleep(wait)
    await responder.start_stream(200, "audio/pcm" if response_format == "pcm" else "audio/wav")
    prefix = wav_header(len(pcm)) if response_format == "wav" else b""
    if not pcm and prefix:
        await responder.write(prefix)
    pace = speech_pace()
    first_byte = loop.time()
    for k, start in enumerate(range(0, len(pcm), CHUNK_BYTES)):
        if pace and k:  # chunk k is due k chunk-lengths (at the pace) after the first byte, never earlier
            due = first_byte + k * CHUNK_MS / 1000 / pace
            while (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
        await responder.write(prefix + pcm[start : start + CHUNK_BYTES])
        prefix = b""
    await responder.end()
