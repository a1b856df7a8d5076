"""make_client: URL/key resolution, caching, and one-line errors that never show the key."""

from __future__ import annotations

import asyncio
import socket

import pytest

from agentcli.errors import ModelError
from agentcli.models.base import ModelRequest
from agentcli.models.client import (
    OPENAI_DEFAULT_URL,
    PLACEHOLDER_KEY,
    make_client,
    resolve_api_key,
    resolve_base_url,
)
from agentcli.models.factory import make_model
from agentcli.spec.model import Provider

from .conftest import agent, collect, sim_model, with_sim

REQUEST = ModelRequest(
    model="gpt-test", instructions="", items=[{"type": "message", "role": "user", "content": "hi"}]
)


def test_base_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_base_url(Provider()) == OPENAI_DEFAULT_URL
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env:1/v1/")
    assert resolve_base_url(Provider()) == "http://env:1/v1"
    assert resolve_base_url(Provider(base_url="http://spec:2/v1")) == "http://spec:2/v1"
    assert resolve_base_url(Provider(base_url="http://spec:2/v1"), "http://flag:3/v1") == "http://flag:3/v1"


def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_KEY", raising=False)
    provider = Provider(api_key_env="MY_KEY")
    with pytest.raises(ModelError, match=r"^MY_KEY is not set: export MY_KEY=\.\.\. \(or use --sim\)$"):
        resolve_api_key(provider, OPENAI_DEFAULT_URL)
    assert resolve_api_key(provider, "http://localhost:11434/v1") == PLACEHOLDER_KEY
    monkeypatch.setenv("MY_KEY", "sk-env")
    assert resolve_api_key(provider, OPENAI_DEFAULT_URL) == "sk-env"
    assert resolve_api_key(provider, OPENAI_DEFAULT_URL, "sk-flag") == "sk-flag"


def test_client_is_cached_per_url_and_key_within_a_loop() -> None:
    async def main() -> None:
        p = Provider(base_url="http://x:1/v1", timeout=7, max_retries=4)
        a = make_client(p, api_key="k1")
        assert make_client(p, api_key="k1") is a
        assert make_client(p, api_key="k2") is not a
        assert (a.max_retries, a.timeout) == (4, 7)
        assert str(a.base_url).rstrip("/") == "http://x:1/v1"

    asyncio.run(main())


def test_wrong_key_is_a_one_line_401_without_the_key() -> None:
    secret = "sk-wrong-0123456789abcdef"

    async def body(sim):  # type: ignore[no-untyped-def]
        model = make_model(agent(), base_url=sim.base_url, api_key=secret)
        with pytest.raises(ModelError) as info:
            await collect(model, REQUEST)
        return str(info.value)

    message = with_sim({"api_key": "sk-right"}, body)
    assert message.endswith("/v1 rejected the API key: set OPENAI_API_KEY to a valid key")
    assert secret not in message and "\n" not in message


def test_unreachable_server_names_the_url() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"

    async def main() -> str:
        model = make_model(agent(), base_url=url)
        with pytest.raises(ModelError) as info:
            await collect(model, REQUEST)
        return str(info.value)

    message = asyncio.run(main())
    assert message.startswith(f"cannot reach {url}: ")
    assert "refused" in message.lower()


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_other_status_shows_the_api_message(api: str) -> None:
    async def body(sim):  # type: ignore[no-untyped-def]
        with pytest.raises(ModelError) as info:
            await collect(sim_model(sim, api), REQUEST)
        return sim.base_url, str(info.value)

    url, message = with_sim({"faults": [{"status": 400, "message": "Unsupported value: 'x'."}]}, body)
    assert message == f"{url} answered 400: Unsupported value: 'x'."


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_retries_on_503_then_succeeds(api: str) -> None:
    async def body(sim):  # type: ignore[no-untyped-def]
        events = await collect(sim_model(sim, api, max_retries=2), REQUEST)
        return "".join(getattr(e, "text", "") for e in events)

    # two failures need both SDK retries; with one retry it fails (next test)
    assert with_sim({"faults": [{"status": 503, "times": 2}]}, body) == "You said: hi"


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_503_without_retries_left_is_reported(api: str) -> None:
    async def body(sim):  # type: ignore[no-untyped-def]
        with pytest.raises(ModelError) as info:
            await collect(sim_model(sim, api, max_retries=1), REQUEST)
        return sim.base_url, str(info.value)

    url, message = with_sim({"faults": [{"status": 503, "times": 2}]}, body)
    assert message.startswith(f"{url} answered 503: ")


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_stream_dropped_mid_answer(api: str) -> None:
    async def body(sim):  # type: ignore[no-untyped-def]
        with pytest.raises(ModelError) as info:
            await collect(sim_model(sim, api), REQUEST)
        return sim.base_url, str(info.value)

    url, message = with_sim({"faults": [{"disconnect_after_events": 2}]}, body)
    assert message == f"the connection to {url} dropped mid-answer"
