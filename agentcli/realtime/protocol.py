"""The GA Realtime wire format, checked against the `openai` package's own event types.

Both sides use this: the client checks what it sends (when validation is on), the simulator's tests check
everything it sends. The package's models accept unknown keys, so a typo would pass a plain validation;
`strict=True` (the default) also rejects any key the type does not declare, at any depth.
"""

from __future__ import annotations

import base64
import json
from functools import lru_cache
from typing import Any, Literal

Side = Literal["client", "server"]


# Keys the API sends that the openai package's types lack (the package types a session event's `session`
# as the create *request*; the API, and the published description's session object, add these three).
_SESSION_EXTRAS = frozenset({"session.id", "session.object", "session.expires_at"})
SENT_BUT_UNDECLARED: dict[str, frozenset[str]] = {
    "session.created": _SESSION_EXTRAS,
    "session.updated": _SESSION_EXTRAS,
}


class ProtocolViolation(ValueError):
    """An event that does not match the openai package's realtime types (one line)."""


@lru_cache(maxsize=2)
def _classes(side: Side) -> dict[str, Any]:
    """event type literal -> the openai model class for it."""
    from typing import get_args

    if side == "client":
        from openai.types.realtime import RealtimeClientEvent as union
    else:
        from openai.types.realtime.realtime_server_event import RealtimeServerEvent as union
    members = get_args(get_args(union)[0])  # Annotated[Union[...], PropertyInfo] -> the members
    out: dict[str, Any] = {}
    for cls in members:
        literal = cls.model_fields["type"].annotation
        for value in get_args(literal):
            out[value] = cls
    return out


def event_types(side: Side) -> frozenset[str]:
    return frozenset(_classes(side))


def validate_event(event: Any, side: Side, *, strict: bool = True) -> Any:
    """Validate one event dict; returns the typed openai model. Raises ProtocolViolation."""
    if not isinstance(event, dict):
        raise ProtocolViolation(f"a {side} event must be a JSON object, not {type(event).__name__}")
    kind = event.get("type")
    cls = _classes(side).get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ProtocolViolation(f"{kind!r} is not a realtime {side} event type")
    from pydantic import ValidationError

    try:
        model = cls.model_validate(event)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProtocolViolation(f"{kind}: {where}: {first['msg']}") from None
    if strict:
        allowed = SENT_BUT_UNDECLARED.get(kind, frozenset()) if side == "server" else frozenset()
        extra = _first_extra(model, "", allowed)
        if extra:
            raise ProtocolViolation(f"{kind}: {extra}: unknown key")
    return model


def validate_client_event(event: Any, *, strict: bool = True) -> Any:
    return validate_event(event, "client", strict=strict)


def validate_server_event(event: Any, *, strict: bool = True) -> Any:
    return validate_event(event, "server", strict=strict)


def _first_extra(value: Any, path: str, allowed: frozenset[str] = frozenset()) -> str | None:
    """The path of the first undeclared key in a validated model tree (other than `allowed`), or None."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        for key in value.model_extra or {}:
            where = f"{path}.{key}".lstrip(".")
            if where not in allowed:
                return where
        for name in type(value).model_fields:
            found = _first_extra(getattr(value, name), f"{path}.{name}", allowed)
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _first_extra(item, f"{path}[{i}]", allowed)
            if found:
                return found
    return None


# --- audio payloads ---------------------------------------------------------------------------------

_AUDIO_FIELDS = {"input_audio_buffer.append": "audio", "response.output_audio.delta": "delta"}


def audio_payload_bytes(b64: str) -> int:
    """Decoded size of a base64 payload without decoding it."""
    n = len(b64)
    return n * 3 // 4 - b64.count("=", max(0, n - 2))


def elide_audio(event: dict[str, Any]) -> dict[str, Any]:
    """A copy safe for logs: base64 audio replaced by its size (`<N bytes of audio>`)."""
    field = _AUDIO_FIELDS.get(event.get("type", ""))
    if field and isinstance(event.get(field), str):
        return {**event, field: f"<{audio_payload_bytes(event[field])} bytes of audio>"}
    item = event.get("item")
    if isinstance(item, dict) and isinstance(item.get("content"), list):
        content = [
            {**part, "audio": f"<{audio_payload_bytes(part['audio'])} bytes of audio>"}
            if isinstance(part, dict) and isinstance(part.get("audio"), str)
            else part
            for part in item["content"]
        ]
        return {**event, "item": {**item, "content": content}}
    return event


def b64_pcm(pcm: bytes) -> str:
    return base64.b64encode(pcm).decode("ascii")


def pcm_from_b64(text: str) -> bytes:
    return base64.b64decode(text)


def dumps(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)
