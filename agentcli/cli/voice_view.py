"""How `agent voice` shows a session: a Rich live view on a colour terminal, plain lines otherwise.

Both take voice (and realtime) events: state, the user's transcript as it arrives, the assistant's text
as it is spoken (TextDelta / SpeechDone, or TranscriptDelta role=assistant in realtime), tool calls,
handoffs, interruptions with heard ms, and each turn's latency. Rich is imported only by the live view.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, TextIO

from agentcli import events as ev
from agentcli.app.consumers import Meter, RendererBase
from agentcli.cli.render import JsonlRenderer, PlainRenderer, status_line
from agentcli.terminal_text import clean_event

STATE_LABELS = {"listening": "● listening", "hearing": "◉ hearing you", "thinking": "… thinking",
                "speaking": "♪ speaking", "idle": "· idle"}
_LATENCY_ORDER = ("transcript_final", "first_token", "first_sentence", "first_audio_byte", "end_of_turn",
                  "first_sample_played")
_LATENCY_NAMES = {"transcript_final": "transcript", "first_token": "token", "first_sentence": "sentence",
                  "first_audio_byte": "audio byte", "end_of_turn": "end of turn", "first_sample_played": "played"}


def make_renderer(*, jsonl: bool, quiet: bool, live: bool = True, hold: bool = False) -> RendererBase:
    """--jsonl: events as JSON lines; a colour TTY in a live session: VoiceView; else plain lines."""
    from agentcli.cli.term import color_allowed

    if jsonl:
        return JsonlRenderer()
    if live and color_allowed(sys.stdout):
        return VoiceView(quiet=quiet)
    return PlainVoiceRenderer(quiet=quiet, hold=hold)


def latency_line(marks: dict[str, float]) -> str:
    """"latency: transcript 120 · token 310 · ... ms" from a TurnLatency's marks."""
    parts = [f"{_LATENCY_NAMES[k]} {marks[k]:.0f}" for k in _LATENCY_ORDER if k in marks]
    return "latency: " + " · ".join(parts) + " ms" if parts else "latency: -"


def meter_bar(level_db: float, width: int = 20) -> str:
    """A level meter: -60 dBFS and below empty, 0 dBFS full."""
    filled = max(0, min(width, int((level_db + 60.0) / 60.0 * width)))
    return "▮" * filled + "▯" * (width - filled)


