"""Output guardrails on a realtime answer as it grows: checked at most every `debounce_s`, and once more
on the final text. Only verdicts are events: a trip (at once) or the final pass (once per answer)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from agentcli.events import Event, GuardrailChecked, now
from agentcli.runtime.guardrails import GuardrailCheck, Verdict

DEBOUNCE_S = 0.25

OnTrip = Callable[[str, Verdict], Awaitable[None]]  # (guardrail name, verdict)


class OutputGuard:
    def __init__(
        self,
        checks: list[GuardrailCheck],
        agent: str,
        emit: Callable[[Event], None],
        on_trip: OnTrip,
        debounce_s: float = DEBOUNCE_S,
    ):
        self.checks = checks
        self.agent = agent
        self.emit = emit
        self.on_trip = on_trip
        self.debounce_s = debounce_s
        self.tripped = False
        self._text = ""
        self._checked = ""
        self._task: asyncio.Task[None] | None = None

    def feed(self, text: str) -> None:
        """The answer so far; a check runs within `debounce_s` (not on every delta)."""
        if not self.checks or self.tripped:
            return
        self._text = text
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._later())

    async def _later(self) -> None:
        await asyncio.sleep(self.debounce_s)
        await self._check(self._text, final=False)

    async def final(self, text: str) -> bool:
        """Check the whole answer now; True when a guardrail tripped (now or earlier)."""
        self.cancel()
        if not self.checks or self.tripped:
            return self.tripped
        return await self._check(text, final=True)

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None

    async def _check(self, text: str, *, final: bool) -> bool:
        if self.tripped or (text == self._checked and not final):
            return self.tripped
        self._checked = text
        for check in self.checks:
            started = now()
            verdict = await check.check(text)
            if verdict.tripped:
                self.tripped = True
                self.emit(
                    GuardrailChecked(
                        agent=self.agent,
                        name=check.name,
                        stage="output",
                        tripped=True,
                        message=verdict.message,
                        started=started,
                    )
                )
                with contextlib.suppress(asyncio.CancelledError):
                    await self.on_trip(check.name, verdict)
                return True
            if final:
                self.emit(
                    GuardrailChecked(agent=self.agent, name=check.name, stage="output", tripped=False, started=started)
                )
        return False
