"""A sign of life on stderr while the user waits for an answer: `⠋ thinking…`, redrawn in place and
erased before anything else is written. Only on a terminal (never in a pipe or a log)."""

from __future__ import annotations

import os
import sys
import threading
from typing import TextIO

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
INTERVAL_S = 0.1


def spinner_allowed(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


class Spinner:
    """`start(label)` shows it (a thread redraws it); `stop()` erases it. Both are cheap no-ops when it is
    not allowed or already in that state, so a renderer may call `stop()` before every write."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = spinner_allowed(self.stream) if enabled is None else enabled
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self.label = "thinking…"

    @property
    def running(self) -> bool:
        return self._stop is not None

    def start(self, label: str = "thinking…") -> None:
        if not self.enabled:
            return
        with self._lock:
            self.label = label
            if self._stop is not None:
                return
            self._stop = threading.Event()
            self._draw(0)
            self._thread = threading.Thread(target=self._spin, args=(self._stop,), daemon=True,
                                            name="agent-spinner")
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            if self._stop is None:
                return
            self._stop.set()
            self._stop = None
            self._write("\r\x1b[K")
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1)
        self._thread = None

    def _spin(self, stop: threading.Event) -> None:
        frame = 1
        while not stop.wait(INTERVAL_S):
            with self._lock:
                if stop.is_set():
                    return
                self._draw(frame)
            frame += 1

    def _draw(self, frame: int) -> None:
        self._write(f"\r{FRAMES[frame % len(FRAMES)]} {self.label}\x1b[K")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away; the spinner is not worth an error
            pass
