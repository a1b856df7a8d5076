"""Startup benchmarks (issues 2 and 13): `agent --help` wall time, process start -> first answer byte for
`agent chat SPEC --sim -m hi` (tracing on, as a user runs it) against the zero-latency simulator, and
agentcli's own share of it: issue 13's measure, that minus a bare interpreter importing openai (so building
the client, the simulator, the stores and the trace all count as ours), and beside it the same minus an
interpreter that also builds the SDK's default client. Run: python bench/startup_bench.py"""

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
OWN_SHARE = "  agentcli's own share"  # issue 13: first answer byte minus `import openai`
TARGETS = {"agent --help": 0.15, "chat first answer byte": 0.7, OWN_SHARE: 0.1}
# what the first answer byte includes that is not agentcli's: the interpreter and the openai client
OPENAI_CLIENT = ("import openai; openai.AsyncOpenAI(api_key='x', base_url='http://127.0.0.1:9/v1', "
                 "http_client=openai.DefaultAsyncHttpxClient())")


def agent_cmd() -> list[str]:
    local = Path(sys.executable).parent / "agent"  # not a version-manager shim: it adds its own start-up
    exe = str(local) if local.exists() else shutil.which("agent")
    return [exe] if exe else [sys.executable, "-m", "agentcli"]


def time_help(env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([*agent_cmd(), "--help"], env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def time_python(env: dict[str, str], code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def time_first_byte(env: dict[str, str], spec: str, trace: bool = False) -> float:
    start = time.perf_counter()
    flags = [] if trace else ["--no-trace"]
    proc = subprocess.Popen([*agent_cmd(), "chat", spec, "--sim", "-m", "hi", *flags], env=env,
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
    # an installed package runs from compiled bytecode: let the warm-up write it, or every run would time
    # the compiler on each of agentcli's modules (and none of openai's, which pip compiled)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    spec = str(ROOT / "agent_specs" / "assistant.yaml")
    rows: dict[str, dict[str, float | None]] = {}
    measures = {"agent --help": lambda: time_help(env),
                "chat first answer byte": lambda: time_first_byte(env, spec, trace=True),
                "  python + openai client": lambda: time_python(env, OPENAI_CLIENT),
                "  python + import openai": lambda: time_python(env, "import openai")}
    samples: dict[str, list[float]] = {name: [] for name in measures}
    for fn in measures.values():
        fn()  # warm-up: pyc files, page cache
    for _ in range(args.n):  # interleaved, so that every row sees the same minutes of a noisy machine
        for name, fn in measures.items():
            samples[name].append(fn())
    first = samples["chat first answer byte"]
    # the measure: the first answer byte minus `import openai` alone (building the client counts as ours)
    samples[OWN_SHARE] = [a - b for a, b in zip(first, samples["  python + import openai"], strict=True)]
    # the same minus a bare interpreter that also builds the SDK's default client (certificates loaded)
    samples["  own share, client aside"] = [a - b for a, b in zip(first, samples["  python + openai client"],
                                                                  strict=True)]
    for name, values in samples.items():
        rows[name] = {"median_s": statistics.median(values), "min_s": min(values), "max_s": max(values),
                      "target_s": TARGETS.get(name)}
    if args.json:
        import json

        print(json.dumps(rows, indent=2))
        return
    print(f"{'scenario':<26} {'median':>8} {'min':>8} {'max':>8} {'target':>8}  ok")
    for name, r in rows.items():
        target = r["target_s"]
        ok = "" if target is None else "yes" if (r["median_s"] or 0) <= target else "NO"
        shown = "" if target is None else f"{target:8.2f}"
        print(f"{name:<26} {r['median_s']:8.3f} {r['min_s']:8.3f} {r['max_s']:8.3f} {shown:>8}  {ok}")


if __name__ == "__main__":
    main()
