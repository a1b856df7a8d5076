"""A realtime session against the in-process simulator, no devices: the pieces the protocol tests share.

`Harness` runs a RealtimeSession (the real client) against a SimServer with a script, plays synthetic
speech into it, collects the session's events, and logs the wire (AGENT_REALTIME_LOG format) so tests
can check every client and server event against the openai package's types.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agentcli import events as ev
from agentcli.app.consumers import EventFanout
from agentcli.audio.sink import FileSink, Utterance
from agentcli.realtime.audio_io import OutputAudio
from agentcli.realtime.connection import EventLog, realtime_url
from agentcli.realtime.protocol import validate_client_event, validate_server_event
from agentcli.realtime.session import RealtimeSession, SessionOptions
from agentcli.runtime.conversation import Conversation
from agentcli.sim.script import parse_script
from agentcli.sim.server import SimServer
from agentcli.spec.loader import load_spec

SPECS = Path(__file__).parent / "specs"
RATE = 24000


def tone(seconds: float, amplitude: float = 0.3, freq: float = 220.0) -> np.ndarray:
    """Loud enough for the simulator's VAD to count as speech."""
    t = np.arange(int(RATE * seconds)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


class ClockSink:
    """A sink that "plays" in real time with no device: an utterance's heard ms is the wall time since
    its first write, capped at what was written; a flush hands it over as `handed` (and records it)."""

    rate = RATE

    def __init__(self) -> None:
        self.utterances: list[Utterance] = []
        self.flushes: list[tuple[str, float]] = []  # (utterance id, heard ms at the flush)
        self._current: Utterance | None = None
        self._t0: dict[int, float] = {}  # by utterance object: a resumed item is a new utterance, same id
        self._stopped: dict[int, float] = {}

    @property
    def energy(self) -> float:
        return 0.0

    @property
    def drained(self) -> bool:
        return True

    def heard(self, utt: Utterance) -> float:
        t0 = self._t0.get(id(utt))
        if t0 is None:
            return 0.0
        end = self._stopped.get(id(utt), time.perf_counter())
        return min(utt.queued * 1000 / RATE, (end - t0) * 1000)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def begin_utterance(self, id: str | None = None) -> Utterance:
        sink = self

        class _Clock:
            def _heard_frames(self, utt: Utterance) -> int:
                return int(sink.heard(utt) * RATE / 1000)

        self._current = Utterance(id=id or f"u{len(self.utterances)}", rate=RATE, _clock=_Clock())
        self.utterances.append(self._current)
        return self._current

    def end_utterance(self) -> None:
        if self._current is not None:
            self._current.ended = True

    def write(self, audio: bytes) -> float:
        utt = self._current or self.begin_utterance()
        if id(utt) not in self._t0:
            self._t0[id(utt)] = time.perf_counter()
            utt.first_sample_time = self._t0[id(utt)]
        n = len(audio) // 2
        utt.queued += n
        return n * 1000 / RATE

    def flush(self) -> float:
        utt = self._current
        if utt is not None:
            heard = self.heard(utt)
            self.flushes.append((utt.id, heard))
            self._stopped[id(utt)] = time.perf_counter()
            utt.handed = int(heard * RATE / 1000)  # what the "device" got before the flush
            utt.ended = True
        self._current = None
        return 0.0

    async def wait_drained(self) -> None:
        pass


@dataclass
class Harness:
    sim: SimServer
    session: RealtimeSession
    log_path: Path
    events: list[ev.Event] = field(default_factory=list)
    saved: list[int] = field(default_factory=list)
    runner: asyncio.Task[None] | None = None  # session.run()

    def of(self, kind: type[ev.Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def wire(self, direction: str) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]
        return [rec["event"] for rec in lines if rec["dir"] == direction]

    def sent(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.wire("sent") if e.get("type") == kind]

    def received(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.wire("received") if e.get("type") == kind]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            await asyncio.sleep(0.005)
        raise AssertionError(f"timed out waiting for {predicate}")

    async def say(self, seconds: float = 0.4, *, silence_after: float = 0.4, block_ms: int = 20) -> None:
        """Speech-like audio then silence, as fast as the socket takes it."""
        audio = np.concatenate([tone(seconds), np.zeros(int(RATE * silence_after), np.float32)])
        step = RATE * block_ms // 1000
        for i in range(0, audio.size, step):
            await self.session.send_audio(pcm16(audio[i : i + step]))
            await asyncio.sleep(0)

    async def speaking(self, count: int = 1, timeout: float = 5.0) -> None:
        """Until the `count`th answer has begun to play (the session says so: state `speaking`)."""
        await self.wait_for(lambda: len([e for e in self.of(ev.StateChanged) if e.state == "speaking"]) >= count,
                            timeout)

    async def turn_done(self, count: int, timeout: float = 5.0) -> ev.TurnDone:
        await self.wait_for(lambda: len(self.of(ev.TurnDone)) >= count, timeout)
        return self.of(ev.TurnDone)[count - 1]

    def validate_wire(self) -> tuple[int, int]:
        """Every event each way validates (strictly) against the openai realtime types."""
        sent = self.wire("sent")
        received = self.wire("received")
        for event in sent:
            validate_client_event(event)
        for event in received:
            validate_server_event(event)
        return len(sent), len(received)


@contextlib.asynccontextmanager
async def harness(
    tmp_path: Path,
    script: dict[str, Any] | None,
    spec: str = "realtime.yaml",
    *,
    sink: Any = "file",
    options: SessionOptions | None = None,
    approver: Any = None,
    conversation: Conversation | None = None,
    sim_route: Callable[..., Any] | None = None,
    session_kwargs: Callable[[SimServer], dict[str, Any]] | None = None,
) -> AsyncIterator[Harness]:
    loaded = load_spec(str(SPECS / spec))
    conv = conversation or Conversation(items=[], agent=loaded.entry, name="test")
    log_path = tmp_path / "wire.jsonl"
    log = EventLog(str(log_path))
    async with SimServer(parse_script(script)) as sim:
        if sim_route is not None:
            sim.websocket_routes["/v1/realtime"] = sim_route
        h_events: list[ev.Event] = []
        fanout = EventFanout([h_events.append])  # as in a run: the fan-out stamps, and holds the turn ids
        session = RealtimeSession(
            loaded,
            conv,
            url=realtime_url(sim.base_url, "gpt-realtime"),
            api_key="sim",
            emit=fanout.emit,
            turn_ids=fanout.ids,
            approver=approver,
            options=options or SessionOptions(),
            log=log,
            validate=validate_client_event,
            **(session_kwargs(sim) if session_kwargs is not None else {}),
        )
        async with running(Harness(sim, session, log_path, h_events), sink, tmp_path, log) as h:
            yield h


@contextlib.asynccontextmanager
async def running(h: Any, sink: Any, tmp_path: Path, log: EventLog) -> AsyncIterator[Any]:
    """Run the harness's session until it is ready (saves counted, output to `sink`, "file" for a WAV
    in tmp_path); on the way out close it, its runner, the sink and the wire log."""
    session = h.session
    session.save = lambda c: h.saved.append(len(c.items))
    if sink == "file":
        sink = FileSink(tmp_path / "out.wav", rate=RATE)
    if sink is not None:
        sink.start()
        session.output = OutputAudio(sink)
    runner = h.runner = asyncio.ensure_future(session.run())
    try:
        await h.wait_for(lambda: session.ready.is_set() or runner.done())
        if runner.done():
            runner.result()
        yield h
    finally:
        await session.close()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(runner, 2)
        if sink is not None:
            sink.stop()
        log.close()
