"""Chat's driver: one user turn through the runner, its events out through the run."""

from __future__ import annotations

import asyncio
from typing import Any

from agentcli import events as ev
from agentcli.app.run import Run


async def chat_turn(run: Run, runner: Any, text: str) -> ev.TurnDone:
    """Run one user turn; save the conversation; return its TurnDone. A turn cancelled midway (Ctrl-C in
    the REPL) still ends with a TurnDone, status `interrupted`, so traces and consumers see it end."""
    done: ev.TurnDone | None = None
    started: ev.TurnStarted | None = None
    try:
        async for event in runner.run_turn(run.conversation, text):
            run.emit(event)
            if isinstance(event, ev.TurnStarted):
                started = event
            elif isinstance(event, ev.TurnDone):
                done = event
    except asyncio.CancelledError:
        if started is not None and done is None:
            run.emit(ev.TurnDone(turn=started.turn, agent=started.agent, status="interrupted", interrupted=True,
                                 error="cancelled by the user"))
        raise
    run.save()
    assert done is not None, "the runner always ends a turn with TurnDone"
    return done
