"""models/sse.py: a streamed answer's events read off the HTTP response, as the SDK's stream reads them (line
ends, split chunks, multi-line data, comments, [DONE], error events, transport errors)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest

from agentcli.models.sse import sse_data
from agentcli.models.transport import _httpx

httpx = _httpx(openai)


def response(chunks: list[bytes], fail: BaseException | None = None) -> Any:
    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk
        if fail is not None:
            raise fail

    return httpx.Response(200, content=body(), request=httpx.Request("POST", "http://x/v1/responses"))


def read(chunks: list[bytes], fail: BaseException | None = None) -> list[Any]:
    async def main() -> list[Any]:
        return [data async for data in sse_data(response(chunks, fail))]

    return asyncio.run(main())


def test_events_split_anywhere_across_chunks_with_any_line_end() -> None:
    body = b'data: {"a": 1}\n\n: a comment\n\nevent: x\r\ndata: {"b": 2}\r\n\r\ndata: {"c": 3}\r\rdata: {"d": 4}\n\n'
    expected = [{"a": 1}, {"b": 2}, {"c": 3}, {"d": 4}]
    assert read([body]) == expected
    for size in (1, 2, 3, 7):
        assert read([body[i:i + size] for i in range(0, len(body), size)]) == expected, size


def test_multi_line_data_is_joined_and_one_leading_space_dropped() -> None:
    assert read([b'data:{"text":\ndata:  "two"}\n\n']) == [{"text": "two"}]


def test_an_unterminated_last_event_is_dropped_and_cr_line_ends_end_the_body() -> None:
    assert read([b'data: {"a": 1}\n\ndata: {"b": 2}']) == [{"a": 1}]
    assert read([b'data: {"a": 1}\r\r']) == [{"a": 1}]


def test_done_ends_the_data_but_the_body_is_still_read() -> None:
    read_all: list[bool] = []

    async def main() -> list[Any]:
        async def body() -> AsyncIterator[bytes]:
            yield b'data: {"a": 1}\n\ndata: [DONE]\n\ndata: {"ignored": true}\n\n'
            yield b"trailing"
            read_all.append(True)

        r = httpx.Response(200, content=body(), request=httpx.Request("POST", "http://x/v1"))
        return [data async for data in sse_data(r)]

    assert asyncio.run(main()) == [{"a": 1}]
    assert read_all == [True]


def test_an_event_with_an_error_raises_the_sdks_api_error() -> None:
    with pytest.raises(openai.APIError, match="^overloaded$") as info:
        read([b'data: {"a": 1}\n\ndata: {"error": {"message": "overloaded", "code": "x"}}\n\n'])
    assert info.value.body == {"message": "overloaded", "code": "x"}
    with pytest.raises(openai.APIError, match="^An error occurred during streaming$"):
        read([b'data: {"error": {"code": 5}}\n\n'])


def test_data_that_is_not_json_raises_a_json_error() -> None:
    import json

    with pytest.raises(json.JSONDecodeError):
        read([b"data: <html>\n\n"])


def test_transport_errors_become_the_sdks_connection_and_timeout_errors() -> None:
    request = httpx.Request("POST", "http://x/v1")
    with pytest.raises(openai.APIConnectionError) as dropped:
        read([b'data: {"a": 1}\n\n'], httpx.ReadError("reset", request=request))
    assert not isinstance(dropped.value, openai.APITimeoutError)
    with pytest.raises(openai.APITimeoutError):
        read([], httpx.ReadTimeout("slow", request=request))
