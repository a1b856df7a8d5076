"""POST /v1/audio/transcriptions (WAV in; the script's `hear:` list out, as json, text, verbose_json, srt or
vtt) and /v1/audio/speech (mp3 by default as the API does, opus, flac, wav, pcm; raw or `stream_format: sse`).

mp3, opus and flac are encoded by libsndfile (the `soundfile` package, imported only when such a format is
asked). aac is answered 400: no maintained encoder ships with the packages agentcli uses.

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
from agentcli.sim.speech import RATE, synthesize_pcm

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
    if response_format not in TRANSCRIPT_FORMATS:
        raise _invalid_format(response_format, TRANSCRIPT_FORMATS)
    if response_format in ("verbose_json", "srt", "vtt") and model != "whisper-1":
        raise HttpError(
            400,
            f"response_format '{response_format}' is not compatible with model '{model}'. "
            "Use 'json' or 'text' instead (or model 'whisper-1').",
            param="response_format",
            code="unsupported_value",
        )
    from agentcli.audio.wavfile import parse_wav
    from agentcli.errors import AudioError

    try:
        _samples, wav = parse_wav(upload.data, upload.filename or "file")
    except AudioError:
        raise HttpError(
            400,
            "Audio file might be corrupted or unsupported (the simulator reads WAV files).",
            param="file",
            code="invalid_value",
        ) from None
    seconds = wav.duration_s
    if seconds < MIN_AUDIO_S:
        raise HttpError(
            400,
            f"Audio file is too short. Minimum audio length is {MIN_AUDIO_S} seconds.",
            param="file",
            code="audio_too_short",
        )
    text = sim.next_heard(f"audio of {seconds:.1f} s", upload.data)
    usage = _transcription_usage(str(model), seconds, str(body.get("prompt") or ""), text)
    delay = sim.latency_ms("stt_ms") / 1000
    if str(body.get("stream", "false")).lower() != "true":
        if delay:
            await asyncio.sleep(delay)
        if response_format == "text":
            await responder.send(200, text.encode(), "text/plain; charset=utf-8")
        elif response_format in ("srt", "vtt"):
            await responder.send(200, subtitles(text, seconds, response_format).encode(), "text/plain; charset=utf-8")
        elif response_format == "verbose_json":
            words = "word" in (body.get("timestamp_granularities[]") or [])
            await responder.send_json(200, verbose_transcript(text, seconds, usage, words))
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


TRANSCRIPT_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")


def _timed_words(text: str, seconds: float) -> list[tuple[str, float, float]]:
    """The text's words spread evenly over the audio: deterministic stand-in timestamps."""
    words = text.split()
    step = seconds / len(words) if words else 0.0
    return [(w, round(i * step, 2), round((i + 1) * step, 2)) for i, w in enumerate(words)]


def verbose_transcript(text: str, seconds: float, usage: dict[str, Any], words: bool) -> dict[str, Any]:
    segment = {
        "id": 0, "seek": 0, "start": 0.0, "end": round(seconds, 2), "text": text,
        "tokens": list(range(50364, 50364 + count_tokens(text))), "temperature": 0.0,
        "avg_logprob": -0.2, "compression_ratio": 1.0, "no_speech_prob": 0.01,
    }
    out: dict[str, Any] = {"language": "english", "duration": round(seconds, 2),
                           "text": text, "segments": [segment] if text else [], "usage": usage}
    if words:
        out["words"] = [{"word": w, "start": a, "end": b} for w, a, b in _timed_words(text, seconds)]
    return out


