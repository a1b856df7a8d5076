"""/v1/audio/transcriptions and /v1/audio/speech through the real openai client."""

from __future__ import annotations

import io
import json
import struct
import time
import wave

import httpx2
import openai
import pytest
from openai.types.audio import Transcription, TranscriptionTextDeltaEvent, TranscriptionTextDoneEvent

from agentcli.sim import audio_api, speech
from agentcli.sim.script import parse_script
from agentcli.sim.server import SimServer
from tests.sim.helpers import client_for, parse_sse

pytestmark = pytest.mark.anyio
STT = "gpt-4o-mini-transcribe"
TTS = "gpt-4o-mini-tts"


def wav_file(seconds: float, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x01\x00" * int(rate * seconds))
    return buffer.getvalue()


async def test_transcription_streams_the_scripted_hear_list_then_duration() -> None:
    script = parse_script({"hear": ["what's the weather in Paris", "thanks"]})
    async with SimServer(script) as sim, client_for(sim) as client:
        stream = await client.audio.transcriptions.create(
            file=("a.wav", wav_file(1.0), "audio/wav"), model=STT, stream=True
        )
        events = [e async for e in stream]
        assert [e.type for e in events] == ["transcript.text.delta"] * 5 + ["transcript.text.done"]
        assert "".join(e.delta for e in events[:-1]) == "what's the weather in Paris"  # type: ignore[union-attr]
        done = events[-1]
        assert isinstance(done, TranscriptionTextDoneEvent) and done.text == "what's the weather in Paris"
        assert done.usage is not None and done.usage.input_tokens == 10
        second = await client.audio.transcriptions.create(file=("a.wav", wav_file(0.5), "audio/wav"), model=STT)
        assert second.text == "thanks"
        third = await client.audio.transcriptions.create(file=("b.wav", wav_file(2.46), "audio/wav"), model=STT)
        assert third.text == "audio of 2.5 s"  # the list is used up: the WAV's duration
        text = await client.audio.transcriptions.create(
            file=("c.wav", wav_file(1.0, 48000), "audio/wav"), model="whisper-1", response_format="text"
        )
        assert text == "audio of 1.0 s"
    assert sim.requests[0]["file"] == {"filename": "a.wav", "content_type": "audio/wav", "bytes": 32044}
    assert sim.requests[0]["stream"] == "true" and sim.requests[0]["model"] == STT


async def test_raw_transcription_events_validate() -> None:
    async with SimServer() as sim, httpx2.AsyncClient() as http:
        files = {"file": ("a.wav", wav_file(0.7), "audio/wav")}
        auth = {"Authorization": "Bearer sim"}
        raw = await http.post(
            f"{sim.base_url}/audio/transcriptions",
            files=files,
            data={"model": STT, "stream": "true"},
            headers=auth,
        )
        events = parse_sse(raw.text)
        for _name, data in events[:-1]:
            TranscriptionTextDeltaEvent.model_validate(json.loads(data))
        done = TranscriptionTextDoneEvent.model_validate(json.loads(events[-1][1]))
        assert done.text == "audio of 0.7 s"
        plain = await http.post(f"{sim.base_url}/audio/transcriptions", files=files, data={"model": STT}, headers=auth)
        assert Transcription.model_validate(plain.json()).text == "audio of 0.7 s"


@pytest.mark.parametrize(
    ("upload", "form", "message"),
    [
        (b"this is not audio at all", {}, "corrupted or unsupported"),
        (b"RIFF\x10\x00\x00\x00WAVEjunk", {}, "corrupted or unsupported"),
        (wav_file(0.05), {}, "too short"),
        (wav_file(1.0), {"response_format": "srt"}, "not supported by the simulator"),
    ],
)
async def test_bad_uploads_are_400(upload: bytes, form: dict[str, str], message: str) -> None:
    async with SimServer() as sim, client_for(sim) as client:
        with pytest.raises(openai.BadRequestError, match=message) as info:
            await client.audio.transcriptions.create(
                file=("x.wav", upload, "audio/wav"),
                model=STT,
                **form,  # type: ignore[arg-type]
            )
        assert info.value.param in ("file", "response_format")


async def test_stt_latency_knob() -> None:
    async with SimServer(parse_script({"latency": {"stt_ms": 200}})) as sim, client_for(sim) as client:
        t0 = time.perf_counter()
        await client.audio.transcriptions.create(file=("a.wav", wav_file(0.5), "audio/wav"), model=STT)
        assert time.perf_counter() - t0 >= 0.2


async def _speak(client: openai.AsyncOpenAI, text: str, fmt: str = "pcm", **extra: object) -> tuple[bytes, int]:
    chunks = []
    async with client.audio.speech.with_streaming_response.create(
        model=TTS,
        voice="alloy",
        input=text,
        response_format=fmt,  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    ) as response:
        assert response.headers["transfer-encoding"] == "chunked"
        async for chunk in response.iter_bytes():
            chunks.append(chunk)
    return b"".join(chunks), len(chunks)


async def test_speech_pcm_streams_deterministic_voice_like_audio() -> None:
    async with SimServer() as sim, client_for(sim) as client:
        short, _ = await _speak(client, "Hello there.")
        long, _ = await _speak(client, "Hello there. This sentence is a good deal longer than the first one.")
        again, _ = await _speak(client, "Hello there.")
    assert len(short) % 2 == 0 and len(short) > 0
    assert again == short  # deterministic (and cached)
    assert len(long) > 2 * len(short)  # length follows the text
    samples = struct.unpack(f"<{len(short) // 2}h", short)
    rms = (sum(s * s for s in samples) / len(samples)) ** 0.5
    assert rms > 300  # audible, not silence
    assert 0.3 < len(short) / (2 * speech.RATE) < 3.0


async def test_speech_wav_has_a_header_and_bad_formats_are_400() -> None:
    async with SimServer() as sim, client_for(sim) as client:
        data, _ = await _speak(client, "A wave file.", "wav")
        with wave.open(io.BytesIO(data)) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (speech.RATE, 1, 2)
            assert w.getnframes() == (len(data) - 44) // 2 > 0
        for bad in ({"response_format": "mp3"}, {"response_format": "pcm", "speed": 9.0}):
            with pytest.raises(openai.BadRequestError) as info:
                await client.audio.speech.create(model=TTS, voice="alloy", input="x", **bad)  # type: ignore[arg-type]
            assert info.value.param in ("response_format", "speed")


async def test_speech_first_byte_knob_and_disconnect_fault() -> None:
    script = parse_script({"latency": {"tts_first_byte_ms": 250}, "faults": [{"disconnect_after_events": 2}]})
    async with SimServer(script) as sim, client_for(sim) as client:
        with pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"):
            await _speak(client, "This answer is long enough to need more than two chunks of audio.")
        t0 = time.perf_counter()
        async with client.audio.speech.with_streaming_response.create(
            model=TTS, voice="alloy", input="Timed.", response_format="pcm"
        ) as response:
            async for _chunk in response.iter_bytes():
                break
        assert time.perf_counter() - t0 >= 0.25


SPOKEN = "This is about two seconds of speech."  # ~2.2 s (espeak-ng), ~2.5 s (the synthetic voice)


async def _timed_speak(client: openai.AsyncOpenAI) -> tuple[bytes, float]:
    t0 = time.perf_counter()
    data, _ = await _speak(client, SPOKEN)
    return data, time.perf_counter() - t0


async def test_speech_pace_streams_like_real_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENT_SIM_SPEECH_PACE", raising=False)
    async with SimServer() as sim, client_for(sim) as client:
        unpaced, _ = await _timed_speak(client)  # synthesizes (and caches) the speech
        seconds = len(unpaced) / (2 * speech.RATE)
        assert seconds >= 1.9
        again, fast = await _timed_speak(client)
        assert again == unpaced
        monkeypatch.setenv("AGENT_SIM_SPEECH_PACE", "4")
        paced, slow = await _timed_speak(client)
        assert paced == unpaced  # the same bytes, only later
        chunks = -(-len(unpaced) // audio_api.CHUNK_BYTES)
        assert slow >= (chunks - 1) * audio_api.CHUNK_MS / 1000 / 4 >= 0.45
        assert fast < slow  # unpaced: as fast as the socket takes it
        for bad in ("fast", "-2", "nan", "0"):
            monkeypatch.setenv("AGENT_SIM_SPEECH_PACE", bad)
            data, fast = await _timed_speak(client)
            assert data == unpaced and fast < slow  # ignored: unpaced


def test_synthetic_voice_without_espeak(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speech.shutil, "which", lambda _name: None)
    text = "synthetic fallback voice check"
    pcm = speech.synthesize_pcm(text, "coral", 1.0)
    assert len(pcm) == 2 * int(speech.RATE * 0.07 * len(text))
    assert speech.synthesize_pcm(text, "coral", 2.0) != pcm
    assert len(speech.synthesize_pcm(text, "coral", 2.0)) < len(pcm)
    assert speech.synthesize_pcm("", "coral", 1.0) == b""


def test_parse_wav_reads_streamed_headers() -> None:
    pcm = b"\x01\x00" * 2400
    streamed = bytearray(speech.wav_header(len(pcm)) + pcm)
    streamed[40:44] = b"\xff\xff\xff\x7f"  # unknown data size, as espeak-ng --stdout writes
    info = speech.parse_wav(bytes(streamed))
    assert info is not None and info.pcm == pcm and abs(info.seconds - 0.1) < 1e-9
    assert speech.parse_wav(b"RIFF") is None
