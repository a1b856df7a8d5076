"""The model interface the runtime talks to. Concrete models: Responses API, Chat Completions.

Conversation items are neutral dicts in the Responses API's input shape:
  {"type": "message", "role": "user" | "assistant" | "system", "content": "text"}
  {"type": "function_call", "call_id": "...", "name": "...", "arguments": "{json}"}
  {"type": "function_call_output", "call_id": "...", "output": "text"}
Keys starting with "_" (e.g. "_agent", "_interrupted") are ours: adapters drop them before sending.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from agentcli.events import Usage


def content_text(content: Any) -> str:
    """The text of a neutral item's content: a string, or a list of parts (text, or an audio part's
    transcript). The one reading of content for every client path (chat messages, realtime items)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text") or p.get("transcript") or "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


@dataclass(slots=True)
class ToolSchema:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object


@dataclass(slots=True)
class ModelRequest:
    model: str
    instructions: str
    items: list[dict[str, Any]]
    tools: list[ToolSchema] = field(default_factory=list)
    settings: Any = None  # agentcli.spec.model.ModelSettings
    output_schema: dict[str, Any] | None = None  # structured output (json_schema)


@dataclass(slots=True)
class ModelTextDelta:
    text: str


@dataclass(slots=True)
class ModelToolCall:
    call_id: str
    name: str
    arguments: str  # JSON text


@dataclass(slots=True)
class ModelCompleted:
    """The end of one model response. `status` is "completed", "incomplete" (cut short: `reason` says
    why, e.g. max_output_tokens or content_filter; the text so far was streamed) or "refusal" (the model
    declined: `refusal` holds its words, which were not streamed as text). `reasoning` holds the
    response's reasoning items, to be passed back with its function calls."""

    usage: Usage
    response_id: str | None = None
    status: str = "completed"
    reason: str | None = None
    refusal: str | None = None
    reasoning: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class ModelRetrying:
    """An earlier attempt of this request failed in a retryable way (429, 5xx, connection) and the client
    library retried it. Reported once the request finally opens, before its first delta."""

    attempt: int
    reason: str


@dataclass(slots=True)
class ModelNotice:
    """Something the user should know once, e.g. a setting the model does not take was not sent."""

    message: str


ModelEvent = ModelTextDelta | ModelToolCall | ModelCompleted | ModelRetrying | ModelNotice


class Model(ABC):
    """One model endpoint. `stream` yields text deltas as they arrive, each tool call once complete,
    and ends with exactly one ModelCompleted. Failures raise agentcli.errors.ModelError with a
    one-line message (401 names the env var to set; unreachable names the URL)."""

    @abstractmethod
    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]: ...

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        pass
