"""SimServer as an HTTP peer: lifecycle, auth, routing, keep-alive and scripted faults."""

from __future__ import annotations

import time

import httpx2
import openai
import pytest

from agentcli.sim.script import parse_script
from agentcli.sim.server import SimServer
from tests.sim.helpers import client_for, post_raw

pytestmark = pytest.mark.anyio

HI = [{"role": "user", "content": "hi"}]


async def test_start_is_fast_and_ports_are_free() -> None:
    sim = SimServer()
    await sim.start()
    other = SimServer()
    await other.start()
    try:  # how fast it starts is measured in bench/, not asserted here
        assert sim.port > 0 and sim.port != other.port
        assert sim.base_url == f"http://127.0.0.1:{sim.port}/v1"
    finally:
        await sim.stop()
        await other.stop()
    with pytest.raises(httpx2.ConnectError):
        async with httpx2.AsyncClient() as http:
            await http.get(f"http://127.0.0.1:{sim.port}/v1/models")


async def test_stop_cuts_an_open_stream() -> None:
    script = parse_script({"latency": {"first_token_ms": 5000}})
    async with SimServer(script) as sim, client_for(sim) as client:
        stream = await client.responses.create(model="m", input="hi", stream=True)
        first = await stream.__anext__()
        assert first.type == "response.created"
        await sim.stop()
        seen = []
        with pytest.raises(openai.APIConnectionError):
            async for event in stream:
                seen.append(event.type)
        assert "response.output_text.delta" not in seen  # cut before the first token, not served to the end


async def test_auth_needs_a_bearer_key() -> None:
    async with SimServer() as sim:
        async with httpx2.AsyncClient() as http:
            raw = await http.post(f"{sim.base_url}/responses", json={"model": "m", "input": "x"})
        assert raw.status_code == 401
        assert raw.json()["error"]["type"] == "invalid_request_error"
        assert "API key" in raw.json()["error"]["message"]
        ok = await post_raw(sim, "/responses", {"model": "m", "input": "x"}, key="anything")
        assert ok.status_code == 200


async def test_expected_key_is_enforced_and_never_echoed() -> None:
    script = parse_script({"api_key": "right-key"})
    async with SimServer(script) as sim:
        async with client_for(sim, api_key="wrong-key-123") as client:
            with pytest.raises(openai.AuthenticationError) as info:
                await client.chat.completions.create(model="m", messages=HI)  # type: ignore[arg-type]
        assert info.value.code == "invalid_api_key" and info.value.status_code == 401
        assert "wrong-key-123" not in str(info.value.body)
        async with client_for(sim, api_key="right-key") as client:
            r = await client.chat.completions.create(model="m", messages=HI)  # type: ignore[arg-type]
        assert r.choices[0].message.content == "You said: hi"
        assert not any("key" in str(body) for body in sim.requests)


async def test_unknown_routes_are_404() -> None:
    async with SimServer() as sim, httpx2.AsyncClient() as http:
        auth = {"Authorization": "Bearer sim"}
        for method, path in [("POST", "/v1/nope"), ("GET", "/v1/responses"), ("POST", "/responses")]:
            raw = await http.request(method, f"http://127.0.0.1:{sim.port}{path}", headers=auth)
            assert raw.status_code == 404
            assert raw.json()["error"]["message"] == f"Invalid URL ({method} {path})"


async def test_keep_alive_reuses_one_connection_and_chunked_uploads_work() -> None:
    async def body():  # no Content-Length: the client sends a chunked body
        yield b'{"model": "m", '
        yield b'"input": "chunky"}'

    async with SimServer() as sim, httpx2.AsyncClient() as http:
        url, auth = f"{sim.base_url}/responses", {"Authorization": "Bearer sim"}
        for _ in range(3):
            r = await http.post(url, json={"model": "m", "input": "x", "stream": True}, headers=auth)
            assert r.status_code == 200 and "response.completed" in r.text
        r = await http.post(url, content=body(), headers=auth)
        assert r.json()["output"][0]["content"][0]["text"] == "You said: chunky"
        assert sim.connections_accepted == 1


