"""Conformance: every request body agentcli's client sends in the main flows, and every response and event the
simulator sends back over HTTP, checked against the `openai` package's types with unknown keys forbidden.

Requests are TypedDicts there (pydantic drops unknown keys of a TypedDict instead of failing), so a key is
unknown when it is in the body sent but not in the validated result. Responses are models that allow extra
fields (kept in `model_extra`), so an unknown key is any non-empty `model_extra`, at any depth.

Where the package and the published API description disagree, it is noted at the check:
- `speech.audio.delta` / `speech.audio.done` (stream_format sse) have no types in the package (3.57); their
  shape follows the published description and is checked by hand below.
- The Responses `error` stream event: the package's ResponseErrorEvent has `code`, `message`, `param`,
  `sequence_number`, as the published description does; checked like the rest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from openai.types import Model as ModelObject
from openai.types.audio import Transcription, TranscriptionVerbose
from openai.types.audio.speech_create_params import SpeechCreateParams
from openai.types.audio.transcription_create_params import TranscriptionCreateParamsBase
from openai.types.audio.transcription_stream_event import TranscriptionStreamEvent
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.chat.completion_create_params import CompletionCreateParamsStreaming
from openai.types.responses import Response, ResponseStreamEvent
from openai.types.responses.response_create_params import ResponseCreateParamsStreaming
from pydantic import BaseModel, TypeAdapter

from agentcli.sim.server import SimServer
from tests.runtime.conftest import write_module
from tests.runtime.runner_helpers import in_sim, runner_for, spec_for, turn
from tests.sim.helpers import parse_sse, post_raw

REQUEST_TYPES: dict[str, Any] = {
    "/v1/responses": TypeAdapter(ResponseCreateParamsStreaming),
    "/v1/chat/completions": TypeAdapter(CompletionCreateParamsStreaming),
    "/v1/audio/speech": TypeAdapter(SpeechCreateParams),
}
# a multipart form: its `file` (IO[bytes]) has no pydantic schema, so its field names are checked
TRANSCRIPTION_FIELDS = TranscriptionCreateParamsBase.__required_keys__ | TranscriptionCreateParamsBase.__optional_keys__


def unknown_keys(sent: Any, validated: Any, path: str = "$") -> list[str]:
    """Keys present in `sent` that validation dropped (unknown to the TypedDicts), at any depth."""
    if isinstance(sent, dict):
        if not isinstance(validated, dict):
            return []
        out = [f"{path}.{k}" for k in sent if k not in validated]
        for key, value in sent.items():
            if key in validated:
                out += unknown_keys(value, validated[key], f"{path}.{key}")
        return out
    if isinstance(sent, list):
        items = list(validated) if hasattr(validated, "__iter__") and not isinstance(validated, str) else []
        pairs = enumerate(zip(sent, items, strict=False))
        return [p for i, (a, b) in pairs for p in unknown_keys(a, b, f"{path}[{i}]")]
    return []


def extras(obj: Any, path: str = "$") -> list[str]:
    """Fields of a parsed response the package's models do not declare, at any depth."""
    if isinstance(obj, BaseModel):
        out = [f"{path}.{k}" for k in (obj.model_extra or {})]
        for name in type(obj).model_fields:
            out += extras(getattr(obj, name), f"{path}.{name}")
        return out
    if isinstance(obj, list | tuple):
        return [p for i, v in enumerate(obj) for p in extras(v, f"{path}[{i}]")]
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in extras(v, f"{path}.{k}")]
    return []


def check_request(path: str, body: dict[str, Any]) -> None:
    if path == "/v1/audio/transcriptions":
        assert set(body) <= TRANSCRIPTION_FIELDS | {"stream"}, body
        assert body.get("response_format", "json") in ("json", "text", "srt", "verbose_json", "vtt")
        return
    validated = REQUEST_TYPES[path].validate_python(body)
    assert unknown_keys(body, validated) == [], (path, body)


