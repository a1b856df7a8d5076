"""Tool approvals (`approve: true`): --yes approves all; on a terminal the user is asked through
whatever owns the terminal in this mode (the REPL, the voice key reader, the realtime line reader);
with no terminal the call is refused."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

Ask = Callable[[str], Awaitable[str | None]]
Approver = Callable[[str, str], Awaitable[bool]]


def shorten(text: str, limit: int = 120) -> str:
    """One line of at most `limit` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Asker:
    """Routes approval questions to the terminal's current owner. A mode that reads the terminal itself
    (key reader, line reader) sets `owner` while it runs, so no second reader races it for stdin; with
    no owner, the question is read from stdin here."""

    def __init__(self) -> None:
        self.owner: Ask | None = None

    async def __call__(self, question: str) -> str | None:
        if self.owner is not None:
            return await self.owner(question)
        return await asyncio.to_thread(_ask_stdin, question)


def make_approver(yes: bool, ask: Ask | None = None, *, interactive: bool | None = None) -> Approver:
    """An approver for tools marked `approve: true`. `interactive` defaults to stdin being a terminal."""

    async def approve(name: str, arguments: str) -> bool:
        if yes:
            return True
        on_terminal = sys.stdin is not None and sys.stdin.isatty() if interactive is None else interactive
        if not on_terminal:
            print(f"agent: tool {name} needs approval and there is no terminal to ask: refused (use --yes)",
                  file=sys.stderr)
            return False
        from agentcli.terminal_text import show_controls  # the user must see what they approve, escapes too

        question = f"Run tool {name} with {show_controls(shorten(arguments, 200))}? [y/N] "
        answer = await ask(question) if ask is not None else await asyncio.to_thread(_ask_stdin, question)
        return (answer or "").strip().lower() in ("y", "yes")

    return approve


def _ask_stdin(question: str) -> str:
    print(question, end="", file=sys.stderr, flush=True)
    return sys.stdin.readline()
