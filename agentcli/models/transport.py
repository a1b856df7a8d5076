"""The HTTP client under the openai client, built cheaply for plain-http endpoints.

Building the SDK's default client loads the system certificate store into an SSL context (~20 ms) and
imports the HTTP core, which imports `trio` when it is installed (~40 ms) only to support trio event
loops. A local server (Ollama, vLLM, the simulator) speaks plain http: its requests never need TLS, so
its transport builds the verified one only if a request goes to https (a redirect), and agentcli runs on
asyncio alone, so `trio` is kept out of the import. An https endpoint gets the SDK's default client,
with its verification untouched.
"""

from __future__ import annotations

import contextlib
import functools
import ssl
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit


def http_client(openai: ModuleType, url: str, event_hooks: dict[str, list[Any]]) -> Any:
    """openai.DefaultAsyncHttpxClient with `event_hooks`; for a plain-http `url` (and no proxy set in
    the environment, which the default client would honour) over a transport that loads no certificates
    until an https request needs them."""
    with _without_trio():
        if urlsplit(url).scheme != "http" or _env_proxies():
            return openai.DefaultAsyncHttpxClient(event_hooks=event_hooks)
        transport = _plain_first_class(_httpx(openai))(openai.DEFAULT_CONNECTION_LIMITS)
        return openai.DefaultAsyncHttpxClient(event_hooks=event_hooks, transport=transport)


def _env_proxies() -> bool:
    import urllib.request  # what the HTTP library itself reads (http_proxy, https_proxy, all_proxy, ...)

    return bool(urllib.request.getproxies())


def _httpx(openai: ModuleType) -> ModuleType:
    """The HTTP library under the SDK: httpx2 in openai 3, httpx before."""
    base = next(c for c in openai.DefaultAsyncHttpxClient.__mro__ if c.__name__ == "AsyncClient")
    return sys.modules[base.__module__.partition(".")[0]]


@contextlib.contextmanager
def _without_trio() -> Iterator[None]:
    """`import trio` fails inside the block (a None entry in sys.modules), unless trio is loaded already:
    the HTTP core then supports asyncio only, which is all agentcli runs on."""
    if "trio" in sys.modules:
        yield
        return
    sys.modules["trio"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if sys.modules.get("trio", 0) is None:
            del sys.modules["trio"]


@functools.cache
def _plain_first_class(httpx: ModuleType) -> type:
    class PlainFirstTransport(httpx.AsyncBaseTransport):  # type: ignore[name-defined,misc]
        """http requests through a pool whose SSL context holds no certificates (and is never used: plain
        http has no TLS); https requests through the library's default transport, verified as always,
        built on the first one."""

        def __init__(self, limits: Any) -> None:
            self._limits = limits
            # CERT_REQUIRED with no trusted roots: were it ever used, it would refuse, never accept
            self._plain = httpx.AsyncHTTPTransport(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), limits=limits)
            self._tls: Any = None

        async def handle_async_request(self, request: Any) -> Any:
            if request.url.scheme == "http":
                return await self._plain.handle_async_request(request)
            if self._tls is None:
                self._tls = httpx.AsyncHTTPTransport(limits=self._limits)
            return await self._tls.handle_async_request(request)

        async def aclose(self) -> None:
            await self._plain.aclose()
            if self._tls is not None:
                await self._tls.aclose()

    return PlainFirstTransport
