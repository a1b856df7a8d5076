"""The Gemini Live wire (BidiGenerateContent): the endpoint, the `setup` message, history as `Content`,
the socket (the key in the `x-goog-api-key` header), the log's audio elision, and the check against the
`google-genai` package's types.

Our own websockets client, not `google-genai`: that package costs ~0.45 s to import (as much as a
whole `agent --help`) and owns its socket, while the session needs the socket's drop to reconnect with a
resumption handle. The package is a test dependency: `validate_message` checks every message both ways
against `types.LiveClientMessage` / `types.LiveServerMessage`.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from agentcli.errors import ModelError
from agentcli.models.base import ToolSchema
from agentcli.realtime.connection import EventLog, RealtimeConnection, Validator, open_websocket
from agentcli.realtime.model import SessionSetup
from agentcli.spec.model import GeminiSettings

DEFAULT_BASE_URL = "wss://generativelanguage.googleapis.com"
IN_RATE = 16000  # Gemini Live hears 16 kHz pcm16 mono
OUT_RATE = 24000  # and speaks 24 kHz
IN_MIME = f"audio/pcm;rate={IN_RATE}"
KEY_HEADER = "x-goog-api-key"


def gemini_url(base_url: str | None, api_version: str = "v1beta") -> str:
    """The BidiGenerateContent websocket URL under a base (http(s) or ws(s); a trailing /v1 of an
    OpenAI-style base, such as the simulator's, is dropped)."""
    parts = urlsplit((base_url or DEFAULT_BASE_URL).rstrip("/"))
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme.lower())
    if scheme is None:
        raise ModelError(f"base URL {base_url} is not http(s) or ws(s): cannot derive the Gemini Live endpoint")
    path = parts.path[: -len("/v1")] if parts.path.endswith("/v1") else parts.path
    method = f"/ws/google.ai.generativelanguage.{api_version}.GenerativeService.BidiGenerateContent"
    return urlunsplit((scheme, parts.netloc, path + method, "", ""))


# --- the setup message -------------------------------------------------------------------------------


def _function(s: ToolSchema) -> dict[str, Any]:
    # parametersJsonSchema takes JSON Schema as is (`parameters` is OpenAPI's subset: no additionalProperties)
    return {"name": s.name, "description": s.description, "parametersJsonSchema": s.parameters}


