"""The OpenAI client for a provider, and openai exceptions mapped to one-line ModelErrors.

Imported lazily (only when a model is built): it pulls in `openai`.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import weakref
from typing import TYPE_CHECKING, Any

from agentcli.errors import ModelError
from agentcli.spec.model import Provider

if TYPE_CHECKING:
    import openai

OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
# Local servers (Ollama, vLLM, the simulator) ignore the key, but the SDK insists on one.
PLACEHOLDER_KEY = "not-needed"

_ClientKey = tuple[str, str, float, int]
# Clients hold connection pools bound to one event loop, so the cache is per loop.
_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[_ClientKey, Any]] = (
    weakref.WeakKeyDictionary()
)
_no_loop: dict[_ClientKey, Any] = {}


def resolve_base_url(provider: Provider, base_url: str | None = None) -> str:
    """override > provider.base_url > $OPENAI_BASE_URL > OpenAI."""
    url = base_url or provider.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_DEFAULT_URL
    return url.rstrip("/")


def resolve_api_key(provider: Provider, url: str, api_key: str | None = None) -> str:
    key = api_key or os.environ.get(provider.api_key_env)
    if key:
        return key
    if url == OPENAI_DEFAULT_URL:
        env = provider.api_key_env
        raise ModelError(f"{env} is not set: export {env}=... (or use --sim)")
    return PLACEHOLDER_KEY


def make_client(
    provider: Provider, *, base_url: str | None = None, api_key: str | None = None
) -> openai.AsyncOpenAI:
    """An AsyncOpenAI client for the provider, shared per (base_url, key) within an event loop.
    Retries (429, 5xx, connection; Retry-After honoured) are the SDK's own: provider.max_retries."""
    import openai

    url = resolve_base_url(provider, base_url)
    key = resolve_api_key(provider, url, api_key)
    cache_key: _ClientKey = (url, key, provider.timeout, provider.max_retries)
    try:
        cache = _per_loop.setdefault(asyncio.get_running_loop(), {})
    except RuntimeError:
        cache = _no_loop
    client = cache.get(cache_key)
    if client is None:
        client = openai.AsyncOpenAI(
            api_key=key,
            base_url=url,
            timeout=provider.timeout,
            max_retries=provider.max_retries,
            http_client=openai.DefaultAsyncHttpxClient(
                event_hooks={"request": [_attempt_started], "response": [_attempt_answered]}
            ),
        )
        cache[cache_key] = client
    return client


# The SDK retries inside one call and tells no one; these hooks note each attempt of the request in
# flight (the list lives in a context variable set by the model around the call), so retries show up
# as events and in traces.
ATTEMPTS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("agentcli_attempts", default=None)


async def _attempt_started(request: Any) -> None:
    attempts = ATTEMPTS.get()
    if attempts is not None:
        attempts.append("no answer (connection failed)")


async def _attempt_answered(response: Any) -> None:
    attempts = ATTEMPTS.get()
    if attempts:
        attempts[-1] = f"status {response.status_code}" if response.status_code >= 400 else "ok"


def scrub(text: str, secret: str | None) -> str:
    """`text` with the key masked, for messages built from server replies that may echo it."""
    if secret and secret != PLACEHOLDER_KEY and len(secret) >= 4:
        text = text.replace(secret, "***")
    return text


def _api_message(err: Any) -> str:
    body = getattr(err, "body", None)
    message = None
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        message = inner.get("message")
    if not isinstance(message, str) or not message:
        message = getattr(err, "message", None) or str(err)
    return " ".join(str(message).split())


def _reason(err: BaseException) -> str:
    """The root cause of a connection failure, e.g. "Connection refused"."""
    chain: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in chain and len(chain) < 20:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for exc in reversed(chain):
        if isinstance(exc, OSError) and exc.errno:
            return os.strerror(exc.errno)
    root = chain[-1]
    return " ".join(str(root).split()) or type(root).__name__


def model_error(
    err: BaseException, *, url: str, api_key_env: str, api_key: str | None = None, mid_stream: bool = False
) -> ModelError:
    """One line saying what went wrong and what to do; never the key."""
    import openai

    if isinstance(err, ModelError):
        return err
    if isinstance(err, openai.AuthenticationError):
        message = f"{url} rejected the API key: set {api_key_env} to a valid key"
    elif isinstance(err, openai.APIStatusError):
        message = f"{url} answered {err.status_code}: {_api_message(err)}"
    elif isinstance(err, openai.APITimeoutError):
        message = (
            f"the connection to {url} dropped mid-answer (timed out)"
            if mid_stream
            else f"cannot reach {url}: timed out"
        )
    elif isinstance(err, openai.APIConnectionError) or isinstance(err, OSError):
        message = (
            f"the connection to {url} dropped mid-answer"
            if mid_stream
            else f"cannot reach {url}: {_reason(err)}"
        )
    elif isinstance(err, openai.APIError):  # an error event inside the stream
        message = f"{url} failed mid-answer: {_api_message(err)}"
    else:
        message = f"model call to {url} failed: {type(err).__name__}: {err}"
    return ModelError(scrub(message, api_key))
