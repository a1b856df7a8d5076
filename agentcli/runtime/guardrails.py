"""Input and output guardrails: regex, keywords, or a python "module:function"(text) check.

A python check returns True (trip, with the spec's message), a str (trip with that message), or
None/False (pass). A check that raises trips too: a broken guardrail fails closed.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from agentcli.errors import ToolError
from agentcli.events import GuardrailChecked, now
from agentcli.runtime.imports import import_ref
from agentcli.spec.model import AgentSpec, Guardrail

DEFAULT_INPUT_MESSAGE = "Sorry, I can't help with that."
DEFAULT_OUTPUT_MESSAGE = "I can't share that answer."


@dataclass(slots=True)
class Verdict:
    tripped: bool
    message: str | None = None


class GuardrailCheck:
    def __init__(self, guardrail: Guardrail, stage: str, base_dir: str):
        self.name = guardrail.label
        self.stage = stage
        default = DEFAULT_INPUT_MESSAGE if stage == "input" else DEFAULT_OUTPUT_MESSAGE
        self.message = guardrail.message or default
        self._pattern: re.Pattern[str] | None = None
        self._fn: Callable[[str], Any] | None = None
        if guardrail.regex:
            self._pattern = re.compile(guardrail.regex, re.IGNORECASE)
        elif guardrail.keywords:
            words = "|".join(re.escape(k) for k in guardrail.keywords if k)
            self._pattern = re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE) if words else None
        elif guardrail.python:
            try:
                self._fn = import_ref(guardrail.python, base_dir)
            except (ImportError, AttributeError, TypeError) as e:
                raise ToolError(f"{stage} guardrail {guardrail.python}: {e}") from None

    async def check(self, text: str) -> Verdict:
        if self._pattern is not None:
            hit = self._pattern.search(text) is not None
            return Verdict(hit, self.message if hit else None)
        if self._fn is None:
            return Verdict(False)
        try:
            if inspect.iscoroutinefunction(self._fn):
                result = await self._fn(text)
            else:
                result = await asyncio.to_thread(self._fn, text)
                if inspect.isawaitable(result):
                    result = await result
        except Exception:
            return Verdict(True, self.message)
        if isinstance(result, str):
            return Verdict(True, result or self.message)
        if result:
            return Verdict(True, self.message)
        return Verdict(False)


@dataclass(slots=True)
class Guardrails:
    input: list[GuardrailCheck]
    output: list[GuardrailCheck]


def build_guardrails(agent: AgentSpec, base_dir: str) -> Guardrails:
    """The agent's guardrails, imported now so a bad python path fails before the first turn."""
    return Guardrails(
        input=[GuardrailCheck(g, "input", base_dir) for g in agent.input_guardrails],
        output=[GuardrailCheck(g, "output", base_dir) for g in agent.output_guardrails],
    )


async def run_checks(
    checks: list[GuardrailCheck], text: str, agent: str, verdict: list[Verdict]
) -> AsyncIterator[GuardrailChecked]:
    """Run checks in order, yielding one event per check; stops at the first trip, which is
    appended to `verdict` (an out-parameter, since async generators cannot return a value)."""
    for check in checks:
        started = now()
        result = await check.check(text)
        yield GuardrailChecked(
            agent=agent,
            name=check.name,
            stage=check.stage,
            tripped=result.tripped,
            message=result.message,
            started=started,
        )
        if result.tripped:
            verdict.append(result)
            return
