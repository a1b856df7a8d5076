"""A small HTTP/1.1 server on asyncio streams: keep-alive, Content-Length or chunked bodies, chunked
streaming (SSE), and API-shaped JSON errors. Just enough protocol for the openai client; stdlib only,
so importing it is cheap."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    429: "requests",
}


class HttpError(Exception):
    """Answer the request with an API-shaped JSON error: {"error": {message, type, param, code}}."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type or _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class ConnectionDropped(Exception):
    """The connection was cut on purpose (a fault) or by the peer; the handler just stops."""


@dataclass(slots=True)
class Request:
    method: str
    target: str  # path and query as sent
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: bytes = b""
    head: bytes = b""  # the raw request line and headers (a websocket handshake re-reads them)
    sim: Any = None  # the SimServer that received it
    extra: dict[str, Any] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        try:
            data = json.loads(self.body or b"null")
        except ValueError:
            raise HttpError(400, "We could not parse the JSON body of your request.") from None
        if not isinstance(data, dict):
            raise HttpError(400, "The request body must be a JSON object.")
        return data


class Responder:
    """Writes one response. Streams are chunked so that a dropped connection is visible to the client."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request_id: str):
        self.reader = reader
        self.writer = writer
        self.request_id = request_id
        self.started = False
        self.finished = False
        self.keep_alive = True
        self.upgraded = False
        self.drop_after_events: int | None = None  # a fault: cut the connection after N stream events
        self.events_sent = 0

    def _head(self, status: int, headers: dict[str, str]) -> bytes:
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Unknown"
        lines = [f"HTTP/1.1 {status} {reason}", f"x-request-id: {self.request_id}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if not self.keep_alive:
            lines.append("connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        all_headers = {"content-type": content_type, "content-length": str(len(body)), **(headers or {})}
        self.started = True
        if self.drop_after_events is not None:  # a non-streamed reply drops before its body
            self.writer.write(self._head(status, all_headers))
            self.abort()
        self.writer.write(self._head(status, all_headers) + body)
        await self._drain()
        self.finished = True

    async def send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        await self.send(status, json.dumps(obj).encode(), "application/json", headers)

    async def send_error(self, error: HttpError) -> None:
        await self.send_json(error.status, error.body(), error.headers)

    async def start_stream(
        self,
        status: int = 200,
        content_type: str = "text/event-stream",
        headers: dict[str, str] | None = None,
    ) -> None:
        extra = {"cache-control": "no-cache"} if content_type.startswith("text/event-stream") else {}
        all_headers = {
            "content-type": content_type,
            "transfer-encoding": "chunked",
            **extra,
            **(headers or {}),
        }
        self.started = True
        self.writer.write(self._head(status, all_headers))
        await self._drain()

    async def write(self, data: bytes) -> None:
        """One chunk of a started stream; counts as one event for `drop_after_events`."""
        if self.drop_after_events is not None and self.events_sent >= self.drop_after_events:
            self.abort()
        if self.writer.transport.is_closing():  # the client went away: stop producing
            raise ConnectionDropped()
        if data:
            self.writer.write(b"%x\r\n%s\r\n" % (len(data), data))
            await self._drain()
        self.events_sent += 1

    async def sse(self, data: dict[str, Any] | str, event: str | None = None) -> None:
        payload = data if isinstance(data, str) else json.dumps(data)
        prefix = f"event: {event}\n" if event else ""
        await self.write(f"{prefix}data: {payload}\n\n".encode())

    async def end(self) -> None:
        self.writer.write(b"0\r\n\r\n")
        await self._drain()
        self.finished = True

    def abort(self) -> None:
        """Cut the TCP connection without a goodbye (fault injection)."""
        self.keep_alive = False
        self.writer.transport.abort()
        raise ConnectionDropped()

    async def _drain(self) -> None:
        try:
            await self.writer.drain()
        except (ConnectionError, RuntimeError):
            raise ConnectionDropped() from None


Handler = Callable[[Request, Responder], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if e.partial.strip():
            raise HttpError(400, "Incomplete request head.") from None
        return None  # the client closed an idle keep-alive connection
    except asyncio.LimitOverrunError:
        raise HttpError(431, "Request headers too large.") from None
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError:
        raise HttpError(400, "Malformed request line.") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    parts = urlsplit(target)
    request = Request(method.upper(), target, parts.path, dict(parse_qsl(parts.query)), headers, head=head)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        request.body = await _read_chunked(reader)
    elif headers.get("content-length"):
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise HttpError(400, "Bad Content-Length.") from None
        if length < 0 or length > MAX_BODY:
            raise HttpError(413, "Request body too large.")
        request.body = await reader.readexactly(length)
    return request


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";")[0].strip(), 16)
        except ValueError:
            raise HttpError(400, "Bad chunk size.") from None
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return bytes(body)
        if len(body) + size > MAX_BODY:
            raise HttpError(413, "Request body too large.")
        body += await reader.readexactly(size)
        await reader.readexactly(2)


class HttpServer:
    """Serves connections with `handler`; `stop()` also cuts open connections (streams, websockets)."""

    def __init__(self, handler: Handler, host: str, port: int):
        self._handler = handler
        self.host = host
        self.port = port
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._request_count = 0
        self.connections_accepted = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=MAX_HEAD)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self.connections_accepted += 1
        try:
            await self._connection(reader, writer)
        except (asyncio.CancelledError, ConnectionDropped, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            self._request_count += 1
            responder = Responder(reader, writer, f"req_sim{self._request_count}")
            try:
                request = await _read_request(reader)
                if request is None:
                    return
                if request.headers.get("connection", "").lower() == "close":
                    responder.keep_alive = False
                await self._handler(request, responder)
                if not responder.started:
                    raise HttpError(500, "The simulator produced no response.")
            except HttpError as e:
                if responder.started:
                    return
                responder.keep_alive = False if e.status in (400, 413, 431) else responder.keep_alive
                await responder.send_error(e)
            except (ConnectionDropped, asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
                raise
            except Exception as e:  # a bug in the simulator: answer 500 rather than hang the client
                if responder.started:
                    return
                responder.keep_alive = False
                await responder.send_error(HttpError(500, f"simulator error: {type(e).__name__}: {e}"))
            if responder.upgraded or not responder.keep_alive or not responder.finished:
                return
