"""The chat REPL: read a line, run a turn, repeat. Ctrl-C cancels the answer in flight (not the REPL);
Ctrl-D or /exit quits. History is saved after every turn."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentcli.app.run import Run

HELP_TEXT = """Commands:
  /help    this help
  /reset   forget the conversation so far (start over with the entry agent)
  /agent   show which agent is answering
  /exit    quit (also Ctrl-D)
Ctrl-C cancels the answer in flight."""


def _read_line(prompt: str) -> str | None:
    """One line from the terminal, the prompt on the terminal. With stdout on a terminal, readline edits
    the line (it writes the prompt to stdout, which is then the terminal); with stdout redirected
    (`agent chat | tee log`) the prompt goes to stderr so that stdout carries only answers."""
    if not _stdout_is_terminal():
        sys.stderr.write(prompt)
        sys.stderr.flush()
        line = sys.stdin.readline()
        return line.rstrip("\n") if line else None
    try:
        import readline  # noqa: F401 - line editing and history for input()
    except ImportError:  # pragma: no cover - not on every platform
        pass
    try:
        return input(prompt)
    except EOFError:
        return None


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _line_buffer() -> str:
    """What the user has typed at the prompt so far (readline's buffer), to redraw it."""
    if not _stdout_is_terminal():
        return ""
    try:
        import readline

        return readline.get_line_buffer()
    except (ImportError, AttributeError):  # pragma: no cover - not on every platform
        return ""


class Repl:
    def __init__(self, run: Run, runner: Any) -> None:
        self.run_ = run
        self.runner = runner
        self.conversation = run.conversation
        self.renderer = run.renderer
        self.spec = run.spec
        self._turn: asyncio.Task[Any] | None = None
        self._pending: asyncio.Future[str | None] | None = None
        self._shown_prompt = "› "

    def _say(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def prompt(self) -> str:
        """`› `, or `agent › ` when the spec has several agents, so a handoff shows in the prompt."""
        if len(self.spec.agents) > 1:
            return f"{self.conversation.agent} › "
        return "› "

    def _on_sigint(self) -> None:
        if self._turn is not None and not self._turn.done():
            self._turn.cancel()
        else:
            # the reading thread still waits for this line: say how to quit, then redraw the prompt and
            # what was typed so far, on a fresh line, where readline goes on editing it
            out = sys.stdout if _stdout_is_terminal() else sys.stderr
            sys.stderr.write("\n(Ctrl-D or /exit to quit)\n")
            sys.stderr.flush()
            out.write(self._shown_prompt + _line_buffer())
            out.flush()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGINT, self._on_sigint)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-main thread / Windows
            pass
        self._say(f"agent · {self.conversation.agent} · session {self.conversation.name} · /help, Ctrl-D quits")
        try:
            while True:
                line = await self._next_line(loop)
                if line is None:
                    self._say("")
                    return
                line = line.strip()
                if not line:
                    continue
                if line.startswith("/"):
                    if not self._command(line):
                        return
                    continue
                await self._run_turn(line)
        finally:
            try:
                loop.remove_signal_handler(signal.SIGINT)
            except (NotImplementedError, RuntimeError):  # pragma: no cover
                pass

    async def _next_line(self, loop: asyncio.AbstractEventLoop) -> str | None:
        # A Ctrl-C at the prompt leaves the reading thread waiting; the next line still arrives here.
        if self._pending is None:
            self._shown_prompt = self.prompt()
            self._pending = loop.run_in_executor(None, _read_line, self._shown_prompt)
        try:
            return await self._pending
        finally:
            if self._pending.done():
                self._pending = None

    def _command(self, line: str) -> bool:
        """Handle a /command; False means quit."""
        name = line.split()[0].lower()
        if name in ("/exit", "/quit", "/q"):
            return False
        if name == "/help":
            self._say(HELP_TEXT)
        elif name == "/reset":
            self.conversation.items.clear()
            self.conversation.turns = 0
            self.conversation.agent = self.spec.entry
            self.run_.save()
            self._say("(conversation reset)")
        elif name == "/agent":
            self._say(f"agent: {self.conversation.agent}")
        else:
            self._say(f"unknown command {name}; /help lists them")
        return True

    async def _run_turn(self, text: str) -> None:
        from agentcli.app.chat import chat_turn

        self._turn = asyncio.create_task(chat_turn(self.run_, self.runner, text))
        try:
            await self._turn
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the REPL itself is being cancelled
            self.renderer.cancelled()
        finally:
            self._turn = None
