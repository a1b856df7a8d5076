"""The Rich renderer for the chat REPL on a colour TTY: the answer streams as live Markdown,
tool calls and handoffs show as compact dim lines, errors in red. Imported only on a TTY."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown
from rich.text import Text

from agentcli import events as ev
from agentcli.app.consumers import RendererBase
from agentcli.cli.render import output_text, status_line
from agentcli.terminal_text import clean_event


class RichRenderer(RendererBase):
    def __init__(self, console: Console | None = None, quiet: bool = False) -> None:
        self.console = console or Console(stderr=False, highlight=False)
        self.quiet = quiet
        self._text = ""
        self._last_generation = ""  # what the latest generation streamed, to spot a replaced answer
        self._live: Live | None = None

    # -- live region -------------------------------------------------------------------------------
    def _update(self) -> None:
        if self._live is None:
            self._live = Live(console=self.console, refresh_per_second=15, transient=False,
                              vertical_overflow="visible")
            self._live.start()
        self._live.update(Markdown(self._text))

    def stop_live(self) -> None:
        """Freeze what is on screen (before a prompt, a status line, or at the end of a turn)."""
        if self._live is not None:
            self._live.update(Markdown(self._text))
            self._live.stop()
            self._live = None
            self._text = ""

    # -- events ------------------------------------------------------------------------------------
    def __call__(self, event: ev.Event) -> None:
        event = clean_event(event)  # model, tool and server text: no escape sequences reach the terminal
        if isinstance(event, ev.TextDelta):
            self._text += event.delta
            self._update()
        elif isinstance(event, ev.GenerationDone):
            self._last_generation = self._text
            self.stop_live()
        elif isinstance(event, ev.TurnDone):
            self._turn_done(event)
        elif isinstance(event, ev.ErrorEvent):
            if not event.fatal:  # a fatal error is printed once, by the CLI, as the run ends
                self.stop_live()
                self.console.print(Text(f"error: {event.message}", style="bold red"))
        elif not self.quiet:
            line = status_line(event)
            if line:
                self.stop_live()
                style = "yellow" if isinstance(event, ev.GuardrailChecked) else "dim"
                self.console.print(Text(line, style=style))

    def _turn_done(self, event: ev.TurnDone) -> None:
        self.stop_live()
        shown = self._last_generation.strip()
        self._last_generation = ""
        if event.status == "guardrail":
            self.console.print(Text(f"{event.error}", style="yellow"))
        elif event.status == "ok" and (not isinstance(event.output, str) or event.output.strip() != shown):
            # structured output, or an answer an output guardrail replaced after it streamed
            self._print_output(event.output)
        if event.usage.input_tokens or event.usage.output_tokens:
            self.console.print(
                Text(f"{event.agent} · {event.usage.input_tokens}+{event.usage.output_tokens} tokens",
                     style="dim")
            )

    def _print_output(self, output: Any) -> None:
        if isinstance(output, str):
            self.console.print(Markdown(output))
        else:
            from rich.syntax import Syntax

            self.console.print(Syntax(output_text(output), "json", theme="ansi_dark"))

    def hint(self, text: str) -> None:
        if not self.quiet:
            self.stop_live()
            self.console.print(Text(f"· {text}", style="dim"))

    def cancelled(self) -> None:
        self.stop_live()
        self.console.print(Text("[cancelled]", style="yellow"))
