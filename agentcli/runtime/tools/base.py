"""What every tool kind (python, shell, builtin) looks like to the Toolset."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

# Asked before a tool with `approve: true` runs: (tool_name, arguments_json) -> allowed?
Approver = Callable[[str, str], Awaitable[bool]]


class ToolFailed(Exception):
    """A tool ran but failed in a way the model should hear about ("error: <message>")."""


@dataclass(slots=True)
class ToolResult:
    output: str  # what the model is given back
    error: str | None = None  # set when the tool failed; `output` then reads "error: ..."
    approved: bool | None = None  # None when the tool needs no approval


class Tool(ABC):
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object
    approve: bool = False
    timeout: float | None = None

    @abstractmethod
    async def run(self, arguments: dict[str, Any]) -> str:
        """The tool's output for the model. Raise ToolFailed (or anything) on failure."""
