"""Startup benchmarks (issue 2): `agent --help` wall time, and process start -> first answer byte for
`agent chat SPEC --sim -m hi` against the zero-latency simulator. Run: python bench/startup_bench.py"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"agent --help": 0.15, "chat first answer byte": 0.7}


def agent_cmd() -> list[str]:
    local = Path(sys.executable).parent / "agent"  # not a version-manager shim: it adds its own start-up
    exe = str(local) if local.exists() else shutil.which("agent")
    return [exe] if exe else [sys.executable, "-m", "agentcli"]


def time_help(env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([*agent_cmd(), "--help"], env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def time_first_byte(env: dict[str, str], spec: str) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen([*agent_cmd(), "chat", spec, "--sim", "-m", "hi", "--no-trace"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    first = proc.stdout.read(1)
    elapsed = time.perf_counter() - start
    proc.communicate()
    if not first or proc.returncode != 0:
        raise SystemExit(f"agent chat failed (exit {proc.returncode})")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=10, help="repetitions after one warm-up")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = dict(os.environ, AGENT_HOME=tempfile.mkdtemp(prefix="agent-bench-"), NO_COLOR="1")
    spec = str(ROOT / "agent_specs" / "assistant.yaml")
    rows = {}
    for name, fn in (("agent --help", lambda: time_help(env)),
                     ("chat first answer byte", lambda: time_first_byte(env, spec))):
        fn()  # warm-up: pyc files, page cache
        samples = [fn() for _ in range(args.n)]
        rows[name] = {"median_s": statistics.median(samples), "min_s": min(samples), "max_s": max(samples),
                      "target_s": TARGETS[name]}
    if args.json:
        import json

        print(json.dumps(rows, indent=2))
        return
    print(f"{'scenario':<26} {'median':>8} {'min':>8} {'max':>8} {'target':>8}  ok")
    for name, r in rows.items():
        ok = "yes" if r["median_s"] <= r["target_s"] else "NO"
        print(f"{name:<26} {r['median_s']:8.3f} {r['min_s']:8.3f} {r['max_s']:8.3f} {r['target_s']:8.2f}  {ok}")


if __name__ == "__main__":
    main()
