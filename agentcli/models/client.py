"""The OpenAI client for a provider, and openai exceptions mapped to one-line ModelErrors.

Imported lazily (only when a model is built): it pulls in `openai`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

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

    from agentcli.models.transport import http_client

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
            http_client=http_client(openai, url, {"request": [_attempt_started], "response": [_attempt_answered]}),
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


def _sse_messages(text: str) -> list[str]:
    """The messages of error events in a body that is an SSE stream (a proxy that answers an error status
    with `event: error` / `data: {...}` lines)."""
    import json

    found: list[str] = []
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        try:
            data = json.loads(line[5:].strip())
        except ValueError:
            continue
        if isinstance(data, dict):
            inner = data.get("error") if isinstance(data.get("error"), dict) else data
            message = inner.get("message")
            if isinstance(message, str) and message and message not in found:
                found.append(message)
    return found


def _api_message(err: Any) -> str:
    body = getattr(err, "body", None)
    message = None
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        message = inner.get("message")
    if isinstance(body, str) and (events := _sse_messages(body)):
        message = "; ".join(events)
    if not isinstance(message, str) or not message:
        message = getattr(err, "message", None) or str(err)
        response = getattr(err, "response", None)
        if response is not None:
            # a streamed error body was not parsed by the SDK: its SSE error events say what happened
            with contextlib.suppress(Exception):
                if events := _sse_messages(response.text):
                    message = f"{message}: {'; '.join(events)}"
    return " ".join(str(message).split())


def _content_kind(content_type: str) -> str:
    kind = content_type.split(";")[0].strip().lower()
    if kind in ("text/html", "application/xhtml+xml"):
        return "HTML"
    if kind == "application/json":
        return "a JSON body"
    return kind or "no content type"


def not_the_api(response: Any, url: str) -> str | None:
    """Why a streamed answer is not the API's event stream (an HTML login page, a JSON body from a server
    that ignores `stream`, ...); None when it is one or cannot be told."""
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    content_type = headers.get("content-type") or ""
    if not content_type or content_type.split(";")[0].strip().lower() == "text/event-stream":
        return None
    return f"{_where(response, url)} answered {response.status_code} with {_content_kind(content_type)}, " \
        "not the API: is base_url right?"


def _where(response_or_request: Any, url: str) -> str:
    """`url`, or "url (redirected to final)" when the request was redirected."""
    final = getattr(response_or_request, "url", None)
    history = getattr(response_or_request, "history", None)
    final_text = str(final) if final is not None else ""
    if final_text and (history or not final_text.startswith(url)):
        return f"{url} (redirected to {final_text})"
    return url


def _reason(err: BaseException) -> str:
    """The root cause of a connection failure, e.g. "Connection refused"."""
    chain: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in chain and len(chain) < 20:
        chain.append(current)
        current = current.__cause__ or current.__context__
    import socket
    import ssl

    for exc in chain:
        if isinstance(exc, socket.gaierror):
            return "cannot resolve host"
        if isinstance(exc, ssl.SSLCertVerificationError):  # its errno (1) would read "Operation not permitted"
            return f"certificate not trusted ({exc.verify_message or exc.reason})"
    for exc in reversed(chain):
        if isinstance(exc, OSError) and exc.errno:
            return os.strerror(exc.errno)
    root = chain[-1]
    return " ".join(str(root).split()) or type(root).__name__


def model_error(
    err: BaseException, *, url: str, api_key_env: str, api_key: str | None = None, mid_stream: bool = False
) -> ModelError:
    """One line saying what went wrong and what to do; never the key."""
    import json

    import openai

    if isinstance(err, ModelError):
        return err
    request = _failing_request(err) if isinstance(err, openai.APIError) else None
    where = _where(request, url) if request is not None else url
    if isinstance(err, openai.AuthenticationError):
        message = f"{url} rejected the API key: set {api_key_env} to a valid key"
    elif isinstance(err, openai.APIStatusError):
        where = _where(err.response, url)
        content_type = err.response.headers.get("content-type") or ""
        if _content_kind(content_type) == "HTML":
            message = f"{where} answered {err.status_code} with HTML, not the API: is base_url right?"
        else:
            message = f"{where} answered {err.status_code}: {_api_message(err)}"
    elif isinstance(err, json.JSONDecodeError):
        message = f"{url} sent an event that is not JSON, not the API: is base_url right?"
    elif isinstance(err, openai.APITimeoutError):
        message = (
            f"the connection to {url} dropped mid-answer (timed out)"
            if mid_stream
            else f"cannot reach {where}: timed out"
        )
    elif isinstance(err, openai.APIConnectionError) or isinstance(err, OSError):
        message = (
            f"the connection to {url} dropped mid-answer"
            if mid_stream
            else _unreachable(err, where, request)
        )
    elif isinstance(err, openai.APIError):  # an error event inside the stream
        message = f"{url} failed mid-answer: {_api_message(err)}"
    else:
        message = f"model call to {url} failed: {type(err).__name__}: {err}"
    return ModelError(scrub(message, api_key))


def _unreachable(err: BaseException, where: str, request: Any) -> str:
    reason = _reason(err)
    if reason == "cannot resolve host":
        host = getattr(getattr(request, "url", None), "host", None) or urlsplit(where.split(" ")[0]).hostname
        return f"cannot resolve host {host} ({where}): check base_url and the network"
    return f"cannot reach {where}: {reason}"


def _failing_request(err: BaseException) -> Any:
    """The request that failed: after redirects, the HTTP library's own error holds the last one, while the
    SDK's error holds the first."""
    current: BaseException | None = err
    found = None
    for _ in range(20):
        if current is None:
            break
        with contextlib.suppress(Exception):  # httpx raises when an error has no request
            found = getattr(current, "request", None) or found
        current = current.__cause__ or current.__context__
    return found