class PlainVoiceRenderer(RendererBase):
    """Pipes and NO_COLOR: the answer on stdout (as chat prints it), the rest as status lines on stderr."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, quiet: bool = False,
                 hold: bool = False) -> None:
        self.err = err or sys.stderr
        self.quiet = quiet
        # hold: the answer may still be replaced (output guardrails), so print it only once the turn is done
        self.text = PlainRenderer(out=out, err=self.err, quiet=quiet, stream=not hold)
        self._meter_task: asyncio.Task[None] | None = None

    def _status(self, line: str) -> None:
        if not self.quiet:
            print(line, file=self.err, flush=True)

    def __call__(self, event: ev.Event) -> None:
        event = clean_event(event)  # model, tool and server text: no escape sequences reach the terminal
        if isinstance(event, ev.TranscriptDone) and event.role == "user":
            self._status(f"you: {event.text}")
        elif isinstance(event, ev.TranscriptDelta) and event.role == "user":
            return  # the user's words are shown once final
        elif isinstance(event, ev.Interrupted):
            self.text(ev.TurnDone(status="interrupted"))  # ends the cut-off answer's line
            self.text(event)
        elif isinstance(event, ev.TurnLatency):
            self._status("· " + latency_line(event.marks))
        elif isinstance(event, ev.SpeechDone | ev.StateChanged | ev.SessionStarted | ev.SessionEnded):
            return
        else:
            self.text(event)

    def hint(self, text: str) -> None:
        self._status(f"· {text}")

    def set_meter(self, meter: Meter | None) -> None:
        """Show a live input level on stderr while push-to-talk records (only on a terminal)."""
        if meter is None or self.quiet or not self.err.isatty():
            return
        self._meter_task = asyncio.get_running_loop().create_task(self._show_meter(meter))

    async def _show_meter(self, meter: Meter) -> None:
        shown = False
        while True:
            recording, level = meter()
            if recording:
                self.err.write(f"\r● rec {meter_bar(level)} {level:6.1f} dB ")
                self.err.flush()
                shown = True
            elif shown:
                self.err.write("\r" + " " * 40 + "\r")
                self.err.flush()
                shown = False
            await asyncio.sleep(0.1)

    def close(self) -> None:
        if self._meter_task is not None:
            self._meter_task.cancel()


class VoiceView(RendererBase):
    """The Rich live view: a status bar (state, level meter), the turn in progress (your words as they
    are recognised, the assistant's as they are spoken) and finished turns scrolled above it."""

    def __init__(self, console: Any = None, quiet: bool = False) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = console or Console(highlight=False)
        self.quiet = quiet
        self.state = "idle"
        self.user = ""
        self.assistant = ""  # spoken so far
        self.pending = ""  # generated, not spoken yet
        self.agent = ""
        self._meter: Meter | None = None
        self._live = Live(console=self.console, refresh_per_second=12, transient=True,
                          get_renderable=self._render)
        self._live.start()

    def set_meter(self, meter: Meter | None) -> None:
        self._meter = meter

    def hint(self, text: str) -> None:
        from rich.text import Text

        if not self.quiet:
            self._print(Text(f"· {text}", style="dim"))

    def _render(self) -> Any:
        from rich.console import Group
        from rich.text import Text

        bar = Text(STATE_LABELS.get(self.state, self.state), style="bold cyan")
        if self.agent:
            bar.append(f"  {self.agent}", style="dim")
        if self._meter is not None:
            recording, level = self._meter()
            if recording:
                bar.append(f"  ● rec {meter_bar(level)}", style="red")
        parts: list[Any] = [bar]
        if self.user:
            parts.append(Text.assemble(("you: ", "bold green"), self.user))
        if self.assistant or self.pending:
            said = Text.assemble(("assistant: ", "bold magenta"), self.assistant, (self.pending, "dim"))
            parts.append(said)
        return Group(*parts)

    def _print(self, text: Any) -> None:
        self._live.console.print(text)

    def _commit_turn(self) -> None:
        """Move the finished turn's text above the live region."""
        from rich.text import Text

        if self.user:
            self._print(Text.assemble(("you: ", "bold green"), self.user))
        said = (self.assistant + self.pending).strip()
        if said:
            self._print(Text.assemble(("assistant: ", "bold magenta"), said))
        self.user = self.assistant = self.pending = ""

    def __call__(self, event: ev.Event) -> None:
        from rich.text import Text

        event = clean_event(event)  # model, tool and server text: no escape sequences reach the terminal
        if isinstance(event, ev.StateChanged):
            self.state = event.state
        elif isinstance(event, ev.SessionStarted):
            self.agent = event.agent
        elif isinstance(event, ev.TurnStarted):
            self.agent = event.agent or self.agent
        elif isinstance(event, ev.TranscriptDelta):
            if event.role == "user":
                self.user += event.delta
            else:
                self.assistant += event.delta
        elif isinstance(event, ev.TranscriptDone):
            if event.role == "user":
                self.user = event.text
        elif isinstance(event, ev.TextDelta):
            self.pending += event.delta
        elif isinstance(event, ev.SpeechDone) and event.status == "ok":
            self._spoken(event.text)
        elif isinstance(event, ev.Interrupted):
            self.pending = ""
            self.assistant = event.heard_text or self.assistant
            self._commit_turn()
            self._print(Text(f"· interrupted after {event.heard_ms:.0f} ms heard", style="yellow"))
        elif isinstance(event, ev.TurnLatency):
            self._commit_turn()
            if not self.quiet:
                self._print(Text("· " + latency_line(event.marks), style="dim"))
        elif isinstance(event, ev.ErrorEvent):
            if not event.fatal:  # a fatal error is printed once, by the CLI, as the run ends
                self._print(Text(f"error: {event.message}", style="bold red"))
        elif isinstance(event, ev.TurnDone) and event.status == "guardrail":
            self._print(Text(f"{event.error}", style="yellow"))
        elif not self.quiet:
            line = status_line(event)
            if line:
                self._print(Text(line, style="dim"))

    def _spoken(self, text: str) -> None:
        """A sentence was handed to the speaker: move it from pending to spoken (best effort: the pending
        text is raw Markdown, the spoken one is plain)."""
        self.assistant += ("" if not self.assistant else " ") + text
        cut = _common_prefix_end(self.pending, text)
        self.pending = self.pending[cut:].lstrip() if cut else self.pending

    def close(self) -> None:
        self._commit_turn()
        self._live.stop()


def _common_prefix_end(pending: str, spoken: str) -> int:
    """Where `spoken`'s last word ends in `pending` (0 when it cannot be found)."""
    words = spoken.split()
    if not words:
        return 0
    i = pending.find(words[-1])
    return i + len(words[-1]) if i >= 0 else 0
