"""WebSocket upgrade on the simulator's HTTP port, using the `websockets` sans-I/O protocol.

A route handler gets a WebSocketConn and the upgrade Request; the connection ends when it returns."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from agentcli.sim.http import Request, Responder

if TYPE_CHECKING:
    from websockets.server import ServerProtocol

MAX_MESSAGE = 32 * 1024 * 1024  # realtime clients may send long base64 audio in one message
CLOSE_TIMEOUT = 2.0


class WebSocketClosed(ConnectionError):
    """The websocket is closed: `code` and `reason` say how (1006 when the TCP connection just ended)."""

    def __init__(self, code: int, reason: str = ""):
        super().__init__(f"websocket closed (code {code}{': ' + reason if reason else ''})")
        self.code = code
        self.reason = reason


_CLOSED = object()


class WebSocketConn:
    """An accepted websocket: `recv()` messages (str for text, bytes for binary), `send()`, `close()`."""

    def __init__(self, protocol: ServerProtocol, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._protocol = protocol
        self._reader = reader
        self._writer = writer
        self._messages: asyncio.Queue[Any] = asyncio.Queue()
        self._closed_exc: WebSocketClosed | None = None
        self._reading = asyncio.create_task(self._read_loop())
        self.drop_after_messages: int | None = None  # a fault: cut the TCP connection after N sends
        self.messages_sent = 0

    @property
    def closed(self) -> bool:
        return self._closed_exc is not None

    async def recv(self) -> str | bytes:
        """The next message; raises WebSocketClosed once the connection is closed and drained."""
        message = await self._messages.get()
        if message is _CLOSED:
            self._messages.put_nowait(_CLOSED)  # later calls raise too
            assert self._closed_exc is not None
            raise self._closed_exc
        return message

    async def send(self, message: str | bytes) -> None:
        if self._closed_exc is not None:
            raise self._closed_exc
        if self.drop_after_messages is not None and self.messages_sent >= self.drop_after_messages:
            self._finish(1006, "scripted disconnect")
            self._writer.transport.abort()  # no close frame: the client sees the connection drop
            raise self._closed_exc or WebSocketClosed(1006)
        self.messages_sent += 1
        if isinstance(message, str):
            self._protocol.send_text(message.encode())
        else:
            self._protocol.send_binary(message)
        await self._flush()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close politely: send a close frame, wait briefly for the peer's, then end the TCP connection."""
        from websockets.protocol import State

        if self._protocol.state is State.OPEN:
            self._protocol.send_close(code, reason)
            with contextlib.suppress(ConnectionError):
                await self._flush()
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._reading), CLOSE_TIMEOUT)
        self._finish(code, reason)
        await self.aclose_transport()

    async def aclose_transport(self) -> None:
        self._reading.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reading
        self._writer.close()

    def _finish(self, code: int, reason: str) -> None:
        if self._closed_exc is None:
            self._closed_exc = WebSocketClosed(code, reason)
            self._messages.put_nowait(_CLOSED)

    async def _flush(self) -> None:
        for data in self._protocol.data_to_send():
            if data:
                self._writer.write(data)
            elif self._writer.can_write_eof():
                self._writer.write_eof()
        try:
            await self._writer.drain()
        except (ConnectionError, RuntimeError) as e:
            self._finish(1006, "connection lost")
            raise self._closed_exc or WebSocketClosed(1006) from e

    async def _read_loop(self) -> None:
        from websockets.frames import Opcode

        fragments: list[bytes] = []
        text = False
        try:
            while True:
                data = await self._reader.read(65536)
                if data:
                    self._protocol.receive_data(data)
                else:
                    self._protocol.receive_eof()
                for frame in self._protocol.events_received():
                    if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                        text = frame.opcode is Opcode.TEXT
                        fragments = [bytes(frame.data)]
                    elif frame.opcode is Opcode.CONT:
                        fragments.append(bytes(frame.data))
                    else:
                        continue  # ping/pong/close: the protocol already answered
                    if frame.fin:
                        joined = b"".join(fragments)
                        self._messages.put_nowait(joined.decode() if text else joined)
                        fragments = []
                with contextlib.suppress(ConnectionError):
                    await self._flush()
                if not data or self._protocol.close_rcvd is not None or self._protocol.parser_exc is not None:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            close = self._protocol.close_rcvd
            if close is not None:
                self._finish(close.code, close.reason)
            else:
                self._finish(1006, "connection lost")


WebSocketHandler = Callable[[WebSocketConn, Request], Awaitable[None]]


async def upgrade(
    request: Request, responder: Responder, handler: WebSocketHandler, drop_after: int | None = None
) -> None:
    """Do the opening handshake on this HTTP connection, then run `handler` until it returns.
    `drop_after`: a scripted fault, the connection is cut after that many messages from the server."""
    from websockets.server import ServerProtocol

    protocol = ServerProtocol(max_size=MAX_MESSAGE)
    protocol.receive_data(request.head)
    events = protocol.events_received()
    responder.started = True
    responder.upgraded = True
    responder.keep_alive = False
    if not events:  # the head did not parse as a handshake; the protocol has queued a 400
        for data in protocol.data_to_send():
            responder.writer.write(data)
        await responder.writer.drain()
        return
    response = protocol.accept(events[0])
    protocol.send_response(response)
    for data in protocol.data_to_send():
        if data:
            responder.writer.write(data)
    await responder.writer.drain()
    if response.status_code != 101:
        return
    conn = WebSocketConn(protocol, responder.reader, responder.writer)
    conn.drop_after_messages = drop_after
    try:
        await handler(conn, request)
        if not conn.closed:
            await conn.close()
    finally:
        await conn.aclose_transport()