def check_model(model: type[BaseModel] | TypeAdapter[Any], data: Any) -> None:
    parsed = model.validate_python(data) if isinstance(model, TypeAdapter) else model.model_validate(data)
    assert extras(parsed) == [], data


STREAM_EVENTS = TypeAdapter(ResponseStreamEvent)
TRANSCRIPT_EVENTS = TypeAdapter(TranscriptionStreamEvent)


async def check_answers(sim: SimServer, path: str, body: dict[str, Any]) -> None:
    """Send `body` again, raw, streamed and not, and check everything that comes back."""
    path = path.removeprefix("/v1")
    for stream in (True, False):
        raw = await post_raw(sim, path, {**body, "stream": stream})
        assert raw.status_code == 200, raw.text
        if path == "/responses" and stream:
            events = parse_sse(raw.text)
            for name, data in events:
                event = json.loads(data)
                assert event["type"] == name
                check_model(STREAM_EVENTS, event)
        elif path == "/responses":
            check_model(Response, raw.json())
        elif stream:
            events = parse_sse(raw.text)
            assert events[-1] == (None, "[DONE]")
            for _name, data in events[:-1]:
                check_model(ChatCompletionChunk, json.loads(data))
        else:
            check_model(ChatCompletion, raw.json())


TOOLS_SOURCE = "def get_weather(city: str) -> str:\n    '''Weather for a city.'''\n    return f'sunny in {city}'\n"
SCRIPT = {
    "turns": [
        {"match": "weather", "reply": [
            {"tool_call": {"name": "get_weather", "arguments": {"city": "Paris"}}},
            {"text": "It is {tool_output}."},
        ]},
        {"match": "think", "reply": [
            {"reasoning": "Look it up.", "tool_call": {"name": "get_weather", "arguments": {"city": "Oslo"}}},
            {"text": "Done: {tool_output}"},
        ]},
        {"match": "refuse", "reply": [{"refusal": "No."}]},
        {"match": "cut", "reply": [{"text": "Half", "incomplete": {"reason": "max_output_tokens"}}]},
        {"match": ".*", "reply": ["Turn {turn}: {input}"]},
    ]
}


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_main_flows_conform_both_ways(tmp_path: Path, api: str) -> None:
    module = write_module(tmp_path, TOOLS_SOURCE)
    settings = {"temperature": 0.2, "max_tokens": 200, "tool_choice": "auto", "parallel_tool_calls": True}
    agents = [
        {"name": "helper", "instructions": "Be brief.", "tools": [{"python": f"{module}:get_weather"}],
         "model_settings": settings},
        {"name": "thinker", "model": "o4-mini", "tools": [{"python": f"{module}:get_weather"}],
         "model_settings": {"reasoning_effort": "low"}},
        {"name": "typed", "output_type": {"type": "object", "properties": {"a": {"type": "string"}}}},
    ]

    async def body(sim):  # type: ignore[no-untyped-def]
        for agent in agents:
            spec = spec_for(tmp_path, api, agent)
            runner = runner_for(spec, sim)
            conv = runner.new_conversation()
            texts = ("hello", "weather in Paris?", "think", "refuse", "cut") if "tools" in agent else ("hello", "cut")
            for text in texts:
                await turn(runner, conv, text)
        recorded = list(zip(sim.request_paths, sim.requests, strict=True))
        for path, sent in recorded:
            check_request(path, sent)
            await check_answers(sim, path, sent)
        return recorded

    recorded = in_sim(SCRIPT, body)
    endpoint = "/v1/responses" if api == "responses" else "/v1/chat/completions"
    assert len(recorded) >= 15 and {p for p, _ in recorded} == {endpoint}


