"""The websocket hook: a registered route gets the upgraded connection on the simulator's one port."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from agentcli.sim import server as server_module
from agentcli.sim.http import Request
from agentcli.sim.server import SimServer
from agentcli.sim.websocket import WebSocketClosed, WebSocketConn

pytestmark = pytest.mark.anyio
AUTH = {"Authorization": "Bearer sim"}
seen: dict[str, object] = {}


async def echo(ws: WebSocketConn, request: Request) -> None:
    """Echo every message; "close" closes with code 4001; records how the client left."""
    seen["model"] = request.query.get("model")
    seen["has_sim"] = request.sim is not None
    seen["drop"] = request.extra.get("disconnect_after_events")
    try:
        while True:
            message = await ws.recv()
            if message == "close":
                await ws.close(4001, "asked to")
                return
            await ws.send(message)
    except WebSocketClosed as e:
        seen["closed_code"] = e.code
        seen["closed"] = ws.closed


def url(sim: SimServer, path: str = "/v1/echo?model=gpt-realtime") -> str:
    return f"ws://127.0.0.1:{sim.port}{path}"


async def test_echo_route_text_binary_and_fragments() -> None:
    seen.clear()
    async with SimServer() as sim:
        sim.websocket_routes["/v1/echo"] = echo
        async with connect(url(sim), additional_headers=AUTH, max_size=None) as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"
            await ws.send(b"\x00\x01bin")
            assert await ws.recv() == b"\x00\x01bin"
            await ws.send(["frag", "mented"])  # one message in two frames
            assert await ws.recv() == "fragmented"
            big = "x" * 3_000_000  # bigger than the websockets default max_size
            await ws.send(big)
            assert await ws.recv() == big
            pong = await ws.ping()
            await asyncio.wait_for(pong, 2)
        for _ in range(100):
            if "closed_code" in seen:
                break
            await asyncio.sleep(0.01)
    assert seen == {
        "model": "gpt-realtime",
        "has_sim": True,
        "drop": None,
        "closed_code": 1000,
        "closed": True,
    }


async def test_handler_close_code_reaches_the_client() -> None:
    async with SimServer() as sim:
        sim.websocket_routes["/v1/echo"] = echo
        async with connect(url(sim), additional_headers=AUTH) as ws:
            await ws.send("close")
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4001


async def test_unregistered_path_and_missing_auth_are_rejected() -> None:
    async with SimServer() as sim:
        sim.websocket_routes["/v1/echo"] = echo
        with pytest.raises(InvalidStatus) as info:
            async with connect(url(sim, "/v1/other"), additional_headers=AUTH):
                pass
        assert info.value.response.status_code == 404
        with pytest.raises(InvalidStatus) as info:
            async with connect(url(sim)):
                pass
        assert info.value.response.status_code == 401


async def test_default_routes_load_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(server_module.DEFAULT_WEBSOCKET_ROUTES, "/v1/lazy", f"{__name__}:echo")
    monkeypatch.setitem(server_module.DEFAULT_WEBSOCKET_ROUTES, "/v1/broken", "no.such.module:handler")
    async with SimServer() as sim:
        async with connect(url(sim, "/v1/lazy"), additional_headers=AUTH) as ws:
            await ws.send("lazy")
            assert await ws.recv() == "lazy"
        with pytest.raises(InvalidStatus) as info:
            async with connect(url(sim, "/v1/broken"), additional_headers=AUTH):
                pass
        assert info.value.response.status_code == 404


async def test_server_stop_closes_open_websockets() -> None:
    async with SimServer() as sim:
        sim.websocket_routes["/v1/echo"] = echo
        ws = await connect(url(sim), additional_headers=AUTH)
        await ws.send("hi")
        assert await ws.recv() == "hi"
        await sim.stop()
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 3)
        await ws.close()


async def test_faults_apply_to_upgrades() -> None:
    from agentcli.sim.script import parse_script

    script = parse_script({"faults": [{"status": 503}, {"disconnect_after_events": 0}, {"disconnect_after_events": 2}]})
    async with SimServer(script) as sim:
        sim.websocket_routes["/v1/echo"] = echo
        with pytest.raises(InvalidStatus) as info:
            async with connect(url(sim), additional_headers=AUTH):
                pass
        assert info.value.response.status_code == 503
        async with connect(url(sim), additional_headers=AUTH) as ws:  # dropped before the first reply
            await ws.send("dropped")
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is None  # no close frame: the TCP connection just ended
        async with connect(url(sim), additional_headers=AUTH) as ws:
            for text in ["one", "two"]:
                await ws.send(text)
                assert await ws.recv() == text
            await ws.send("three")
            with pytest.raises(ConnectionClosed):
                await ws.recv()
        assert seen["drop"] == 2  # the handler is told, to count its own events
        async with connect(url(sim), additional_headers=AUTH) as ws:
            await ws.send("fourth time")
            assert await ws.recv() == "fourth time"