def setup_message(
    setup: SessionSetup, gemini: GeminiSettings, model: str, handle: str | None = None
) -> dict[str, Any]:
    """`setup`: model, modality and voice, the agent's instructions and tools, activity detection
    (disabled for push-to-talk), transcriptions, context window compression, session resumption."""
    agent, rt = setup.agent, setup.settings
    generation: dict[str, Any] = {"responseModalities": ["TEXT"] if setup.text_only else ["AUDIO"]}
    if not setup.text_only:
        speech: dict[str, Any] = {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": gemini.voice}}}
        if gemini.language_code:
            speech["languageCode"] = gemini.language_code
        generation["speechConfig"] = speech
    if rt.max_output_tokens:
        generation["maxOutputTokens"] = rt.max_output_tokens
    body: dict[str, Any] = {
        "model": model if model.startswith("models/") else f"models/{model}",
        "generationConfig": generation,
        "systemInstruction": {"parts": [{"text": rt.instructions or agent.instructions}]},
    }
    if setup.tools:
        body["tools"] = [{"functionDeclarations": [_function(s) for s in setup.tools]}]
    ad = gemini.activity_detection
    detection: dict[str, Any] = {"disabled": bool(setup.ptt or ad.disabled)}
    if not detection["disabled"]:
        if ad.start_of_speech_sensitivity:
            detection["startOfSpeechSensitivity"] = f"START_SENSITIVITY_{ad.start_of_speech_sensitivity.upper()}"
        if ad.end_of_speech_sensitivity:
            detection["endOfSpeechSensitivity"] = f"END_SENSITIVITY_{ad.end_of_speech_sensitivity.upper()}"
        if ad.prefix_padding_ms is not None:
            detection["prefixPaddingMs"] = ad.prefix_padding_ms
        if ad.silence_duration_ms is not None:
            detection["silenceDurationMs"] = ad.silence_duration_ms
    body["realtimeInputConfig"] = {"automaticActivityDetection": detection}
    if gemini.input_transcription:
        body["inputAudioTranscription"] = {}
    if gemini.output_transcription and not setup.text_only:
        body["outputAudioTranscription"] = {}
    cw = gemini.context_window_compression
    if cw is not None:
        compression: dict[str, Any] = {"slidingWindow": {}}
        if cw.target_tokens is not None:
            compression["slidingWindow"]["targetTokens"] = cw.target_tokens
        if cw.trigger_tokens is not None:
            compression["triggerTokens"] = cw.trigger_tokens
        body["contextWindowCompression"] = compression
    if gemini.session_resumption:
        body["sessionResumption"] = {"handle": handle} if handle else {}
    return {"setup": body}


# --- history as Content --------------------------------------------------------------------------------


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text") or p.get("transcript") or "") for p in content if isinstance(p, dict))
    return ""


def _args(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(str(arguments or "{}"))
    except ValueError:
        return {"arguments": str(arguments)}
    return value if isinstance(value, dict) else {"value": value}


def function_response(call_id: str, name: str, output: Any) -> dict[str, Any]:
    text = output if isinstance(output, str) else json.dumps(output)
    return {"id": call_id, "name": name, "response": {"output": text}}


def to_content(entry: dict[str, Any], call_names: dict[str, str]) -> dict[str, Any] | None:
    """A neutral history entry (agentcli/models/base.py) as a Gemini `Content`; None when it has none
    (system messages: the instructions are the setup's)."""
    kind = entry.get("type", "message")
    if kind == "message":
        role = {"user": "user", "assistant": "model"}.get(str(entry.get("role")))
        return None if role is None else {"role": role, "parts": [{"text": _text(entry.get("content"))}]}
    if kind == "function_call":
        call = {"id": str(entry.get("call_id", "")), "name": str(entry.get("name", "")),
                "args": _args(entry.get("arguments"))}  # fmt: skip
        return {"role": "model", "parts": [{"functionCall": call}]}
    if kind == "function_call_output":
        call_id = str(entry.get("call_id", ""))
        response = function_response(call_id, call_names.get(call_id, ""), entry.get("output", ""))
        return {"role": "user", "parts": [{"functionResponse": response}]}
    return None


# --- the socket ------------------------------------------------------------------------------------------


def elide(message: dict[str, Any]) -> dict[str, Any]:
    """A copy safe for logs: every base64 `data` of audio replaced by its size."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if isinstance(value.get("data"), str) and str(value.get("mimeType", value.get("mime_type", ""))):
                n = len(value["data"])
                return {**value, "data": f"<{n * 3 // 4 - value['data'].count('=', max(0, n - 2))} bytes of audio>"}
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(message)  # type: ignore[no-any-return]


class ElidingLog:
    """The session's AGENT_REALTIME_LOG writer, with Gemini's audio payloads elided first."""

    def __init__(self, log: EventLog):
        self.log = log

    def write(self, direction: str, event: dict[str, Any]) -> None:
        self.log.write(direction, event if direction == "meta" else elide(event))

    def close(self) -> None:
        self.log.close()


async def open_socket(
    url: str, api_key: str, *, log: EventLog | None = None, validate: Validator | None = None,
    api_key_env: str = "GEMINI_API_KEY",
) -> RealtimeConnection:  # fmt: skip
    """Connect; failures become one-line ModelErrors (never naming the key; a 403 is a rejected key too)."""
    wire_log: Any = ElidingLog(log) if log is not None else None
    return await open_websocket(url, {KEY_HEADER: api_key}, log=wire_log, validate=validate,
                                api_key_env=api_key_env, key_statuses=(401, 403))


# --- validation against google-genai's types (tests; AGENT_REALTIME_VALIDATE=1) -------------------------

# Keys the SDK itself sends that its types lack: `setup.realtimeInputConfig` (LiveConnectConfig's
# realtime_input_config, sent by the SDK's converter, is not a field of LiveClientSetup); checked alone.
_ELIDED = re.compile(r"^<\d+ bytes of audio>$")
_UNDECLARED_SETUP = ("realtimeInputConfig", "realtime_input_config")


def validate_message(message: Any, side: Literal["client", "server"]) -> Any:
    """Validate one message against google-genai's Live types (unknown keys are errors: the types forbid
    extras). Raises ProtocolViolation with one line."""
    from pydantic import ValidationError

    from agentcli.realtime.protocol import ProtocolViolation

    if not isinstance(message, dict):
        raise ProtocolViolation(f"a Gemini {side} message must be a JSON object, not {type(message).__name__}")
    from google.genai import types

    message = _unelided(message)
    try:
        if side == "client":
            setup = message.get("setup")
            if isinstance(setup, dict):
                extra = {k: setup[k] for k in _UNDECLARED_SETUP if k in setup}
                for value in extra.values():
                    types.RealtimeInputConfig.model_validate(value)
                message = {**message, "setup": {k: v for k, v in setup.items() if k not in extra}}
            return types.LiveClientMessage.model_validate(message)
        return types.LiveServerMessage.model_validate(message)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProtocolViolation(f"Gemini {side} message: {where}: {first['msg']}") from None


def _unelided(value: Any) -> Any:
    """A logged message (audio elided) with a stand-in base64 payload, so that log records validate."""
    if isinstance(value, dict):
        return {k: "AAAA" if k == "data" and _ELIDED.match(str(v)) else _unelided(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unelided(v) for v in value]
    return value


def validate_client_message(message: dict[str, Any]) -> Any:
    return validate_message(message, "client")
