"""agentcli: one chat turn with one function tool, in process, the way `agent chat -m` runs it.

The same job as bench/peers/chat_turn.py: Runner.run_turn on bench/peers/chat.yaml against the simulator
named by OPENAI_BASE_URL, every event through the fan-out into the local trace recorder (tracing on, as a
user gets it). Prints one JSON line: {"samples_ms": [...], "cpu_ms": [...]}: the wall time and this
process's CPU time of each turn after the warm-up (with --compare-tracing also "untraced_ms").
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from agentcli import events as ev  # noqa: E402
from agentcli.app.consumers import EventFanout  # noqa: E402
from agentcli.app.run import open_trace, trace_settings  # noqa: E402
from agentcli.cli.common import load_spec_arg  # noqa: E402
from agentcli.runtime.runner import RunConfig, Runner  # noqa: E402
from bench.common import QUESTION, driver_args, emit_result  # noqa: E402


async def one_turn(runner: Runner, fanout: EventFanout) -> tuple[float, float]:
    """(wall ms, CPU ms) of one turn in a fresh conversation; every event through the fan-out."""
    conversation = runner.new_conversation()
    done: ev.TurnDone | None = None
    start, start_cpu = time.perf_counter(), time.process_time()
    async for event in runner.run_turn(conversation, QUESTION):
        fanout.emit(event)
        if isinstance(event, ev.TurnDone):
            done = event
    elapsed, used = (time.perf_counter() - start) * 1000, (time.process_time() - start_cpu) * 1000
    if done is None or done.status != "ok" or "sunny" not in str(done.output):
        raise SystemExit(f"unexpected turn end: {done}")
    return elapsed, used


async def main() -> None:
    parser = driver_args(__doc__)
    parser.add_argument("--compare-tracing", action="store_true",
                        help="also an untraced turn after each traced one (their order alternating): untraced_ms")
    parser.add_argument("--profile", type=Path, help="a pyinstrument text profile of the measured turns")
    args = parser.parse_args()
    spec = load_spec_arg(str(Path(__file__).with_name("chat.yaml")))
    runner = Runner(spec, RunConfig())  # base URL and key from OPENAI_BASE_URL / OPENAI_API_KEY
    runner.warm_up()
    recorder = open_trace("chat", spec, None, *trace_settings(spec, False, False), model=spec.entry_agent.model)
    traced = EventFanout([recorder.on_event] if recorder else [])
    untraced = EventFanout([])
    traced.emit(ev.SessionStarted(kind="chat", agent=spec.entry))
    samples, cpu, bare = [], [], []
    profiler = None
    for i in range(args.warmup + args.reps):
        if args.profile and i == args.warmup:
            from bench.peers.profiled import make_profiler

            profiler = make_profiler()
            profiler.start()
        if args.compare_tracing and i % 2:
            bare_ms, _ = await one_turn(runner, untraced)
        elapsed, used = await one_turn(runner, traced)
        if args.compare_tracing and not i % 2:
            bare_ms, _ = await one_turn(runner, untraced)
        if i >= args.warmup:
            samples.append(elapsed)
            cpu.append(used)
            if args.compare_tracing:
                bare.append(bare_ms)
    if profiler is not None:
        from bench.peers.profiled import save

        profiler.stop()
        save(profiler, args.profile)
    traced.emit(ev.SessionEnded())
    if recorder:
        recorder.close("ok", None)
    await runner.aclose()
    emit_result({"samples_ms": samples, "cpu_ms": cpu, "untraced_ms": bare, "traced": recorder is not None})


if __name__ == "__main__":
    asyncio.run(main())