def _timestamp(t: float, sep: str) -> str:
    ms = round(t * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


def subtitles(text: str, seconds: float, kind: str) -> str:
    """The transcript as one SubRip or WebVTT cue over the whole audio."""
    if kind == "srt":
        return f"1\n{_timestamp(0, ',')} --> {_timestamp(seconds, ',')}\n{text}\n\n"
    return f"WEBVTT\n\n{_timestamp(0, '.')} --> {_timestamp(seconds, '.')}\n{text}\n\n"


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
    if response_format not in SPEECH_TYPES:
        raise _invalid_format(response_format, SPEECH_TYPES)
    if response_format == "aac":
        raise HttpError(
            400,
            "response_format 'aac' is not supported by the simulator (no AAC encoder is installed): "
            "use mp3, opus, flac, wav or pcm.",
            param="response_format",
            code="unsupported_value",
        )
    if body.get("stream_format", "audio") not in ("audio", "sse"):
        raise HttpError(
            400,
            f"Invalid value for 'stream_format': '{body.get('stream_format')}'. Supported values are: 'sse' and "
            "'audio'.",
            param="stream_format",
            code="invalid_value",
        )
    return text, voice, float(speed), response_format


SPEECH_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
_SOUNDFILE = {"mp3": ("MP3", "MPEG_LAYER_III"), "opus": ("OGG", "OPUS"), "flac": ("FLAC", "PCM_16")}


def encode(pcm: bytes, response_format: str) -> bytes:
    """24 kHz s16le mono PCM in a compressed container, by libsndfile (soundfile, imported here)."""
    import io

    import numpy as np
    import soundfile

    container, subtype = _SOUNDFILE[response_format]
    buffer = io.BytesIO()
    samples = np.frombuffer(pcm, dtype="<i2")
    if samples.size == 0:  # encoders need at least one frame
        samples = np.zeros(RATE // 100, dtype="<i2")
    soundfile.write(buffer, samples, RATE, format=container, subtype=subtype)
    return buffer.getvalue()


async def handle_speech(sim: SimServer, request: Request, responder: Responder, body: dict[str, Any]) -> None:
    text, voice, speed, response_format = _speech_params(body)
    loop = asyncio.get_running_loop()
    started = loop.time()
    pcm = await asyncio.to_thread(synthesize_pcm, text, voice, speed)
    # the knob sets the time to first byte; synthesis time counts towards it
    wait = sim.latency_ms("tts_first_byte_ms") / 1000 - (loop.time() - started)
    if wait > 0:
        await asyncio.sleep(wait)
    if body.get("stream_format") == "sse":
        await _speech_sse(responder, pcm, response_format, text)
        return
    if response_format in _SOUNDFILE:
        data = await asyncio.to_thread(encode, pcm, response_format)
        await responder.start_stream(200, SPEECH_TYPES[response_format])
        for start in range(0, len(data), CHUNK_BYTES):
            await responder.write(data[start : start + CHUNK_BYTES])
        await responder.end()
        return
    from agentcli.audio.wavfile import wav_header

    await responder.start_stream(200, SPEECH_TYPES[response_format])
    prefix = wav_header(len(pcm), RATE) if response_format == "wav" else b""
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


async def _speech_sse(responder: Responder, pcm: bytes, response_format: str, text: str) -> None:
    """stream_format sse: `speech.audio.delta` events (base64 audio in the asked format), then
    `speech.audio.done` with usage."""
    import base64

    if response_format in _SOUNDFILE:
        data = await asyncio.to_thread(encode, pcm, response_format)
    elif response_format == "wav":
        from agentcli.audio.wavfile import wav_header

        data = wav_header(len(pcm), RATE) + pcm
    else:
        data = pcm
    await responder.start_stream()
    for start in range(0, len(data), CHUNK_BYTES):
        chunk = base64.b64encode(data[start : start + CHUNK_BYTES]).decode()
        await responder.sse({"type": "speech.audio.delta", "audio": chunk})
    tokens_in, tokens_out = count_tokens(text), max(1, len(pcm) // (RATE * 2 // 10))
    usage = {"input_tokens": tokens_in, "output_tokens": tokens_out, "total_tokens": tokens_in + tokens_out}
    await responder.sse({"type": "speech.audio.done", "usage": usage})
    await responder.end()


def _invalid_format(value: Any, allowed: Any) -> HttpError:
    """The API's answer to a response_format it does not take, listing those it does."""
    return HttpError(
        400,
        f"Invalid value for 'response_format': '{value}'. Supported values are: "
        + ", ".join(f"'{f}'" for f in allowed) + ".",
        param="response_format",
        code="invalid_value",
    )