async def test_503_twice_then_success_with_retries() -> None:
    script = parse_script({"faults": [{"status": 503, "times": 2}]})
    async with SimServer(script) as sim, client_for(sim, max_retries=2) as client:
        r = await client.responses.create(model="m", input="hi")
        assert r.output_text == "You said: hi"
        assert len(sim.requests) == 3  # two failures and the success
        r2 = await client.responses.create(model="m", input="again")  # faults are used up
        assert r2.output_text == "You said: again" and len(sim.requests) == 4


async def test_fault_without_retries_reaches_the_client() -> None:
    script = parse_script({"faults": [{"status": 429, "retry_after_ms": 25}, {"status": 500, "message": "boom"}]})
    async with SimServer(script) as sim:
        raw = await post_raw(sim, "/chat/completions", {"model": "m", "messages": HI})
        assert raw.status_code == 429 and raw.headers["retry-after-ms"] == "25"
        assert raw.json()["error"]["code"] == "rate_limit_exceeded"
        async with client_for(sim) as client:
            with pytest.raises(openai.InternalServerError, match="boom"):
                await client.chat.completions.create(model="m", messages=HI)  # type: ignore[arg-type]


async def test_disconnect_mid_stream_raises_in_the_client() -> None:
    script = parse_script({"faults": [{"disconnect_after_events": 3}]})
    async with SimServer(script) as sim, client_for(sim, max_retries=2) as client:
        stream = await client.responses.create(model="m", input="a long enough answer", stream=True)
        got = []
        with pytest.raises(openai.APIConnectionError):
            async for event in stream:
                got.append(event.type)
        assert got == ["response.created", "response.in_progress", "response.output_item.added"]
        # the next request is served normally
        r = await client.responses.create(model="m", input="ok")
        assert r.output_text == "You said: ok"


async def test_disconnect_on_a_plain_request_is_retried() -> None:
    script = parse_script({"faults": [{"disconnect_after_events": 0}]})
    async with SimServer(script) as sim:
        async with client_for(sim, max_retries=0) as client:
            with pytest.raises(openai.APIConnectionError):
                await client.chat.completions.create(model="m", messages=HI)  # type: ignore[arg-type]
    script = parse_script({"faults": [{"disconnect_after_events": 0}]})
    async with SimServer(script) as sim, client_for(sim, max_retries=1) as client:
        r = await client.chat.completions.create(model="m", messages=HI)  # type: ignore[arg-type]
        assert r.choices[0].message.content == "You said: hi" and len(sim.requests) == 2


async def test_latency_fault_and_first_token_knob() -> None:
    script = parse_script({"latency": {"first_token_ms": 150}, "faults": [{"latency_ms": 200}]})
    async with SimServer(script) as sim, client_for(sim) as client:
        t0 = time.perf_counter()
        await client.chat.completions.create(model="m", messages=HI)  # type: ignore[arg-type]
        assert time.perf_counter() - t0 >= 0.35  # fault latency + first token
        async for _ in await client.responses.create(model="m", input="hi", stream=True):
            pass  # the SDK builds its event validators on the first parse (~0.2 s): not what is measured
        stream = await client.responses.create(model="m", input="hi", stream=True)
        stamps = {}
        async for event in stream:
            stamps.setdefault(event.type, time.perf_counter())
        gap = stamps["response.output_text.delta"] - stamps["response.created"]
        assert gap >= 0.14
        t0 = time.perf_counter()
        await client.chat.completions.create(model="m", messages=HI)  # type: ignore[arg-type]
        scripted = time.perf_counter() - t0
    async with SimServer() as sim, client_for(sim) as client:
        t0 = time.perf_counter()
        await client.chat.completions.create(model="m", messages=HI)  # type: ignore[arg-type]
        assert time.perf_counter() - t0 < scripted  # no script: no added latency (the first token's 0.15 s)
