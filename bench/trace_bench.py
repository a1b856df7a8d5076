"""Tracing benchmarks: `agent trace show` of 10,000 spans and `agent trace list` over 100,000 traces (the
real CLI as a subprocess, median of 5 after a warm-up, each target <= 0.5 s), and the recorder's cost per
chat turn (in process, target <= 5 ms). Run: python bench/trace_bench.py [--json]

--json prints one object instead of the table: each measure as a number, its unit in the key (`_s`, `_ms`),
then `targets` (the same keys, the limits).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agentcli import events as ev  # noqa: E402
from agentcli.tracing import open_recorder  # noqa: E402
from agentcli.tracing.store import TraceStore  # noqa: E402

RUNS = 5
TARGETS = {
    "trace_show_10000_spans_s": 0.5,
    "trace_list_100000_traces_s": 0.5,
    "trace_list_errors_agent_100000_traces_s": 0.5,
    "recorder_overhead_ms": 5.0,
}
INSERT_TRACE = (
    "INSERT INTO traces (trace_id, workflow, kind, group_id, metadata, content, started, ended, status, error,"
    " turns, input_tokens, output_tokens, span_count, error_count, pid, host)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def chat_turn(turn: int) -> list[ev.Event]:
    """One chat turn as the runtime emits it: 12 events, 5 spans."""
    answer = "It is sunny, 21°C."
    usage = ev.Usage(input_tokens=180, output_tokens=12)
    return [
        ev.TurnStarted(turn=turn, input="What's the weather in Paris?", agent="weather"),
        ev.GuardrailChecked(agent="weather", name="no_secrets", stage="input", started=ev.now()),
        ev.AgentStarted(agent="weather"),
        ev.GenerationStarted(agent="weather", model="gpt-4.1-mini"),
        ev.TextDelta(agent="weather", delta="It is "),
        ev.TextDelta(agent="weather", delta="sunny, "),
        ev.TextDelta(agent="weather", delta="21°C."),
        ev.GenerationDone(agent="weather", model="gpt-4.1-mini", output=answer, ttft_ms=120.0, usage=usage),
        ev.GuardrailChecked(agent="weather", name="no_long_numbers", stage="output", started=ev.now()),
        ev.StateChanged(state="idle"),
        ev.AgentFinished(agent="weather"),
        ev.TurnDone(turn=turn, agent="weather", output=answer, usage=usage),
    ]


def record_big_trace(spans: int) -> str:
    recorder = open_recorder(kind="chat", workflow="weather")
    assert recorder is not None
    recorder.on_event(ev.SessionStarted(agent="weather"))
    for turn in range(1, spans // 5 + 1):
        for event in chat_turn(turn):
            recorder.on_event(event)
    recorder.on_event(ev.SessionEnded())
    recorder.close()
    return recorder.trace_id


def fill_traces(count: int) -> None:
    """Bulk-insert finished traces in one transaction: what months of use leave behind."""
    store = TraceStore.open()
    now = time.time()
    meta = json.dumps({"model": "m"})
    rows = []
    for i in range(count):
        start = now - 90 * 86400 + i * 60
        status = "error" if i % 50 == 0 else "ok"
        rows.append((os.urandom(16).hex(), f"agent{i % 7}", "chat", None, meta, 1, start, start + 1.5, status,
                     None, 1 + i % 4, 200, 30, 5, 0, 1, "bench"))  # fmt: skip
    with store.transaction() as conn:
        conn.executemany(INSERT_TRACE, rows)
    store.close()


def time_cli(*args: str, pycache: str) -> float:
    # as an installed agentcli runs: bytecode cached (kept out of the repo), stdout not a TTY
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = pycache
    samples = []
    for run in range(RUNS + 1):
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "agentcli", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"agent {' '.join(args)} failed: {proc.stderr.decode()}")
        if run:  # run 0 warms the bytecode and page caches
            samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def recorder_overhead_ms(turns: int = 300) -> float:
    """Median cost of feeding one chat turn's 12 events to a recorder (store writes included)."""
    recorder = open_recorder(kind="chat", workflow="weather")
    assert recorder is not None
    recorder.on_event(ev.SessionStarted(agent="weather"))
    samples = []
    for turn in range(1, turns + 1):
        events = chat_turn(turn)
        t = time.perf_counter()
        for event in events:
            recorder.on_event(event)
        samples.append((time.perf_counter() - t) * 1000)
    recorder.close()
    return statistics.median(samples)


def show_phases_ms(trace_id: str) -> tuple[float, float]:
    """Where `trace show` spends its time after startup: reading the store, rendering the lines."""
    from agentcli.tracing import query, render

    store = TraceStore.open()
    loads, renders = [], []
    for _ in range(RUNS):
        t = time.perf_counter()
        doc = query.load(store, trace_id)
        loads.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        render.plain(render.trace_lines(doc, 100))
        renders.append((time.perf_counter() - t) * 1000)
    store.close()
    return statistics.median(loads), statistics.median(renders)


# key, table label: the CLI timings, in seconds
CLI_ROWS = [
    ("agent_help_s", "agent --help (startup floor)"),
    ("trace_show_10000_spans_s", "agent trace show (10,000 spans)"),
    ("trace_show_json_10000_spans_s", "agent trace show --json (10,000 spans)"),
    ("trace_list_100000_traces_s", "agent trace list (100,000 traces)"),
    ("trace_list_errors_agent_100000_traces_s", "agent trace list --errors --agent (100,000)"),
]


def measure() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as pycache:
        os.environ["AGENT_HOME"] = home
        os.environ.pop("AGENT_TRACE", None)
        trace_id = record_big_trace(10_000)
        overhead = recorder_overhead_ms()
        load_ms, render_ms = show_phases_ms(trace_id)
        fill_traces(100_000)

        def cli(*args: str) -> float:
            return time_cli(*args, pycache=pycache)

        return {
            "agent_help_s": cli("--help"),
            "trace_show_10000_spans_s": cli("trace", "show", trace_id),
            "trace_show_json_10000_spans_s": cli("trace", "show", trace_id, "--json"),
            "trace_list_100000_traces_s": cli("trace", "list"),
            "trace_list_errors_agent_100000_traces_s": cli("trace", "list", "--errors", "--agent", "agent3"),
            "recorder_overhead_ms": overhead,
            "in_process_load_10000_spans_ms": load_ms,
            "in_process_render_10000_spans_ms": render_ms,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    args = parser.parse_args()
    values = measure()
    if args.json:
        # targets last: bench/report.py's pick() takes the first key that matches
        print(json.dumps({**values, "targets": TARGETS}))
        return
    print(f"{'benchmark':<44} {'median':>10} {'target':>8}  ok")
    for key, name in CLI_ROWS:
        seconds, target = values[key], TARGETS.get(key)
        verdict = "" if target is None else ("yes" if seconds <= target else "NO")
        target_text = "" if target is None else f"{target:.1f} s"
        print(f"{name:<44} {seconds:>8.3f} s {target_text:>8}  {verdict}")
    overhead = values["recorder_overhead_ms"]
    verdict = "yes" if overhead <= TARGETS["recorder_overhead_ms"] else "NO"
    print(f"{'recorder overhead per chat turn (12 events)':<44} {overhead:>7.3f} ms {'5 ms':>8}  {verdict}")
    print(f"{'  in process: load 10,000 spans':<44} {values['in_process_load_10000_spans_ms']:>7.1f} ms")
    print(f"{'  in process: render 10,000 spans (plain)':<44} {values['in_process_render_10000_spans_ms']:>7.1f} ms")


if __name__ == "__main__":
    main()
