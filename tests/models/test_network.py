"""Hostile servers and networks: streams that drop or go idle, answers that are not the API, failed
redirects, unresolvable hosts, error text inside an SSE body."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import openai
import pytest

from agentcli.errors import ModelError
from agentcli.models.base import ModelCompleted, ModelRequest, ModelRetrying, ModelTextDelta
from agentcli.models.client import model_error
from agentcli.models.factory import make_model
from agentcli.sim.http import HttpServer, Request, Responder

from .conftest import agent, collect, with_sim

REQUEST = ModelRequest(model="m", instructions="", items=[{"type": "message", "role": "user", "content": "hi"}])
Handler = Callable[[Request, Responder], Awaitable[None]]


def against(handler: Handler, api: str = "responses", **provider: Any) -> tuple[str, str]:
    """(base url, the one-line error) of one model call to a server answering with `handler`."""

    async def main() -> tuple[str, str]:
        server = HttpServer(handler, "127.0.0.1", 0)
        await server.start()
        url = f"http://127.0.0.1:{server.port}/v1"
        try:
            with pytest.raises(ModelError) as info:
                await collect(make_model(agent(api, **provider), base_url=url), REQUEST)
            return url, str(info.value)
        finally:
            await server.stop()

    return asyncio.run(main())


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_a_stream_dropped_before_any_output_is_retried(api: str) -> None:
    async def body(sim):  # type: ignore[no-untyped-def]
        events = await collect(make_model(agent(api, max_retries=2), base_url=sim.base_url), REQUEST)
        return events, len(sim.requests)

    events, requests = with_sim({"faults": [{"disconnect_after_events": 1}]}, body)
    assert requests == 2
    retry = next(e for e in events if isinstance(e, ModelRetrying))
    assert retry.attempt == 1 and "dropped mid-answer" in retry.reason
    assert "".join(e.text for e in events if isinstance(e, ModelTextDelta)) == "You said: hi"
    assert isinstance(events[-1], ModelCompleted)


def test_a_stream_dropped_after_output_was_shown_is_not_retried() -> None:
    async def body(sim):  # type: ignore[no-untyped-def]
        seen: list[Any] = []
        with pytest.raises(ModelError, match="dropped mid-answer"):
            async for event in make_model(agent(max_retries=2), base_url=sim.base_url).stream(REQUEST):
                seen.append(event)
        return seen, len(sim.requests)

    seen, requests = with_sim({"faults": [{"disconnect_after_events": 5}]}, body)
    assert requests == 1 and [e.text for e in seen if isinstance(e, ModelTextDelta)] == ["You"]


def test_a_stream_kept_open_with_comments_only_times_out() -> None:
    async def comments_forever(request: Request, responder: Responder) -> None:
        await responder.start_stream()
        while True:
            await responder.write(b": keep-alive\n\n")
            await asyncio.sleep(0.05)

    url, message = against(comments_forever, timeout=0.5)
    assert message == f"{url} sent nothing for 0.5 s mid-answer (provider.timeout)"


@pytest.mark.parametrize("status", [200, 404])
def test_an_html_answer_says_it_is_not_the_api(status: int) -> None:
    async def html(request: Request, responder: Responder) -> None:
        await responder.send(status, b"<!doctype html><html><body>Sign in</body></html>", "text/html; charset=utf-8")

    url, message = against(html)
    assert message == f"{url} answered {status} with HTML, not the API: is base_url right?"


def test_an_event_that_is_not_json_says_so() -> None:
    async def garbage(request: Request, responder: Responder) -> None:
        await responder.start_stream()
        await responder.write(b"data: {this is not json\n\n")
        await responder.end()

    url, message = against(garbage)
    assert message == f"{url} sent an event that is not JSON, not the API: is base_url right?"


def test_a_failed_redirect_names_the_final_url() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    target = f"http://127.0.0.1:{closed}/v1/responses"

    async def redirect(request: Request, responder: Responder) -> None:
        await responder.send(307, b"", "text/plain", {"location": target})

    url, message = against(redirect)
    assert message.startswith(f"cannot reach {url} (redirected to {target}): ")
    assert "refused" in message.lower()


def test_an_unresolvable_host_says_so() -> None:
    import httpx2

    request = httpx2.Request("POST", "http://no-such-host.invalid/v1/responses")
    err = openai.APIConnectionError(request=request)
    err.__cause__ = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    message = str(model_error(err, url="http://no-such-host.invalid/v1", api_key_env="OPENAI_API_KEY"))
    assert message == "cannot resolve host no-such-host.invalid (http://no-such-host.invalid/v1): check base_url " \
        "and the network"


def test_an_error_status_with_an_sse_body_shows_the_stream_error_text() -> None:
    async def proxy_error(request: Request, responder: Responder) -> None:
        body = "event: error\ndata: " + json.dumps({"error": {"message": "Error processing stream start"}}) + "\n\n"
        await responder.send(500, body.encode(), "text/event-stream")

    url, message = against(proxy_error)
    assert message.startswith(f"{url} answered 500: ") and message.endswith("Error processing stream start")