def test_audio_flows_conform_both_ways() -> None:
    import asyncio

    from agentcli.models.client import make_client
    from agentcli.spec.model import Provider, SttSettings, TtsSettings
    from agentcli.voice.stt import OpenAITranscriber
    from agentcli.voice.tts import OpenAISpeech

    async def main() -> None:
        async with SimServer() as sim:
            client = make_client(Provider(base_url=sim.base_url, max_retries=0), api_key="sim")
            audio = (0.1 * np.sin(np.arange(16000) / 10)).astype(np.float32)
            for settings in (SttSettings(), SttSettings(model="whisper-1", language="en", prompt="Weather.")):
                [part async for part in OpenAITranscriber(client, settings).transcribe(audio, 16000)]
            tts = OpenAISpeech(client, TtsSettings(instructions="Calm.", speed=1.2))
            [chunk async for chunk in tts.synthesize("Hello there.")]
            for path, sent in zip(sim.request_paths, sim.requests, strict=True):
                check_request(path, sent)
            # what the simulator answers, in every format and stream mode
            wav = {"file": ("a.wav", _wav(), "audio/wav")}
            import httpx2

            async with httpx2.AsyncClient() as http:
                auth = {"Authorization": "Bearer sim"}
                url = f"{sim.base_url}/audio/transcriptions"
                streamed = await http.post(url, files=wav, data={"model": "gpt-4o-mini-transcribe", "stream": "true"},
                                           headers=auth)
                for _name, data in parse_sse(streamed.text):
                    check_model(TRANSCRIPT_EVENTS, json.loads(data))
                plain = await http.post(url, files=wav, data={"model": "gpt-4o-mini-transcribe"}, headers=auth)
                check_model(Transcription, plain.json())
                verbose = await http.post(url, files=wav, headers=auth, data={
                    "model": "whisper-1", "response_format": "verbose_json", "timestamp_granularities[]": "word"})
                check_model(TranscriptionVerbose, verbose.json())
                models = await http.get(f"{sim.base_url}/models", headers=auth)
                for model in models.json()["data"]:
                    check_model(ModelObject, model)
                # speech.audio.* events: no types in the package; the published description's shape
                sse = await http.post(f"{sim.base_url}/audio/speech", headers=auth, json={
                    "model": "gpt-4o-mini-tts", "voice": "alloy", "input": "Hi.", "stream_format": "sse"})
                events = [json.loads(d) for _n, d in parse_sse(sse.text)]
                assert all(set(e) == {"type", "audio"} for e in events[:-1])
                assert set(events[-1]) == {"type", "usage"}

    asyncio.run(main())


def _wav() -> bytes:
    from agentcli.audio.wavfile import wav_bytes

    return wav_bytes((0.1 * np.sin(np.arange(24000) / 7)).astype(np.float32), 24000)


def test_failure_events_conform() -> None:
    """response.failed and the `error` stream event (Responses). Chat's mid-stream error is a bare
    `data: {"error": {...}}` chunk, which the package has no type for (its stream reader special-cases it)."""
    script = {"turns": [
        {"match": "fail", "reply": [{"failed": {"message": "Boom.", "code": "server_error"}}]},
        {"match": "error", "reply": [{"text": "Hm", "error": {"message": "Broken.", "code": "server_error"}}]},
    ]}

    async def body(sim):  # type: ignore[no-untyped-def]
        for text in ("fail", "error"):
            raw = await post_raw(sim, "/responses", {"model": "m", "input": text, "stream": True})
            events = parse_sse(raw.text)
            for name, data in events:
                check_model(STREAM_EVENTS, json.loads(data))
                assert json.loads(data)["type"] == name
            assert events[-1][0] == ("response.failed" if text == "fail" else "error")
        chat = await post_raw(sim, "/chat/completions", {"model": "m", "stream": True,
                                                         "messages": [{"role": "user", "content": "error"}]})
        return [json.loads(d) for _n, d in parse_sse(chat.text)]

    chunks = in_sim(script, body)
    for chunk in chunks[:-1]:
        check_model(ChatCompletionChunk, chunk)
    assert chunks[-1] == {"error": {"message": "Broken.", "type": "server_error", "param": None,
                                    "code": "server_error"}}
