"""What the Responses and Chat Completions adapters share: the client, error mapping, item cleanup."""

from __future__ import annotations

import asyncio
import contextlib
from abc import abstractmethod
from collections.abc import AsyncIterator
from typing import Any

from agentcli.errors import ModelError
from agentcli.models.base import Model, ModelEvent, ModelRequest, ModelRetrying, content_text
from agentcli.models.client import ATTEMPTS, model_error

text_of = content_text  # the adapters' name for it


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


def common_params(request: ModelRequest, params: dict[str, Any], *, tool: Any, tool_choice: Any,
                  max_tokens_key: str) -> dict[str, Any]:
    """Tools and sampling settings, which both APIs take alike but for their shapes (`tool`, `tool_choice`
    build them) and the name of the token limit. Fills and returns `params`."""
    settings = request.settings
    if request.tools:
        params["tools"] = [tool(t) for t in request.tools]
        if (choice := settings_value(settings, "tool_choice")) is not None:
            params["tool_choice"] = tool_choice(choice)
        if (parallel := settings_value(settings, "parallel_tool_calls")) is not None:
            params["parallel_tool_calls"] = parallel
    for name in ("temperature", "top_p"):
        if (value := settings_value(settings, name)) is not None:
            params[name] = value
    if (max_tokens := settings_value(settings, "max_tokens")) is not None:
        params[max_tokens_key] = max_tokens
    return params


def dropped(url: str) -> ModelError:
    return ModelError(f"the connection to {url} dropped mid-answer")


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
    ):
        self.client = client
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
        for number, reason in enumerate(attempts[:-1], start=1):
            yield ModelRetrying(attempt=number, reason=reason)
        try:
            async for event in self._events(wire):
                yield event
            await _drain(wire)
        except ModelError:
            raise
        except Exception as e:
            raise self._error(e, mid_stream=True) from None
        finally:
            with contextlib.suppress(Exception):
                await wire.close()

    @abstractmethod
    async def _open(self, request: ModelRequest) -> Any:
        """Send the request; return the SDK's AsyncStream."""

    @abstractmethod
    def _events(self, wire: Any) -> AsyncIterator[ModelEvent]:
        """The stream's events as ModelEvents; raise ModelError when it ends without completing."""
