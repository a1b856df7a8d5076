"""Peer: one chat turn with one function tool through openai-agents' Runner (the documented way).

Talks to the simulator named by OPENAI_BASE_URL (scripted: a tool call, then the answer). Prints one
JSON line: {"samples_ms": [...], "cpu_ms": [...]}: the wall time and this process's CPU time of each
`Runner.run` after the warm-up turns.
Runs in bench/.venv-peers (openai-agents), never in agentcli's environment.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from agents import Agent, Runner, function_tool, set_tracing_disabled  # noqa: E402

from bench.common import QUESTION, driver_args, emit_result  # noqa: E402
from bench.peers.bench_tools import get_weather  # noqa: E402


async def main() -> None:
    parser = driver_args(__doc__)
    parser.add_argument("--streamed", action="store_true", help="Runner.run_streamed, its events consumed")
    args = parser.parse_args()
    set_tracing_disabled(True)  # its dashboard is not reachable here; agentcli's local tracing stays on
    agent = Agent(name="weather", instructions="You answer weather questions briefly.", model="gpt-4.1-mini",
                  tools=[function_tool(get_weather)])  # fmt: skip
    samples, cpu = [], []
    for i in range(args.warmup + args.reps):
        start, start_cpu = time.perf_counter(), time.process_time()
        if args.streamed:
            result = Runner.run_streamed(agent, QUESTION)
            async for _event in result.stream_events():
                pass
        else:
            result = await Runner.run(agent, QUESTION)
        elapsed = (time.perf_counter() - start) * 1000
        used = (time.process_time() - start_cpu) * 1000
        if "sunny" not in str(result.final_output):
            raise SystemExit(f"unexpected answer: {result.final_output!r}")
        if i >= args.warmup:
            samples.append(elapsed)
            cpu.append(used)
    emit_result({"samples_ms": samples, "cpu_ms": cpu})


if __name__ == "__main__":
    asyncio.run(main())
