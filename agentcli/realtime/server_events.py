"""The server events the realtime client acts on, as small typed records, and the parser from wire JSON.

Provider-neutral in shape (a second provider's model translates its own wire into these); the names of
the OpenAI GA event each comes from are in `parse`'s table. Plain slotted dataclasses, not the `openai`
package's models: those cost ~0.4 s to import and a pydantic validation per audio delta.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class SessionCreated:
    """A fresh server session (after every connect): configure it."""


@dataclass(slots=True)
class ServerError:
    message: str
    code: str | None = None
    param: str | None = None
    event_id: str | None = None  # the client event it answers


@dataclass(slots=True)
class SpeechStarted:
    audio_start_ms: int
    item_id: str = ""


@dataclass(slots=True)
class SpeechStopped:
    audio_end_ms: int
    item_id: str = ""


@dataclass(slots=True)
class InputTimeout:
    """The user said nothing for the idle timeout; the server answers on its own."""

    audio_start_ms: int = 0
    audio_end_ms: int = 0
    item_id: str = ""


@dataclass(slots=True)
class ItemAdded:
    item_id: str
    kind: str  # message | function_call | function_call_output
    role: str | None = None


@dataclass(slots=True)
class UserTranscriptDelta:
    item_id: str
    delta: str


@dataclass(slots=True)
class UserTranscriptDone:
    item_id: str
    transcript: str


@dataclass(slots=True)
class UserTranscriptFailed:
    item_id: str
    message: str


@dataclass(slots=True)
class ResponseCreated:
    response_id: str


@dataclass(slots=True)
class AudioDelta:
    response_id: str
    item_id: str
    delta: str  # base64 pcm16


@dataclass(slots=True)
class AudioDone:
    response_id: str
    item_id: str


@dataclass(slots=True)
class TextDelta:
    """Answer text: the transcript of spoken output, or text output."""

    response_id: str
    item_id: str
    delta: str


@dataclass(slots=True)
class TextDone:
    response_id: str
    item_id: str
    text: str


@dataclass(slots=True)
class FunctionCallDone:
    response_id: str
    item_id: str
    call_id: str
    name: str
    arguments: str


@dataclass(slots=True)
class FunctionCallsCancelled:
    """The model takes back function calls it made (Gemini Live's toolCallCancellation, when the user
    interrupts): those still running stop, and their results are not sent."""

    call_ids: list[str]


@dataclass(slots=True)
class ResponseDone:
    response_id: str
    status: str  # completed | cancelled | incomplete | failed
    reason: str | None = None  # status_details.reason (incomplete: max_output_tokens, content_filter, ...)
    error: str | None = None  # status_details.error.message (failed)
    input_tokens: int = 0
    output_tokens: int = 0
    calls: list[FunctionCallDone] = field(default_factory=list)  # function calls in its output


@dataclass(slots=True)
class Ignored:
    """An event the client has nothing to do with (deltas of function arguments, rate limits, ...)."""

    type: str


ServerEvent = (
    SessionCreated
    | ServerError
    | SpeechStarted
    | SpeechStopped
    | InputTimeout
    | ItemAdded
    | UserTranscriptDelta
    | UserTranscriptDone
    | UserTranscriptFailed
    | ResponseCreated
    | AudioDelta
    | AudioDone
    | TextDelta
    | TextDone
    | FunctionCallDone
    | FunctionCallsCancelled
    | ResponseDone
    | Ignored
)


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _error(e: dict[str, Any]) -> ServerError:
    error = e.get("error") if isinstance(e.get("error"), dict) else {}
    code, param, event_id = error.get("code"), error.get("param"), error.get("event_id")
    return ServerError(
        message=_s(error.get("message")) or "error",
        code=None if code is None else str(code),
        param=None if param is None else str(param),
        event_id=None if event_id is None else str(event_id),
    )


def _item_added(e: dict[str, Any]) -> ItemAdded:
    item = e.get("item") if isinstance(e.get("item"), dict) else {}
    role = item.get("role")
    return ItemAdded(item_id=_s(item.get("id")), kind=_s(item.get("type")), role=None if role is None else str(role))


def _response_done(e: dict[str, Any]) -> ResponseDone:
    response = e.get("response") if isinstance(e.get("response"), dict) else {}
    details = response.get("status_details") if isinstance(response.get("status_details"), dict) else {}
    error = details.get("error") if isinstance(details.get("error"), dict) else {}
    usage = response.get("usage") if isinstance(response.get("usage"), dict) else {}
    rid = _s(response.get("id"))
    calls = [
        FunctionCallDone(rid, _s(i.get("id")), _s(i.get("call_id")), _s(i.get("name")), _s(i.get("arguments")))
        for i in response.get("output") or []
        if isinstance(i, dict) and i.get("type") == "function_call"
    ]
    reason = details.get("reason")
    message = error.get("message") or error.get("code") or error.get("type")
    return ResponseDone(
        response_id=rid,
        status=_s(response.get("status")) or "completed",
        reason=None if reason is None else str(reason),
        error=None if not message else str(message),
        input_tokens=_int(usage.get("input_tokens")),
        output_tokens=_int(usage.get("output_tokens")),
        calls=calls,
    )


def parse(e: dict[str, Any]) -> ServerEvent:
    """One OpenAI Realtime (GA) server event as a typed record; unknown or unused types -> Ignored."""
    kind = e.get("type")
    # the hot path first: one branch per audio chunk of the answer
    if kind == "response.output_audio.delta":
        return AudioDelta(_s(e.get("response_id")), _s(e.get("item_id")), _s(e.get("delta")))
    if kind in ("response.output_audio_transcript.delta", "response.output_text.delta"):
        return TextDelta(_s(e.get("response_id")), _s(e.get("item_id")), _s(e.get("delta")))
    if kind == "response.output_audio_transcript.done":
        return TextDone(_s(e.get("response_id")), _s(e.get("item_id")), _s(e.get("transcript")))
    if kind == "response.output_text.done":
        return TextDone(_s(e.get("response_id")), _s(e.get("item_id")), _s(e.get("text")))
    if kind == "response.output_audio.done":
        return AudioDone(_s(e.get("response_id")), _s(e.get("item_id")))
    if kind == "response.function_call_arguments.done":
        return FunctionCallDone(
            _s(e.get("response_id")), _s(e.get("item_id")), _s(e.get("call_id")), _s(e.get("name")),
            _s(e.get("arguments")),
        )  # fmt: skip
    if kind == "response.created":
        response = e.get("response") if isinstance(e.get("response"), dict) else {}
        return ResponseCreated(_s(response.get("id")))
    if kind == "response.done":
        return _response_done(e)
    if kind == "conversation.item.added":
        return _item_added(e)
    if kind == "input_audio_buffer.speech_started":
        return SpeechStarted(_int(e.get("audio_start_ms")), _s(e.get("item_id")))
    if kind == "input_audio_buffer.speech_stopped":
        return SpeechStopped(_int(e.get("audio_end_ms")), _s(e.get("item_id")))
    if kind == "input_audio_buffer.timeout_triggered":
        return InputTimeout(_int(e.get("audio_start_ms")), _int(e.get("audio_end_ms")), _s(e.get("item_id")))
    if kind == "conversation.item.input_audio_transcription.delta":
        return UserTranscriptDelta(_s(e.get("item_id")), _s(e.get("delta")))
    if kind == "conversation.item.input_audio_transcription.completed":
        return UserTranscriptDone(_s(e.get("item_id")), _s(e.get("transcript")))
    if kind == "conversation.item.input_audio_transcription.failed":
        return UserTranscriptFailed(_s(e.get("item_id")), _error(e).message)
    if kind == "session.created":
        return SessionCreated()
    if kind == "error":
        return _error(e)
    return Ignored(_s(kind))
