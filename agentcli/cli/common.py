"""What every command shares on the CLI side: the spec argument, one error line and an exit code, and
running a run's coroutine (Ctrl-C and SIGTERM end it cleanly). The run itself is `agentcli.app`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, NoReturn

from agentcli.errors import AgentCliError

if TYPE_CHECKING:
    from agentcli.spec.model import Spec


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr and an exit code; never a traceback."""
    import typer

    from agentcli.redact import redact_text
    from agentcli.terminal_text import show_controls  # a server's or a tool's words may be in the message

    print(f"agent: error: {show_controls(redact_text(message))}", file=sys.stderr)  # a server may echo the key
    raise typer.Exit(code)




def load_spec_arg(spec_arg: str | None, *, stdin_text: str | None = None) -> Spec:
    """SPEC argument -> Spec: a path, `-` (stdin), or nothing ($AGENT_SPEC, else the built-in assistant).
    A broken spec prints every problem as `path:line:col: field: message` and exits 2."""
    from agentcli.errors import SpecError
    from agentcli.spec.loader import resolve_spec

    try:
        return resolve_spec(spec_arg, stdin_text=stdin_text)
    except SpecError as e:
        for line in e.problems:
            print(line, file=sys.stderr)
        import typer

        raise typer.Exit(2) from None


def run_async(coro: Coroutine[Any, Any, int]) -> int:
    """Run the command's coroutine; map errors to one line + exit code, Ctrl-C and SIGTERM to 130.
    SIGTERM cancels the run like Ctrl-C does, so it closes everything it opened (turns, recordings, the
    conversation and the trace are kept)."""
    import typer

    terminated: list[bool] = []

    async def main() -> int:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()

        def on_term() -> None:
            terminated.append(True)
            if task is not None:
                task.cancel()

        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows / off the main thread
            loop.add_signal_handler(signal.SIGTERM, on_term)
        return await coro

    try:
        code = asyncio.run(main())
    except KeyboardInterrupt:
        print("agent: interrupted", file=sys.stderr)
        raise typer.Exit(130) from None
    except asyncio.CancelledError:
        print("agent: terminated" if terminated else "agent: interrupted", file=sys.stderr)
        raise typer.Exit(130) from None
    except AgentCliError as e:
        fail(str(e), e.exit_code)
    if code:
        raise typer.Exit(code)
    return 0
