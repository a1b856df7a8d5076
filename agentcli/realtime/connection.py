"""One Realtime websocket: JSON events in and out, an optional check of every sent event, a debug log.

`AGENT_REALTIME_LOG=path` appends every sent and received event to `path` as JSON lines
(`{"dir": "sent" | "received" | "meta", "ts": ..., "event": {...}}`), audio payloads replaced by their
size. The API key travels only in the Authorization header and is never logged.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any, TextIO
from urllib.parse import quote, urlsplit, urlunsplit

from agentcli.errors import ModelError
from agentcli.realtime.protocol import dumps, elide_audio

LOG_ENV = "AGENT_REALTIME_LOG"
VALIDATE_ENV = "AGENT_REALTIME_VALIDATE"
OPEN_TIMEOUT_S = 10.0

Validator = Callable[[dict[str, Any]], Any]


class ConnectionLost(ConnectionError):
    """The socket ended without us closing it."""


class HandshakeRefused(ModelError):
    """The server answered the websocket upgrade with an HTTP error status."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status

    @property
    def transient(self) -> bool:
        """Worth retrying: overloaded or rate limited (as chat retries them)."""
        return self.status == 429 or self.status >= 500


def realtime_url(base_url: str, model: str) -> str:
    """The chat base URL turned into the realtime endpoint: http->ws, https->wss, `/realtime?model=`."""
    parts = urlsplit(base_url.rstrip("/"))
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme.lower())
    if scheme is None:
        raise ModelError(f"base URL {base_url} is not http(s): cannot derive the realtime endpoint")
    return urlunsplit((scheme, parts.netloc, parts.path + "/realtime", f"model={quote(model)}", ""))


class EventLog:
    """JSON lines of the events on the wire, audio elided (the end-to-end suite validates them)."""

    def __init__(self, path: str):
        self.path = path
        from agentcli.storage.files import open_private

        self._file: TextIO = open_private(path, "a")  # 0600: it holds transcripts

    @classmethod
    def from_env(cls) -> EventLog | None:
        path = os.environ.get(LOG_ENV)
        return cls(path) if path else None

    def write(self, direction: str, event: dict[str, Any]) -> None:
        record = {"dir": direction, "ts": round(time.time(), 6), "event": elide_audio(event)}
        from agentcli.redact import redact_text

        self._file.write(redact_text(json.dumps(record, ensure_ascii=False)) + "\n")

    def close(self) -> None:
        self._file.close()


def validator_from_env() -> Validator | None:
    if os.environ.get(VALIDATE_ENV, "0") in ("", "0"):
        return None
    from agentcli.realtime.protocol import validate_client_event

    return validate_client_event


class RealtimeConnection:
    def __init__(self, ws: Any, url: str, log: EventLog | None = None, validate: Validator | None = None):
        self.ws = ws
        self.url = url
        self.log = log
        self.validate = validate
        self.closing = False  # we asked for the close: its end is not a lost connection

    @classmethod
    async def open(
        cls,
        url: str,
        api_key: str,
        *,
        log: EventLog | None = None,
        validate: Validator | None = None,
        api_key_env: str = "OPENAI_API_KEY",
    ) -> RealtimeConnection:
        """Connect; failures become one-line ModelErrors (never naming the key)."""
        return await open_websocket(url, {"Authorization": f"Bearer {api_key}"}, log=log, validate=validate,
                                    api_key_env=api_key_env)

    async def send(self, event: dict[str, Any]) -> None:
        if self.validate is not None:
            self.validate(event)
        if self.log:
            self.log.write("sent", event)
        from websockets.exceptions import ConnectionClosed

        try:
            await self.ws.send(dumps(event))
        except ConnectionClosed as e:
            raise ConnectionLost(str(e)) from None

    async def recv(self) -> dict[str, Any] | None:
        """The next server event; None once we closed; ConnectionLost when the socket dropped."""
        from websockets.exceptions import ConnectionClosed

        try:
            raw = await self.ws.recv()
        except ConnectionClosed as e:
            if self.log:
                self.log.write("meta", {"type": "closed", "code": e.rcvd.code if e.rcvd else 1006})
            if self.closing:
                return None
            raise ConnectionLost(f"the realtime connection dropped ({e})") from None
        try:
            event = json.loads(raw)
        except ValueError:
            raise ModelError("the realtime server sent an event that is not JSON") from None
        if self.log:
            self.log.write("received", event)
        return event if isinstance(event, dict) else {}

    async def close(self) -> None:
        self.closing = True
        try:
            await self.ws.close()
        except Exception:  # noqa: BLE001 - closing a broken socket must not raise
            pass


async def open_websocket(
    url: str,
    headers: dict[str, str],
    *,
    log: Any = None,
    validate: Validator | None = None,
    api_key_env: str,
    key_statuses: tuple[int, ...] = (401,),
) -> RealtimeConnection:
    """A realtime websocket, for any provider (`headers` carry its key); handshake failures become one-line
    errors that never name the key: a status in `key_statuses` is a rejected key, others a refusal
    (HandshakeRefused, retried when transient), a bad URL or an unreachable host a ModelError."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

    shown = url.split("?", 1)[0]
    try:
        ws = await connect(
            url,
            additional_headers=headers,
            open_timeout=OPEN_TIMEOUT_S,
            max_size=None,  # audio deltas can be large
            compression=None,  # base64 audio does not compress; spare the CPU
            ping_interval=20,
            ping_timeout=20,
        )
    except InvalidStatus as e:
        status = e.response.status_code
        if status in key_statuses:
            raise HandshakeRefused(f"{shown} rejected the API key: set {api_key_env} to a valid key", status) from None
        raise HandshakeRefused(f"{shown} refused the realtime connection: HTTP {status}", status) from None
    except InvalidURI:
        raise ModelError(f"{shown} is not a valid websocket URL") from None
    except (OSError, TimeoutError, InvalidHandshake) as e:
        reason = " ".join(str(e).split()) or type(e).__name__
        raise ModelError(f"cannot reach {shown}: {reason}") from None
    if log:
        log.write("meta", {"type": "connected", "url": shown})
    return RealtimeConnection(ws, url, log, validate)
