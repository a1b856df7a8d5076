"""Push-to-talk keys: the terminal in cbreak mode, read key by key from the event loop.

Space or Enter on an empty line toggles recording; any other text is collected as a typed line (shown on
stderr) and Enter sends it; Backspace edits; Ctrl-D on an empty line quits. Ctrl-C still raises SIGINT.
The terminal's settings are restored on stop(), whatever happened.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from typing import Any


class KeyReader:
    def __init__(self, on_toggle: Callable[[], None], on_line: Callable[[str], None],
                 on_eof: Callable[[], None], fd: int | None = None, echo: Any = None) -> None:
        self.on_toggle = on_toggle
        self.on_line = on_line
        self.on_eof = on_eof
        self.fd = sys.stdin.fileno() if fd is None else fd
        self.echo = echo or sys.stderr
        self.line = ""
        self._saved: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending = b""  # bytes of a multi-byte character not complete yet

    def start(self) -> None:
        import termios
        import tty

        self._saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd, termios.TCSANOW)  # TCSANOW: keys typed already are kept (TCSAFLUSH drops them)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.fd, self._readable)

    def stop(self) -> None:
        import termios

        if self._loop is not None:
            self._loop.remove_reader(self.fd)
            self._loop = None
        if self._saved is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            self._saved = None

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 1024)
        except OSError:
            data = b""
        if not data:
            self.on_eof()
            return
        text = (self._pending + data).decode("utf-8", "ignore")
        self._pending = b"" if text else self._pending + data
        for ch in text:
            self.key(ch)

    def key(self, ch: str) -> None:
        """Handle one key (public so tests can drive it without a terminal)."""
        if ch in (" ", "\r", "\n") and not self.line:
            self.on_toggle()
        elif ch in ("\r", "\n"):
            line, self.line = self.line, ""
            self._show("\n")
            self.on_line(line)
        elif ch == "\x04":  # Ctrl-D
            if not self.line:
                self.on_eof()
        elif ch in ("\x7f", "\b"):
            if self.line:
                self.line = self.line[:-1]
                self._show("\b \b")
        elif ch == "\x1b" or ch < " ":
            return  # escape sequences and other controls: ignored
        else:
            if not self.line:
                self._show("› ")
            self.line += ch
            self._show(ch)

    def _show(self, text: str) -> None:
        try:
            self.echo.write(text)
            self.echo.flush()
        except (OSError, ValueError):
            pass
