"""A streamed answer's server-sent events, read straight off the HTTP response as parsed JSON data.

The SDK's AsyncStream does this through a line-by-line decoder and four generator layers per event, a
measurable part of a chat turn (~0.1 ms per model call). This keeps its behaviour: events end at a blank
line (LF, CRLF or CR line ends), an event's `data:` lines are joined by newlines and parsed as JSON,
comments and the other fields are ignored, an unterminated last event is dropped, `[DONE]` ends the data
(the rest of the body is still read, so the connection is reused), an event carrying an `error` raises the
SDK's APIError, and the HTTP library's timeouts and transport errors become the SDK's APITimeoutError and
APIConnectionError, which the error mapping (client.model_error) knows.
"""

from __future__ import annotations

import json
import ssl
import sys
from collections.abc import AsyncIterator
from typing import Any


def can_read(wire: Any) -> bool:
    """Whether `wire` (the SDK's stream) has an HTTP response to read the events from."""
    return hasattr(getattr(wire, "response", None), "aiter_bytes")


async def sse_data(response: Any) -> AsyncIterator[Any]:
    """The JSON data of each event of `response` (an httpx/httpx2 Response opened for streaming)."""
    import anyio
    import openai

    httpx = sys.modules[type(response).__module__.partition(".")[0]]
    connection_errors = (httpx.RequestError, ssl.SSLError, anyio.EndOfStream)  # as the SDK's stream maps them
    pending = b""
    done = False
    try:
        async for chunk in response.aiter_bytes():
            pending += chunk
            if pending.endswith(b"\r") or (b"\n\n" not in pending and b"\r" not in pending):
                continue  # no complete event yet (a CR may be the first half of a CRLF)
            blocks, pending = _events(pending)
            for data in blocks:
                if done or data.startswith(b"[DONE]"):
                    done = True  # what follows is read, not parsed
                    continue
                value = json.loads(data)
                if isinstance(value, dict) and value.get("error"):
                    raise _stream_error(openai, value["error"], response)
                yield value
        if not done and pending.endswith(b"\r"):  # a body ending in CR line ends
            for data in _events(pending + b"\n")[0]:
                if data.startswith(b"[DONE]"):
                    break
                value = json.loads(data)
                if isinstance(value, dict) and value.get("error"):
                    raise _stream_error(openai, value["error"], response)
                yield value
    except httpx.TimeoutException as e:
        raise openai.APITimeoutError(request=response.request) from e
    except connection_errors as e:
        raise openai.APIConnectionError(request=response.request) from e


def _events(buffer: bytes) -> tuple[list[bytes], bytes]:
    """(the data of each complete event in `buffer`, what is left of it); events without data are skipped."""
    blocks = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n\n")
    rest = blocks.pop()
    found = []
    for block in blocks:
        data = [line[5:] for line in block.split(b"\n") if line.startswith(b"data:")]
        if data:
            found.append(b"\n".join(d[1:] if d.startswith(b" ") else d for d in data))
    return found, rest


def _stream_error(openai: Any, error: Any, response: Any) -> Exception:
    message = error.get("message") if isinstance(error, dict) else None
    if not message or not isinstance(message, str):
        message = "An error occurred during streaming"
    return openai.APIError(message=message, request=response.request, body=error)
