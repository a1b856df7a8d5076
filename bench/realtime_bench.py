"""Realtime benchmarks (issue 5), against the zero-latency simulator (`agent sim serve`, in its own process):

- barge-in: `input_audio_buffer.speech_started` received -> the first all-silent output block the player
  hands to the device after the flush (target <= 30 ms): the pause that suspected speech makes at once (a
  confirmed interruption then finds the output silent already); in process, the real Player on the
  virtual speaker; read from the session's events only (`interrupted`: `speech_started`, `silenced`);
- first audio delta received -> its first sample handed to the output device (target <= 60 ms), same set-up,
  from each turn's `turn_latency` marks (`first_sample_played` - `first_audio_byte`);
- CPU of the real `agent voice --realtime` during a 60 s session on the virtual microphone and speaker,
  three spoken questions answered aloud (target <= 5 % of one core);
- RSS growth over a 30-minute fast-forwarded session (target <= 10 MB): the real client in process, a
  synthetic loop of spoken turns (speech, silence, the answer) sent as fast as the socket takes them, the
  answer audio into a null sink; RSS at the end minus RSS after the first simulated minute.

Run: python bench/realtime_bench.py [--runs N] [--only barge|cpu|rss] [--cpu-seconds S] [--soak-minutes M]
[--provider openai|gemini] [--json]. With `--provider gemini` the same measures run over Gemini Live (the
sim's Gemini endpoint, answers paced at real time for barge-in: Gemini has no cancel; the barge-in mark is
the `interrupted` that the session turns into SpeechStarted). The device measures need the PulseAudio rig
(tests/pulse.py; they hold its lock) and espeak-ng.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench import common as c  # noqa: E402

RATE = 24000
LONG = " ".join(f"This is sentence number {n} of a long answer that goes on." for n in range(1, 9))
SPEC = """name: bench
instructions: Answer briefly.
realtime:
  turn_detection: {type: server_vad, silence_duration_ms: 300, prefix_padding_ms: 100}
"""
GEMINI_SPEC = """name: bench
instructions: Answer briefly.
realtime:
  provider: gemini
  base_url: {base_url}
  gemini: {{activity_detection: {{silence_duration_ms: 300, prefix_padding_ms: 100}}}}
