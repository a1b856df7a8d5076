"""What the Responses and Chat Completions adapters share: the client, error mapping, item cleanup."""

from __future__ import annotations

import asyncio
import contextlib
from abc import abstractmethod
from collections.abc import AsyncIterator
from typing import Any

from agentcli.errors import ModelError
from agentcli.models.base import (
    Model,
    ModelEvent,
    ModelNotice,
    ModelRequest,
    ModelRetrying,
    ModelTextDelta,
    ModelToolCall,
)
from agentcli.models.client import ATTEMPTS, model_error, not_the_api
from agentcli.models.families import unsupported
from agentcli.models.sse import can_read, sse_data


class StreamDropped(ModelError):
    """The stream ended, broke or went idle before its final event: retried while nothing was shown."""


def clean_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items without our private "_" keys, which the APIs would reject."""
    return [{k: v for k, v in item.items() if not k.startswith("_")} for item in items]


def field(obj: Any, name: str, default: Any = None) -> Any:
    """A field of a wire object: events arrive as dicts; tolerate attribute objects too."""
    if isinstance(obj, dict):
        value = obj.get(name, default)
    else:
        value = getattr(obj, name, default)
    return default if value is None else value


def settings_value(settings: Any, name: str) -> Any:
    return getattr(settings, name, None) if settings is not None else None


def dropped_settings(request: ModelRequest) -> dict[str, str]:
    """{setting: why} for the request's settings its model does not take (agentcli/models/families.py)."""
    names = ("temperature", "top_p", "reasoning_effort")
    return unsupported(request.model, {n: settings_value(request.settings, n) for n in names})


def common_params(request: ModelRequest, params: dict[str, Any], *, tool: Any, tool_choice: Any,
                  max_tokens_key: str) -> dict[str, Any]:
    """Tools and sampling settings, which both APIs take alike but for their shapes (`tool`, `tool_choice`
    build them) and the name of the token limit. Fills and returns `params`."""
    settings = request.settings
    skip = dropped_settings(request)
    if request.tools:
        params["tools"] = [tool(t) for t in request.tools]
        if (choice := settings_value(settings, "tool_choice")) is not None:
            params["tool_choice"] = tool_choice(choice)
        if (parallel := settings_value(settings, "parallel_tool_calls")) is not None:
            params["parallel_tool_calls"] = parallel
    for name in ("temperature", "top_p"):
        if (value := settings_value(settings, name)) is not None and name not in skip:
            params[name] = value
    if (max_tokens := settings_value(settings, "max_tokens")) is not None:
        params[max_tokens_key] = max_tokens
    return params


def dropped(url: str) -> ModelError:
    return StreamDropped(f"the connection to {url} dropped mid-answer")


def _retry_delay(retry: int) -> float:
    """The SDK's own backoff for 429/5xx/connection retries: 0.5 s doubling to 8 s, minus up to 25 % jitter."""
    import random

    return min(0.5 * 2 ** (retry - 1), 8.0) * (1 - 0.25 * random.random())


def _seconds(timeout: Any) -> float | None:
    if isinstance(timeout, int | float) and timeout > 0:
        return float(timeout)
    read = getattr(timeout, "read", None)
    return float(read) if isinstance(read, int | float) and read > 0 else None


async def _idle_bounded(wire: Any, url: str, timeout: float | None) -> AsyncIterator[Any]:
    """The wire's events, failing when none arrives for `timeout` seconds: a server that keeps the stream
    open with SSE comments (or nothing) resets the socket's read timeout forever but sends no event.

    One timer per stream, not one per event (an `asyncio.timeout` around each read was ~6 % of a turn):
    each read notes when it began, and the timer, when due, cancels the read only if that read has been
    waiting for `timeout`; otherwise it re-arms for the current read's deadline. Between reads (the
    consumer's time) nothing is armed, so an abandoned stream leaves no timer behind."""
    iterator = wire.__aiter__()
    loop = asyncio.get_running_loop()
    now = loop.time
    task = asyncio.current_task()  # the task that iterates the stream (async generators run in their caller's)
    reading_since: float | None = None
    timer: asyncio.TimerHandle | None = None
    cancelling: int | None = None  # the task's cancel count when the timer cancelled it; None: it did not

    def due() -> None:
        nonlocal timer, cancelling
        timer = None
        if reading_since is None or task is None or timeout is None:
            return  # between reads: the next read arms it again
        deadline = reading_since + timeout
        if now() >= deadline:
            cancelling = task.cancelling()
            task.cancel()
        else:
            timer = loop.call_at(deadline, due)

    try:
        while True:
            reading_since = now()
            if timer is None and timeout is not None:
                timer = loop.call_at(reading_since + timeout, due)
            try:
                event = await iterator.__anext__()
            except StopAsyncIteration:
                return
            except asyncio.CancelledError:
                # ours only when no one else cancelled the task too (what asyncio.timeout does)
                if cancelling is not None and task is not None and task.uncancel() <= cancelling:
                    raise StreamDropped(f"{url} sent nothing for {timeout:g} s mid-answer (provider.timeout)") \
                        from None
                raise
            finally:
                reading_since = None
            yield event
    finally:
        if timer is not None:
            timer.cancel()
        if (aclose := getattr(iterator, "aclose", None)) is not None:  # the wire's generator, if we stop early
            with contextlib.suppress(Exception):
                await aclose()


