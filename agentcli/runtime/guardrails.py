"""Input and output guardrails: regex, keywords, or a python "module:function"(text) check.

A python check returns True (trip, with the spec's message), a str (trip with that message), or
None/False (pass). A check that raises trips too: a broken guardrail fails closed.

A `regex:` runs on RE2 (linear time, so no pattern can hang a run). A pattern RE2 cannot take
(backreferences, lookaround) runs with Python's `re` in a child process that is killed after
REGEX_TIME_LIMIT seconds (the check then trips) or as soon as the run is interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import re
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from agentcli.errors import ToolError
from agentcli.events import GuardrailChecked, now
from agentcli.runtime.imports import import_ref
from agentcli.runtime.tools.python_tool import run_in_daemon_thread
from agentcli.spec.model import AgentSpec, Guardrail

DEFAULT_INPUT_MESSAGE = "Sorry, I can't help with that."
DEFAULT_OUTPUT_MESSAGE = "I can't share that answer."
REGEX_TIME_LIMIT = 2.0  # seconds a pattern RE2 cannot take may run (in a child process)

# The child: pattern and text as JSON on stdin, "1" (match) or "0" on stdout.
_REGEX_CHILD = (
    "import json, re, sys; d = json.load(sys.stdin); "
    "sys.stdout.write('1' if re.search(d['p'], d['t'], re.IGNORECASE) else '0')"
)


@dataclass(slots=True)
class Verdict:
    tripped: bool
    message: str | None = None


def compile_re2(pattern: str) -> Any | None:
    """The pattern compiled by RE2 (case-insensitive), or None when RE2 is missing or refuses it."""
    try:
        import re2  # google-re2; lazy: only specs with regex guardrails pay for it
    except ImportError:  # pragma: no cover - a declared dependency; the child-process path still works
        return None
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # its C++ logger would print to the user's stderr
    try:
        return re2.compile(pattern, options)
    except re2.error:
        return None


async def search_in_child(pattern: str, text: str, limit: float) -> bool | None:
    """Python's `re.search` in a child process: True/False, or None when it ran out of time (or failed).
    The child is killed on timeout and on cancellation (Ctrl-C), so nothing keeps spinning."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-S", "-c", _REGEX_CHILD,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        payload = json.dumps({"p": pattern, "t": text}).encode()
        out, _ = await asyncio.wait_for(proc.communicate(payload), limit)
    except TimeoutError:
        return None
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(BaseException):
                await asyncio.shield(proc.wait())
    answer = out.strip()
    return None if answer not in (b"0", b"1") else answer == b"1"  # a child that failed fails closed


class GuardrailCheck:
    def __init__(self, guardrail: Guardrail, stage: str, base_dir: str):
        self.name = guardrail.label
        self.stage = stage
        default = DEFAULT_INPUT_MESSAGE if stage == "input" else DEFAULT_OUTPUT_MESSAGE
        self.message = guardrail.message or default
        self._pattern: Any | None = None  # re.Pattern or an RE2 pattern: both have .search()
        self._slow_regex: str | None = None  # a pattern only Python's re takes: run in a child process
        self._fn: Callable[[str], Any] | None = None
        if guardrail.regex:
            self._pattern = compile_re2(guardrail.regex)
            if self._pattern is None:
                self._slow_regex = guardrail.regex
        elif guardrail.keywords:
            # literal alternatives between lookarounds: no nested quantifier, so Python's re is linear here
            words = "|".join(re.escape(k) for k in guardrail.keywords if k)
            self._pattern = re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE) if words else None
        elif guardrail.python:
            try:
                self._fn = import_ref(guardrail.python, base_dir)
            except (ImportError, AttributeError, TypeError) as e:
                raise ToolError(f"{stage} guardrail {guardrail.python}: {e}") from None

    async def check(self, text: str) -> Verdict:
        if self._slow_regex is not None:
            found = await search_in_child(self._slow_regex, text, REGEX_TIME_LIMIT)
            hit = found is not False  # ran out of time: fail closed, like a check that raises
            return Verdict(hit, self.message if hit else None)
        if self._pattern is not None:
            hit = self._pattern.search(text) is not None
            return Verdict(hit, self.message if hit else None)
        if self._fn is None:
            return Verdict(False)
        try:
            if inspect.iscoroutinefunction(self._fn):
                result = await self._fn(text)
            else:
                result = await run_in_daemon_thread(self._fn, text)
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
    def build(stage: str, guardrails: list[Guardrail]) -> list[GuardrailCheck]:
        checks = []
        for i, guardrail in enumerate(guardrails):
            try:
                checks.append(GuardrailCheck(guardrail, stage, base_dir))
            except ToolError as e:  # point at the spec line, as spec errors do
                raise ToolError(agent.where((f"{stage}_guardrails", i, "python"), str(e))) from None
        return checks

    return Guardrails(input=build("input", agent.input_guardrails), output=build("output", agent.output_guardrails))


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
