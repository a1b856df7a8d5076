"""A live voice session: the microphone, turn taking (push-to-talk or hands-free), barge-in, typed lines.

Hands-free (--vad): handsfree.py decides when a turn ends (answers are prepared at short pauses and
committed when the turn is over) and when talking over an answer interrupts it (playback pauses at once,
resumes after a cough). The microphone goes through the acoustic front end (audio/frontend.py: the echo of
what the player really played is cancelled, then noise); while the assistant plays, blocks only count as
speech when the echo guard behind it lets them (--headphones turns echo handling off).
Push-to-talk: Space or Enter starts recording, again stops; starting to talk cuts the assistant off.
A typed line is sent as text in both modes. End of input (Ctrl-D) ends the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from typing import Any

import numpy as np

from agentcli import events as ev
from agentcli.app.approval import Asker, TypedAnswer
from agentcli.app.consumers import Renderer, RendererBase
from agentcli.errors import error_kind
from agentcli.input_text import stdin_empty_from_start
from agentcli.spec.model import InterruptionSettings, TurnSettings, VadSettings
from agentcli.voice.options import VoiceOptions
from agentcli.voice.pipeline import TurnInput, VoiceContext, VoiceTurn

STT_RATE = 16000
BLOCK_MS = 20  # mic blocks of one default VAD frame: 10 ms blocks cost ~1.5 % more CPU while listening


class LiveSession:
    def __init__(self, ctx: VoiceContext, opts: VoiceOptions, vad: VadSettings,
                 renderer: Renderer | None = None, asker: Asker | None = None,
                 turn: TurnSettings | None = None, interruption: InterruptionSettings | None = None) -> None:
        from agentcli.audio.frontend import FrontEnd
        from agentcli.audio.mic import Recorder
        from agentcli.voice.run import live_mode

        self.ctx = ctx
        self.opts = opts
        self.vad = vad
        self.renderer: Renderer = renderer or RendererBase()
        self.asker = asker  # approval questions are answered by the next typed line, not a second reader
        self.answers = TypedAnswer()  # a tool approval is answered by the next typed line
        self.mode = live_mode(opts)
        # the acoustic front end: the echo of what the player really played is cancelled (not with
        # --headphones), then noise; the energy guard stays behind it (and alone without the wheel)
        front = FrontEnd(STT_RATE, far_end=getattr(ctx.sink, "far_end", None), echo=not opts.headphones,
                         echo_ratio=vad.echo_ratio)
        self.mic = Recorder(opts.input_device, rate=STT_RATE, block_ms=BLOCK_MS, frontend=front)
        self.guard = front.guard
        self.hands_free: Any = None
        if self.mode == "vad":
            from agentcli.voice.handsfree import HandsFree

            self.hands_free = HandsFree(self, vad, turn or TurnSettings(), interruption or InterruptionSettings(),
                                        STT_RATE)
        self.turn: VoiceTurn | None = None  # the latest committed turn
        self._turn_task: asyncio.Task[None] | None = None
        self._ptt_blocks: list[np.ndarray] | None = None  # recording while not None (push-to-talk)
        self._quit = asyncio.Event()

    # -- the loop ------------------------------------------------------------------------------------
    async def run(self) -> int:
        self.mic.start()  # a missing device fails here, before any prompt
        tasks = [asyncio.create_task(self._mic_loop())]
        keys = None
        if self.mode == "ptt":
            from agentcli.voice.keys import KeyReader

            keys = KeyReader(on_toggle=self._toggle, on_line=self._typed, on_eof=self._quit.set)
            keys.start()
        else:
            tasks.append(asyncio.create_task(self._line_loop()))
        self.renderer.set_meter(self.meter)  # push-to-talk and hands-free alike
        if self.asker is not None:
            self.asker.owner = self.answers.ask
        self.ctx.set_state("listening")  # only now: keys and the microphone are live
        self._hint()
        try:
            await self._quit.wait()
            if self.hands_free is not None:
                self.hands_free.commit()  # what the user said before the end of input is answered
            if self._turn_task is not None and not self._turn_task.done():
                await asyncio.wait([self._turn_task])
            return 0
        finally:
            if self.asker is not None:
                self.asker.owner = None
            if keys is not None:
                keys.stop()
            self.mic.stop()
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            if self._turn_task is not None and not self._turn_task.done():
                self._turn_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._turn_task

    def _hint(self) -> None:
        if self.mode == "ptt":
            self.renderer.hint("Space or Enter: talk / stop · type a line to send text · Ctrl-D quits")
        else:
            self.renderer.hint("hands-free: just talk · type a line to send text · Ctrl-D quits")

    @property
    def recording_ptt(self) -> bool:
        return self._ptt_blocks is not None

    def meter(self) -> tuple[bool, float]:
        """(recording, input level in dBFS) for a live level meter: hands-free always records."""
        return self.recording_ptt or self.mode == "vad", self.mic.level

    @property
    def detector(self) -> Any:
        return self.hands_free.detector if self.hands_free is not None else None

    async def _mic_loop(self) -> None:
        while (block := await self.mic.read()) is not None:
            if self._ptt_blocks is not None:
                self._ptt_blocks.append(block)
            if self.hands_free is not None:
                await self._detect(block)

    async def _detect(self, block: np.ndarray) -> None:
        sink = self.ctx.sink
        turn = self.turn
        # Our voice is in the mic while audio is queued and for a while after: the echo of what was handed
        # last is still on its way when the next sentence is not ready yet, or the answer has ended.
        # sink.energy spans the output latency and 100 ms more, so the guard judges that tail too.
        audible = not getattr(sink, "output_paused", False) and (not sink.drained or sink.energy > 0.0)
        playing = turn is not None and turn.active and audible
        allow = self.guard.allows(block, sink.energy) if audible else True
        await self.hands_free.feed(block, allow, playing)

    def _barge_in(self, turn: VoiceTurn | None, speech_at: float | None = None) -> None:
        """Interrupt `turn` if it is running (`speech_at`: perf_counter when the speech that interrupts
        began; default now): the sink is silent when this returns; the history rewrite finishes in the
        background (the next turn waits for it)."""
        if turn is None or not turn.active or turn.interrupting:
            return
        turn.interrupt(speech_at)

    # -- turns -----------------------------------------------------------------------------------------
    def _start_turn(self, turn_input: TurnInput) -> None:
        previous = self._turn_task
        turn = VoiceTurn(self.ctx, turn_input)
        self.turn = turn
        self._turn_task = asyncio.create_task(self._run_turn(turn, previous))

    def prepare(self, turn_input: TurnInput,
                previous: asyncio.Future[Any] | None) -> tuple[VoiceTurn, asyncio.Task[None]]:
        """A turn prepared ahead, not committed: it runs after `previous` and holds its answer back."""
        turn = VoiceTurn(self.ctx, turn_input, committed=False)
        task = asyncio.create_task(self._run_turn(turn, previous))
        self._turn_task = task
        return turn, task

    async def _run_turn(self, turn: VoiceTurn, previous: asyncio.Future[Any] | None) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait([previous])  # its events first, in order; not cancelled with us
        task = turn.start()
        try:
            result = await task
        except asyncio.CancelledError:
            if not turn.interrupting:
                raise
            await turn.interrupt()  # the history is rewritten before anything else happens
            result = turn.result
        except Exception as e:  # noqa: BLE001 - a failed turn ends the turn, not the session
            turn.emit(ev.ErrorEvent(message=str(e) or type(e).__name__, kind=error_kind(e)))
            result = turn.result
            result.status = "error"
            await turn.speaker.cancel()
            self.ctx.sink.flush()
        if self.turn is turn and self.ctx.state != "hearing":
            self.ctx.set_state("listening")

    # -- push-to-talk and typed lines ------------------------------------------------------------------
    def _toggle(self) -> None:
        if self._ptt_blocks is None:
            self._ptt_blocks = []
            if self.turn is not None and self.turn.active:
                self._barge_in(self.turn)
            self.ctx.set_state("hearing", self.ctx.upcoming_turn())
            return
        blocks, self._ptt_blocks = self._ptt_blocks, None
        audio = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
        if audio.shape[0] < STT_RATE * self.vad.min_utterance_ms // 1000:
            self.ctx.emit(ev.Notice(message="too short: hold the key down longer (press, talk, press again)"))
            self.ctx.set_state("listening")
            return
        self._start_turn(TurnInput(audio=audio, rate=STT_RATE, end_of_speech=time.perf_counter()))

    def _typed(self, line: str) -> None:
        if self.answers.take(line):
            return
        line = line.strip()
        if not line:
            return
        if self.hands_free is not None and self.hands_free.pending is not None:
            self._turn_task = self.hands_free.drop()  # the typed line replaces it
        self._barge_in(self.turn)
        self._start_turn(TurnInput(text=line))

    async def _line_loop(self) -> None:
        """Hands-free: lines typed on stdin are sent as text; end of input ends the session.
        A daemon thread reads, so a blocked read never holds up the exit (the executor's would)."""
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str] = asyncio.Queue()
        stdin = sys.stdin
        empty_from_start = stdin_empty_from_start()
        is_tty = stdin is not None and not stdin.closed and stdin.isatty()

        def read() -> None:
            while True:
                try:
                    line = stdin.readline() if stdin is not None else ""
                except (OSError, ValueError):
                    line = ""
                try:
                    loop.call_soon_threadsafe(lines.put_nowait, line)
                except RuntimeError:  # the loop is gone
                    return
                if not line:
                    return

        threading.Thread(target=read, name="voice-stdin", daemon=True).start()
        read_any = False
        while line := await lines.get():
            read_any = True
            self._typed(line)
        if not read_any and empty_from_start:
            # stdin at its end from the start (< /dev/null, nohup, a service): the microphone is the input
            self.ctx.emit(ev.Notice(message="nothing on stdin: listening to the microphone until Ctrl-C"))
            return
        if read_any and not is_tty:
            self.ctx.emit(ev.Notice(message="end of the piped input: ending the session after its answer"))
        self._quit.set()  # Ctrl-D on a terminal, or the end of a pipe

