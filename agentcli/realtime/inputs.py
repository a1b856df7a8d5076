"""What the user types during a realtime session, by kind of stdin.

- a terminal with --ptt: keys (agentcli/voice/keys.py): Space/Enter on an empty line toggles talking,
  other text is a typed line; Ctrl-D quits.
- a terminal otherwise: whole lines (the terminal's own line editing); Ctrl-D quits.
- a pipe: each line is sent once the previous answer is over; the end of the pipe ends the session
  once it is quiet (as Ctrl-D does).

And `--input FILE`: checked up front (`check_input_audio`) so that a file with nothing to answer is one
clear error, not a session that ends with no output.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from typing import Any

from agentcli.app.approval import TypedAnswer
from agentcli.input_text import stdin_empty_from_start

MIN_INPUT_MS = 100  # the API commits no less
SILENCE_DBFS = -60.0  # a file whose loudest 10 ms stays below this has no speech in it


def check_input_audio(path: str, samples: Any, rate: int) -> None:
    """Refuse an input file that cannot make a turn: empty, shorter than the API takes, or silent."""
    import numpy as np

    from agentcli.errors import AudioError

    ms = samples.shape[0] * 1000 / rate
    if samples.shape[0] == 0:
        raise AudioError(f"{path}: no audio in the file")
    if ms < MIN_INPUT_MS:
        raise AudioError(f"{path}: {ms:.0f} ms of audio is too short to be a turn (at least {MIN_INPUT_MS} ms)")
    frame = max(1, rate // 100)
    usable = samples[: samples.shape[0] // frame * frame].astype(np.float32).reshape(-1, frame)
    peak_rms = float(np.sqrt(np.max(np.mean(usable * usable, axis=1)))) if usable.size else 0.0
    if peak_rms <= 10 ** (SILENCE_DBFS / 20):
        raise AudioError(f"{path}: the file is silent: there is nothing to answer")


class TerminalInput:
    def __init__(self, session: Any, stop: asyncio.Event, *, ptt: bool):
        self.session = session
        self.stop = stop
        self.ptt = ptt
        self._keys: Any = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.answers = TypedAnswer()  # a question (tool approval) is answered by the next typed line

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def start(self) -> None:
        if self.ptt:
            from agentcli.voice.keys import KeyReader

            self._keys = KeyReader(on_toggle=self._toggle, on_line=self._line, on_eof=self.stop.set)
            self._keys.start()
            print(
                "push-to-talk: Space or Enter to talk, again to send; type a line to send text; Ctrl-D quits",
                file=sys.stderr,
                flush=True,
            )
            return
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sys.stdin.fileno(), self._readable)

    def _toggle(self) -> None:
        self._spawn(self.session.ptt_release() if self.session.talking else self.session.ptt_press())

    async def ask(self, question: str) -> str:
        """Ask on the terminal; the next typed line is the answer (not a message to the agent)."""
        return await self.answers.ask(question)

    def _line(self, line: str) -> None:
        if self.answers.take(line):
            return
        if line.strip():
            self._spawn(self.session.send_text(line.strip()))

    def _readable(self) -> None:
        line = sys.stdin.readline()
        if not line:
            self.stop.set()
            return
        self._line(line)

    def close(self) -> None:
        if self._keys is not None:
            self._keys.stop()
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(sys.stdin.fileno())
        for task in self._tasks:
            task.cancel()


async def piped_lines(session: Any, *, stop: asyncio.Event, mic: bool = False) -> None:
    """Send each piped line as a user message, one answer at a time; the end of the pipe ends the
    session once it is quiet (like Ctrl-D on a terminal). A stdin empty from the start (`< /dev/null`,
    nohup, a service manager) sends nothing: with a microphone, that is the input, until Ctrl-C or SIGTERM."""
    from agentcli import events as ev

    empty = stdin_empty_from_start()
    lines = _stdin_lines()
    sent = 0
    while (line := await lines.get()) is not None:
        sent += 1
        if line.strip():
            await session.ready.wait()
            await session.wait_idle()
            await session.send_text(line.strip())
    if not sent and mic and empty:
        session.emit(ev.Notice(message="nothing on stdin: listening to the microphone until Ctrl-C"))
        return
    await session.wait_quiet()
    if sent:
        session.emit(ev.Notice(message="end of the piped input: its answers are done, ending the session"))
    stop.set()


def _stdin_lines() -> asyncio.Queue[str | None]:
    """Lines of stdin from a daemon thread (a thread blocked in readline must not hold up the exit)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        try:
            for line in sys.stdin:
                loop.call_soon_threadsafe(queue.put_nowait, line)
        except (OSError, ValueError, RuntimeError):
            pass
        with contextlib.suppress(RuntimeError):  # the loop may be closed already
            loop.call_soon_threadsafe(queue.put_nowait, None)

    if sys.stdin is None or sys.stdin.closed:
        queue.put_nowait(None)
    else:
        threading.Thread(target=read, name="stdin-lines", daemon=True).start()
    return queue