def _retryable(err: BaseException) -> bool:
    """A broken or idle stream, not an answer: an error the server sent is not retried here."""
    if isinstance(err, StreamDropped):
        return True
    if isinstance(err, ModelError):
        return False
    import importlib

    import openai

    kinds: list[type[BaseException]] = [openai.APIConnectionError, OSError]
    for name in ("httpx2", "httpx"):  # the HTTP library under the SDK: httpx2 in openai 3, httpx before
        with contextlib.suppress(ImportError):
            kinds.append(importlib.import_module(name).TransportError)
    return isinstance(err, tuple(kinds))


async def _drain(wire: Any) -> None:
    """Read what is left of the stream after the final event (the body's end), so the pooled connection
    is reused by the next call; closing an unfinished response would drop it (a TCP connect per call).
    Bounded: a server that keeps talking after its final event is cut off."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(0.25):
            async for _ in wire:
                pass


class OpenAIModel(Model):
    """A streaming model over an openai.AsyncOpenAI client. Subclasses build the request and turn
    the wire events into ModelEvents; this class maps every failure to a one-line ModelError."""

    def __init__(
        self,
        client: Any,
        *,
        url: str,
        api_key_env: str = "OPENAI_API_KEY",
        api_key: str | None = None,
        model: str | None = None,
        idle_timeout: float | None = None,
    ):
        self.client = client
        self.idle_timeout = idle_timeout  # None: the client's timeout
        self._noticed: set[tuple[str, str]] = set()
        self.url = url
        self.api_key_env = api_key_env
        self._api_key = api_key  # only to scrub it from error text
        self.model_name = model

    def warm_up(self) -> None:
        """The client (and so the openai package) is built with the model; nothing more to load."""

    async def _post_stream(self, path: str, body: dict[str, Any]) -> Any:
        """POST through the client (its auth, retries with Retry-After, timeouts and error types) and
        stream the server-sent events as plain dicts. The typed `client.responses.create` would transform
        every request parameter and validate every event into pydantic models: most of a turn's
        overhead, and half a second of imports, for fields we read as dicts anyway."""
        from openai import AsyncStream

        return await self.client.post(path, body=body, cast_to=object, stream=True, stream_cls=AsyncStream[object])

    def _error(self, err: BaseException, mid_stream: bool) -> ModelError:
        return model_error(
            err, url=self.url, api_key_env=self.api_key_env, api_key=self._api_key, mid_stream=mid_stream
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        if self.model_name and not request.model:
            request.model = self.model_name
        for name, why in dropped_settings(request).items():
            if (request.model, name) not in self._noticed:  # once per model and setting
                self._noticed.add((request.model, name))
                yield ModelNotice(f"{why}: {name} not sent")
        max_retries = int(getattr(self.client, "max_retries", 2) or 0)
        idle = self.idle_timeout if self.idle_timeout is not None else _seconds(getattr(self.client, "timeout", None))
        failed = 0  # attempts that failed so far, SDK retries included
        stream_retries = 0
        while True:
            attempts: list[str] = []
            token = ATTEMPTS.set(attempts)
            try:
                wire = await self._open(request)
            except ModelError:
                raise
            except Exception as e:
                raise self._error(e, mid_stream=False) from None
            finally:
                ATTEMPTS.reset(token)
            for reason in attempts[:-1]:
                failed += 1
                yield ModelRetrying(attempt=failed, reason=reason)
            shown = False
            # closed explicitly below: a generator left suspended is closed by the loop's finalizer hook, a
            # thread-safe wake-up and a task each, several per turn
            source = sse_data(wire.response) if can_read(wire) else wire  # the SDK's own reader: slower
            reads: Any = _idle_bounded(source, self.url, idle)
            events: Any = self._events(reads)
            try:
                if (problem := not_the_api(getattr(wire, "response", None), self.url)) is not None:
                    raise ModelError(problem)
                async for event in events:
                    shown = shown or isinstance(event, ModelTextDelta | ModelToolCall)
                    yield event
                await _drain(reads)
                return
            except Exception as e:
                error = self._error(e, mid_stream=True)
                # a stream that broke before anything was shown is retried like a 5xx; after, it cannot be
                if shown or not _retryable(e) or stream_retries >= max_retries:
                    raise error from None
                failed += 1
                stream_retries += 1
                reason = str(error)
            finally:
                for generator in (events, reads):
                    with contextlib.suppress(Exception):
                        await generator.aclose()
                with contextlib.suppress(Exception):
                    await wire.close()
            await asyncio.sleep(_retry_delay(failed))
            yield ModelRetrying(attempt=failed, reason=reason)

    @abstractmethod
    async def _open(self, request: ModelRequest) -> Any:
        """Send the request; return the SDK's AsyncStream."""

    @abstractmethod
    def _events(self, wire: Any) -> AsyncIterator[ModelEvent]:
        """The stream's events as ModelEvents; raise ModelError when it ends without completing."""
