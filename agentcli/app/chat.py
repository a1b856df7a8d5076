"""Chat's driver: one user turn through the runner, its events out through the run."""

from __future__ import annotations

import asyncio
from typing import Any

from agentcli import events as ev
from agentcli.app.run import Run
from agentcli.runtime.open_turn import OpenTurn


async def chat_turn(run: Run, runner: Any, text: str) -> ev.TurnDone:
    """Run one user turn; save the conversation; return its TurnDone. A turn cancelled midway (Ctrl-C in
    the REPL) still ends with a TurnDone, status `interrupted`, after a cancelled ToolCallFinished for each
    tool call it left running, so traces and consumers see it end."""
    done: ev.TurnDone | None = None
    turn = OpenTurn()
    try:
        async for event in runner.run_turn(run.conversation, text):
            run.emit(event)
            turn.note(event)
            if isinstance(event, ev.TurnDone):
                done = event
    except asyncio.CancelledError:
        for event in turn.cut("cancelled by the user"):
            run.emit(event)
        raise
    run.save()
    assert done is not None, "the runner always ends a turn with TurnDone"
    return done
