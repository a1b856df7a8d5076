"""agentcli: one chat turn with one function tool, in process, the way `agent chat -m` runs it.

The same job as bench/peers/chat_turn.py: Runner.run_turn on bench/peers/chat.yaml against the simulator
named by OPENAI_BASE_URL, every event through the fan-out into the local trace recorder (tracing on, as a
user gets it). Prints one JSON line: {"samples_ms": [...], "cpu_ms": [...]}: the wall time and this
process's CPU time of each turn after the warm-up.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from agentcli import events as ev  # noqa: E402
from agentcli.cli.common import EventFanout, load_spec_arg, open_trace, trace_settings  # noqa: E402
from agentcli.runtime.runner import RunConfig, Runner  # noqa: E402
from bench.common import QUESTION, driver_args, emit_result  # noqa: E402


async def main() -> None:
    args = driver_args(__doc__).parse_args()
    spec = load_spec_arg(str(Path(__file__).with_name("chat.yaml")))
    runner = Runner(spec, RunConfig())  # base URL and key from OPENAI_BASE_URL / OPENAI_API_KEY
    runner.warm_up()
    recorder = open_trace("chat", spec, None, *trace_settings(spec, False, False), model=spec.entry_agent.model)
    fanout = EventFanout([recorder.on_event] if recorder else [])
    fanout.emit(ev.SessionStarted(kind="chat", agent=spec.entry))
    samples, cpu = [], []
    for i in range(args.warmup + args.reps):
        conversation = runner.new_conversation()
        done: ev.TurnDone | None = None
        start, start_cpu = time.perf_counter(), time.process_time()
        async for event in runner.run_turn(conversation, QUESTION):
            fanout.emit(event)
            if isinstance(event, ev.TurnDone):
                done = event
        elapsed = (time.perf_counter() - start) * 1000
        used = (time.process_time() - start_cpu) * 1000
        if done is None or done.status != "ok" or "sunny" not in str(done.output):
            raise SystemExit(f"unexpected turn end: {done}")
        if i >= args.warmup:
            samples.append(elapsed)
            cpu.append(used)
    fanout.emit(ev.SessionEnded())
    if recorder:
        recorder.close("ok", None)
    await runner.aclose()
    emit_result({"samples_ms": samples, "cpu_ms": cpu, "traced": recorder is not None})


if __name__ == "__main__":
    asyncio.run(main())
