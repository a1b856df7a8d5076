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
        (wav_file(1.0), {"response_format": "srt"}, "not compatible with model"),
        (wav_file(1.0), {"response_format": "xml"}, "Supported values are"),
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
        for bad in ({"response_format": "aac"}, {"response_format": "pcm", "speed": 9.0}):
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
    from agentcli.audio.wavfile import parse_wav, wav_header
    from agentcli.errors import AudioError

    pcm = b"\x01\x00" * 2400
    streamed = bytearray(wav_header(len(pcm), speech.RATE) + pcm)
    streamed[40:44] = b"\xff\xff\xff\x7f"  # unknown data size, as espeak-ng --stdout writes
    samples, fmt = parse_wav(bytes(streamed))
    assert samples.shape == (2400, 1) and abs(fmt.duration_s - 0.1) < 1e-9
    with pytest.raises(AudioError):
        parse_wav(b"RIFF")


def test_one_wav_codec() -> None:
    """The simulator and speech-to-text upload write and read WAV with agentcli/audio/wavfile.py alone."""
    import inspect

    import agentcli.sim.audio_api
    import agentcli.voice.stt

    for module in (speech, agentcli.sim.audio_api, agentcli.voice.stt):
        source = inspect.getsource(module)
        assert "import wave" not in source and "struct.pack" not in source and "RIFF" not in source


async def test_speech_default_format_is_mp3_and_every_listed_format_is_served() -> None:
    import soundfile

    async with SimServer() as sim, client_for(sim) as client:
        default = await client.audio.speech.create(model=TTS, voice="alloy", input="Hello there.")
        assert default.response.headers["content-type"] == "audio/mpeg"
        data = default.content
        assert data[:3] == b"ID3" or data[0] == 0xFF  # an MP3 stream
        for fmt, container in (("mp3", "MP3"), ("flac", "FLAC"), ("opus", "OGG")):
            answer = await client.audio.speech.create(model=TTS, voice="alloy", input="Hello there.",
                                                      response_format=fmt)  # type: ignore[arg-type]
            info = soundfile.info(io.BytesIO(answer.content))
            assert info.format == container and info.channels == 1 and info.duration > 0.3
        with pytest.raises(openai.BadRequestError, match="aac.*not supported by the simulator"):
            await client.audio.speech.create(model=TTS, voice="alloy", input="x", response_format="aac")


async def test_speech_stream_format_sse() -> None:
    import base64

    async with SimServer() as sim, httpx2.AsyncClient() as http:
        raw = await http.post(f"{sim.base_url}/audio/speech", headers={"Authorization": "Bearer sim"},
                              json={"model": TTS, "voice": "alloy", "input": "Hi there.", "response_format": "pcm",
                                    "stream_format": "sse"})
        events = [json.loads(data) for _name, data in parse_sse(raw.text)]
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert {e["type"] for e in events[:-1]} == {"speech.audio.delta"} and events[-1]["type"] == "speech.audio.done"
    pcm = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])
    assert pcm == speech.synthesize_pcm("Hi there.", "alloy", 1.0)
    assert set(events[-1]["usage"]) == {"input_tokens", "output_tokens", "total_tokens"}


async def test_transcription_verbose_json_srt_vtt() -> None:
    from openai.types.audio import TranscriptionVerbose

    script = parse_script({"hear": ["hello big world"]})
    async with SimServer(script) as sim, client_for(sim) as client:
        audio = ("a.wav", wav_file(1.5), "audio/wav")
        verbose = await client.audio.transcriptions.create(
            file=audio, model="whisper-1", response_format="verbose_json", timestamp_granularities=["word", "segment"]
        )
        assert isinstance(verbose, TranscriptionVerbose) and verbose.text == "hello big world"
        assert verbose.duration == 1.5 and verbose.segments and verbose.segments[0].end == 1.5
        assert [(w.word, w.start, w.end) for w in verbose.words or []] == [
            ("hello", 0.0, 0.5), ("big", 0.5, 1.0), ("world", 1.0, 1.5)
        ]
        srt = await client.audio.transcriptions.create(file=audio, model="whisper-1", response_format="srt")
        assert srt == "1\n00:00:00,000 --> 00:00:01,500\nhello big world\n\n"
        vtt = await client.audio.transcriptions.create(file=audio, model="whisper-1", response_format="vtt")
        assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nhello big world")


async def test_the_same_audio_is_heard_the_same_by_every_client() -> None:
    script = parse_script({"hear": ["first words", "second words"]})
    async with SimServer(script) as sim, client_for(sim) as one, client_for(sim) as two, client_for(sim) as three:
        recording = ("a.wav", wav_file(1.0), "audio/wav")
        heard = [(await c.audio.transcriptions.create(file=recording, model=STT)).text for c in (one, two, three)]
        assert heard == ["first words"] * 3  # one recording, three clients: one answer, no entry used up
        other = await two.audio.transcriptions.create(file=("b.wav", wav_file(0.5), "audio/wav"), model=STT)
        assert other.text == "second words"