"""
TARGETS = {"barge_in_ms": 30.0, "first_audio_delta_to_first_sample_ms": 60.0, "cpu_percent": 5.0, "rss_growth_mb": 10.0}


def tone(seconds: float, amplitude: float = 0.3) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    return (amplitude * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2").tobytes()


def silence(seconds: float) -> bytes:
    return bytes(2 * int(RATE * seconds))


class NullSink:
    """An AudioSink that plays instantly into nothing (the soak's answers)."""

    rate = RATE
    energy = 0.0
    drained = True

    def __init__(self) -> None:
        self.written_ms = 0.0
        self._current: Any = None

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def begin_utterance(self, id: str | None = None) -> Any:
        from agentcli.audio.sink import Utterance

        self._current = Utterance(id=id or "u", rate=RATE)
        return self._current

    def end_utterance(self) -> None:
        self._current = None

    def write(self, audio: bytes) -> float:
        utt = self._current or self.begin_utterance()
        n = len(audio) // 2
        utt.queued += n
        utt.handed += n
        self.written_ms += n * 1000 / RATE
        return n * 1000 / RATE

    def flush(self) -> float:
        self._current = None
        return 0.0

    async def wait_drained(self) -> None: ...


def write_spec(path: Path, provider: str, sim: c.SimProcess) -> Path:
    """The bench agent on OpenAI's realtime protocol or on Gemini Live (at the simulator either way)."""
    path.write_text(SPEC if provider == "openai" else GEMINI_SPEC.format(base_url=sim.base_url))
    return path


def make_session(url: str, spec_path: Path, sink: Any, emit: Any = None) -> Any:
    """The real client in process; `emit` gets its events (the bench reads nothing else of it)."""
    from agentcli.realtime.audio_io import OutputAudio
    from agentcli.realtime.session import RealtimeSession
    from agentcli.runtime.conversation import Conversation
    from agentcli.runtime.conversations import SessionStore
    from agentcli.spec.loader import load_spec

    spec = load_spec(str(spec_path))
    store = SessionStore()
    conversation = Conversation(items=[], agent=spec.entry, name="bench")
    connect = None
    agent = spec.entry_agent
    if agent.realtime.gemini is not None:  # realtime.provider: gemini, its base_url the simulator's
        from agentcli.app.endpoint import Endpoint
        from agentcli.realtime.providers import gemini_connect

        model = agent.realtime.gemini.model
        connect, url = gemini_connect(agent, Endpoint(None, "sim"), model, lambda: conversation.items, None)
    session = RealtimeSession(
        spec,
        conversation,
        url=url,
        api_key="sim",
        emit=emit if emit is not None else (lambda e: None),
        save=store.save,
        connect=connect,
    )
    session.output = OutputAudio(sink)
    return session


async def send_pcm(session: Any, pcm: bytes, block_ms: int = 20) -> None:
    step = RATE * 2 * block_ms // 1000
    for i in range(0, len(pcm), step):
        await session.send_audio(pcm[i : i + step])
    await asyncio.sleep(0)


async def wait_until(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.002)
    raise RuntimeError(f"timed out waiting for {predicate}")


# --- barge-in and first audio (in process, the real player) ----------------------------------------


async def latency_runs(url: str, spec_path: Path, runs: int) -> tuple[list[float], list[float]]:
    """Each answer: its first delta -> first sample played; then the user talks over it after 0.4 s:
    speech_started received -> silent output. The interruption's own answer is the next run. Both come
    from the session's events."""
    from agentcli import events as ev
    from agentcli.audio.player import Player

    player = Player(None, rate=RATE)
    player.start()
    events: list[Any] = []
    session = make_session(url, spec_path, player, events.append)

    def of(kind: type) -> list[Any]:
        return [e for e in events if isinstance(e, kind)]

    def answers() -> int:  # the session says `speaking` when an answer's first audio is queued to play
        return len([e for e in of(ev.StateChanged) if e.state == "speaking"])

    runner = asyncio.ensure_future(session.run())
    barges: list[float] = []
    try:
        await wait_until(session.ready.is_set)
        await send_pcm(session, tone(0.4) + silence(0.4))
        for k in range(runs + 1):  # the first answer is a warm-up
            await wait_until(lambda n=k: answers() > n)
            await asyncio.sleep(0.4)
            await send_pcm(session, tone(0.6))  # past voice.interruption.min_speech_ms: a real interruption
            await wait_until(lambda n=k: len(of(ev.Interrupted)) > n)
            cut = of(ev.Interrupted)[k]
            if k and cut.silenced is not None and cut.speech_started is not None:
                barges.append((cut.silenced - cut.speech_started) * 1000)
            await send_pcm(session, silence(0.45))
        await wait_until(lambda: len(of(ev.TurnLatency)) > runs)
    finally:
        await session.close()
        runner.cancel()
        with contextlib.suppress(BaseException):
            await runner
        player.stop()
    marks = [e.marks for e in of(ev.TurnLatency)][: runs + 1]
    firsts = [m["first_sample_played"] - m["first_audio_byte"] for m in marks
              if "first_sample_played" in m and "first_audio_byte" in m]
    return firsts[1:], barges


# --- CPU of the real command ------------------------------------------------------------------------


def cpu_session(sim: c.SimProcess, spec_path: Path, tmp: Path, seconds: float, rig: Any) -> float:
    question = c.spoken_wav(tmp / "question.wav")
    env = dict(c.sim_env(c.base_env(tmp / "home-cpu"), sim), GEMINI_API_KEY="sim")
    proc = subprocess.Popen([*c.agent_cmd(), "voice", str(spec_path), "--realtime", "--jsonl", "--no-trace"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)  # fmt: skip
    tick = os.sysconf("SC_CLK_TCK")

    def cpu() -> float:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line or '"listening"' in line:
                break
        time.sleep(1.0)
        c0, t0 = cpu(), time.monotonic()
        for k in range(3):  # three spoken turns spread over the session
            at = t0 + seconds * (k + 0.1) / 3
            time.sleep(max(0.0, at - time.monotonic()))
            rig.speak_into_mic(question).wait(timeout=30)
        time.sleep(max(0.0, t0 + seconds - time.monotonic()))
        c1, t1 = cpu(), time.monotonic()
        if proc.poll() is not None:  # an early exit would read as 0 % CPU
            raise RuntimeError(f"the voice command ended early: {proc.stderr.read().strip() if proc.stderr else ''}")
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return (c1 - c0) / (t1 - t0) * 100.0


# --- RSS over a long fast-forwarded session -------------------------------------------------------------


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def soak(url: str, spec_path: Path, minutes: float) -> dict[str, float]:
    from agentcli import events as ev

    sink = NullSink()
    done = [0]  # turns over, counted from the events (not kept: the soak measures memory)

    def count(event: Any) -> None:
        if isinstance(event, ev.TurnDone):
            done[0] += 1

    session = make_session(url, spec_path, sink, count)
    runner = asyncio.ensure_future(session.run())
    said = tone(0.6) + silence(0.4)
    said_ms = len(said) / (RATE * 2) * 1000
    timeline_ms = 0.0
    turns = 0
    baseline = None
    t0 = time.monotonic()
    try:
        await wait_until(session.ready.is_set)
        while timeline_ms < minutes * 60_000:
            before = done[0]
            await send_pcm(session, said)
            await wait_until(lambda n=before: done[0] > n, 10)
            await session.wait_turn_over()
            turns += 1
            timeline_ms = turns * said_ms + sink.written_ms  # the user talking, then the answer played
            if baseline is None and timeline_ms >= 60_000:
                gc.collect()
                baseline = rss_mb()
    finally:
        await session.close()
        runner.cancel()
        with contextlib.suppress(BaseException):
            await runner
    gc.collect()
    end = rss_mb()
    return {
        "rss_after_1_min_mb": baseline or end,
        "rss_at_end_mb": end,
        "rss_growth_mb": end - (baseline or end),
        "turns": turns,
        "session_minutes": timeline_ms / 60_000,
        "wall_s": time.monotonic() - t0,
    }


# --- main ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def rig_lock() -> Any:
    """The virtual devices, held exclusively through tests/pulse.py's lock (waiting as long as it takes)."""
    from tests.pulse import get_rig
    from tests.pulse import rig_lock as hold_rig

    rig = get_rig()
    with hold_rig(timeout=float("inf")):
        yield rig


def stats(values: list[float]) -> dict[str, float]:
    return {"median_ms": statistics.median(values), "min_ms": min(values), "max_ms": max(values), "n": len(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--only", choices=["barge", "cpu", "rss"], help="Run one group (barge = barge-in and first audio)."
    )
    parser.add_argument("--cpu-seconds", type=float, default=60.0)
    parser.add_argument("--soak-minutes", type=float, default=30.0)
    parser.add_argument("--json", action="store_true", help="One JSON object instead of the table.")
    parser.add_argument("--provider", choices=["openai", "gemini"], default="openai",
                        help="The realtime protocol: OpenAI's (default) or Gemini Live's (both served by the sim).")
    args = parser.parse_args()
    want = {args.only} if args.only else {"barge", "cpu", "rss"}
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ.update(AGENT_HOME=str(tmp / "home"), AGENT_TRACE="0")
        spec_path = tmp / "bench.yaml"
        sim_env = c.base_env(tmp / "home-sim")
        if args.provider == "gemini":  # no truncate or cancel: the answer must still be coming to be cut
            sim_env["AGENT_SIM_REALTIME_PACE"] = "1"
        long_script = tmp / "long.yaml"  # answers long enough to talk over
        long_script.write_text(
            json.dumps({"turns": [{"match": "weather", "reply": ["It is sunny in Paris today."]}, {"reply": [LONG]}]})
        )
        short_script = tmp / "short.yaml"  # the soak: many short turns
        short_script.write_text(json.dumps({"turns": [{"reply": ["Okay, noted."]}]}))
        if "barge" in want or "cpu" in want:
            with c.sim_server(long_script, sim_env) as sim:
                write_spec(spec_path, args.provider, sim)
                try:
                    with rig_lock() as rig:
                        if "barge" in want:
                            firsts, barges = asyncio.run(latency_runs(sim.ws_url, spec_path, args.runs))
                            out["first_audio_delta_to_first_sample_ms"] = stats(firsts)
                            out["barge_in_ms"] = stats(barges)
                        if "cpu" in want:
                            out["cpu_percent"] = cpu_session(sim, spec_path, tmp, args.cpu_seconds, rig)
                except Exception as e:  # noqa: BLE001 - no rig: those rows are reported as not measured
                    out["device_measures_error"] = str(e)
        if "rss" in want:
            with c.sim_server(short_script, c.base_env(tmp / "home-sim")) as sim:
                write_spec(spec_path, args.provider, sim)
                soaked = asyncio.run(soak(sim.ws_url, spec_path, args.soak_minutes))
                out["rss_growth_mb"] = soaked["rss_growth_mb"]  # first: bench/run.py picks the first "rss" key
                out["soak"] = soaked
    if args.json:
        print(json.dumps(out))
        return
    print(f"{'measure':44} {'median':>9} {'max':>9} {'target':>8}  ok")
    for key, target in TARGETS.items():
        value = out.get(key)
        if value is None:
            print(f"{key:44} {'-':>9} {'-':>9} {target:8.1f}  not measured")
            continue
        med, worst = (value["median_ms"], value["max_ms"]) if isinstance(value, dict) else (value, value)
        print(f"{key:44} {med:9.1f} {worst:9.1f} {target:8.1f}  {'yes' if med <= target else 'NO'}")
    if "soak" in out:
        s = out["soak"]
        print(
            f"soak: {s['turns']} turns, {s['session_minutes']:.1f} session minutes in {s['wall_s']:.0f} s; "
            f"RSS {s['rss_after_1_min_mb']:.1f} MB after 1 min, {s['rss_at_end_mb']:.1f} MB at the end"
        )
    if "device_measures_error" in out:
        print(f"device measures not run: {out['device_measures_error']}")


if __name__ == "__main__":
    main()
