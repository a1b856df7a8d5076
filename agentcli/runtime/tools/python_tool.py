"""`python: module:function` tools: sync functions run in a thread, async ones are awaited."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable
from typing import Any

from agentcli.errors import ToolError
from agentcli.runtime.imports import import_ref
from agentcli.runtime.schema_check import validate
from agentcli.runtime.tools.base import Tool, ToolFailed
from agentcli.runtime.tools.signature import function_schema


def stringify(value: Any) -> str:
    """A tool's return value as text for the model: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


class PythonFunctionTool(Tool):
    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        approve: bool = False,
        timeout: float | None = None,
    ):
        self.fn = fn
        doc_description, self.parameters = function_schema(fn)
        self.name = name or fn.__name__
        self.description = description or doc_description or f"Run {self.name}."
        self.approve = approve
        self.timeout = timeout

    @classmethod
    def from_ref(
        cls,
        ref: str,
        base_dir: str,
        *,
        name: str | None = None,
        description: str | None = None,
        approve: bool = False,
        timeout: float | None = None,
    ) -> PythonFunctionTool:
        """Import the function now so a bad path fails when the Runner is built, not mid-chat."""
        try:
            fn = import_ref(ref, base_dir)
        except (ImportError, AttributeError, TypeError) as e:
            raise ToolError(f"tool {ref}: {e}") from None
        try:
            return cls(fn, name=name, description=description, approve=approve, timeout=timeout)
        except (TypeError, ValueError) as e:  # e.g. a builtin without an inspectable signature
            raise ToolError(f"tool {ref}: cannot read its signature: {e}") from None

    async def run(self, arguments: dict[str, Any]) -> str:
        problems = validate(arguments, self.parameters)
        if problems:
            raise ToolFailed("invalid arguments: " + "; ".join(problems))
        if inspect.iscoroutinefunction(self.fn):
            result = await self.fn(**arguments)
        else:
            result = await asyncio.to_thread(self.fn, **arguments)
            if inspect.isawaitable(result):  # a sync wrapper that returned a coroutine
                result = await result
        return stringify(result)
