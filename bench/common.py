"""Shared helpers of the side-by-side benchmarks (bench/run.py and the drivers in bench/peers/).

Statistics (median and spread, median of per-round ratios), the shared simulator (`agent sim serve` as a
subprocess, its base URL read from its stdout), simulator scripts with fixed latencies, a spoken WAV,
the driver protocol (one JSON object on the last stdout line), and the machine line.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PEERS = BENCH / "peers"
PEER_VENV = BENCH / ".venv-peers"
PEER_PACKAGES = ["openai-agents[voice]", "pyinstrument"]

ZERO = {"first_token_ms": 0, "stt_ms": 0, "tts_first_byte_ms": 0}
REALISTIC = {"first_token_ms": 400, "stt_ms": 300, "tts_first_byte_ms": 200}

QUESTION = "What's the weather in Paris?"
# long enough that a sentence splitter has a sentence to speak before the answer ends
ANSWER = "It is sunny in Paris today. The temperature is twenty degrees, and it stays dry all day long."


@dataclass
class Stats:
    """Median and spread of one measure (in its unit: seconds, ms or MB)."""

    median: float
    low: float
    high: float
    n: int
    samples: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        if not samples:
            raise ValueError("no samples")
        values = [float(v) for v in samples]
        return cls(statistics.median(values), min(values), max(values), len(values), values)

    def to_dict(self) -> dict[str, Any]:
        return {"median": self.median, "min": self.low, "max": self.high, "n": self.n, "samples": self.samples}


def ratios(ours: Sequence[float], peer: Sequence[float]) -> list[float]:
    """Per-round ratios ours/peer, rounds paired in order (each round ran both back to back)."""
    return [a / b for a, b in zip(ours, peer, strict=True) if b > 0]


# --- processes -------------------------------------------------------------------------------------


def agent_cmd() -> list[str]:
    """The installed `agent` next to this interpreter (a version-manager shim adds its own start-up)."""
    local = Path(sys.executable).parent / "agent"
    exe = str(local) if local.exists() else shutil.which("agent")
    return [exe] if exe else [sys.executable, "-m", "agentcli"]


def peer_python() -> Path:
    return PEER_VENV / "bin" / "python"


def have_peers() -> bool:
    return peer_python().exists() and (PEER_VENV / ".complete").exists()


def ensure_peer_venv(log: Any = print) -> Path:
    """Create bench/.venv-peers with openai-agents[voice] on first use (never agentcli's own env)."""
    if have_peers():
        return peer_python()
    log(f"creating {PEER_VENV.relative_to(ROOT)} with {' '.join(PEER_PACKAGES)} (once) ...")
    if not peer_python().exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run([str(peer_python()), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
    (PEER_VENV / ".complete").write_text(" ".join(PEER_PACKAGES) + "\n")
    return peer_python()


def base_env(home: Path) -> dict[str, str]:
    """What every measured process gets: its own AGENT_HOME, no colour, no peer dashboard tracing."""
    env = {k: v for k, v in os.environ.items() if k not in ("AGENT_TRACE", "AGENT_SPEC", "PYTHONDONTWRITEBYTECODE")}
    env.update(AGENT_HOME=str(home), NO_COLOR="1", OPENAI_AGENTS_DISABLE_TRACING="1")
    return env


def time_process(cmd: list[str], env: dict[str, str], first_byte: bool = False, timeout: float = 60) -> float:
    """Wall seconds from spawn to exit (or to the first stdout byte); a failure stops the benchmark."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT)  # fmt: skip
    assert proc.stdout is not None
    if first_byte:
        proc.stdout.read(1)
        elapsed = time.perf_counter() - start
        _, err = proc.communicate(timeout=timeout)
    else:
        _, err = proc.communicate(timeout=timeout)
        elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(cmd[:3])} ... failed (exit {proc.returncode}): {_tail(err)}")
    return elapsed


def run_driver(cmd: list[str], env: dict[str, str], timeout: float = 300) -> dict[str, Any]:
    """Run a driver (bench/peers/*.py) and return the JSON object on its last stdout line."""
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        raise BenchError(f"{Path(cmd[1]).name if len(cmd) > 1 else cmd[0]} failed (exit {proc.returncode}): "
                         f"{_tail(proc.stderr.encode())}")  # fmt: skip
    try:
        result = json.loads(lines[-1])
    except ValueError:
        raise BenchError(f"{cmd[1]}: last line is not JSON: {lines[-1][:200]}") from None
    if not isinstance(result, dict):
        raise BenchError(f"{cmd[1]}: expected a JSON object")
    return result


def driver_args(doc: str | None) -> Any:
    """The drivers' common options: repetitions after warm-up turns."""
    import argparse

    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0] if doc else None)
    parser.add_argument("--reps", type=int, default=5, help="measured repetitions")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured turns first (imports, connections)")
    return parser


def emit_result(result: dict[str, Any]) -> None:
    """The driver side of run_driver: one JSON object as the last line of stdout."""
    print(json.dumps(result), flush=True)


def bench_output(args: list[str], env: dict[str, str], timeout: float = 600) -> str:
    """The stdout of another bench script (bench/ARGS[0]), run with this interpreter."""
    proc = subprocess.run([sys.executable, str(BENCH / args[0]), *args[1:]], env=env, capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout)  # fmt: skip
    if proc.returncode != 0:
        raise BenchError(f"bench/{args[0]} failed (exit {proc.returncode}): {_tail(proc.stderr.encode())}")
    return proc.stdout


def bench_json(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Another bench script's --json object: all of its stdout, or else its last line."""
    out = bench_output(args, env)
    for text in (out, (out.strip().splitlines() or [""])[-1]):
        try:
            data = json.loads(text)
        except ValueError:
            continue
        if isinstance(data, dict):
            return data
    raise BenchError(f"bench/{args[0]} printed no JSON object")


class BenchError(RuntimeError):
    """A measured command failed: the scenario is reported as not measured, with this line."""


def _tail(err: bytes | None, limit: int = 300) -> str:
    text = (err or b"").decode(errors="replace").strip().splitlines()
    return " | ".join(text[-3:])[-limit:] if text else "(no stderr)"


# --- the shared simulator --------------------------------------------------------------------------


def write_script(path: Path, latency: dict[str, int], answer: str = ANSWER) -> Path:
    """A simulator script: a weather question gets one tool call then a text; anything else `answer`."""
    import yaml

    path.write_text(yaml.safe_dump({
        "turns": [
            {"match": "weather", "reply": [{"tool_call": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                                           {"text": "Right now it is {tool_output}."}]},
            {"match": ".*", "reply": [{"text": answer}]},
        ],
        "latency": dict(latency),
    }, sort_keys=False))  # fmt: skip
    return path


@dataclass
class SimProcess:
    base_url: str
    proc: subprocess.Popen[str]

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://", 1) + "/realtime?model=gpt-realtime"


@contextmanager
def sim_server(script: Path, env: dict[str, str], timeout: float = 20) -> Iterator[SimProcess]:
    """`agent sim serve --port 0 --script S` for the duration; both sides of a scenario talk to it."""
    cmd = [*agent_cmd(), "sim", "serve", "--port", "0", "--script", str(script)]
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        url = ""
        while time.monotonic() < deadline and not url:
            line = proc.stdout.readline()
            if not line:
                break
            url = line.strip() if line.startswith("http") else ""
        if not url:
            proc.kill()
            _, err = proc.communicate(timeout=5)
            raise BenchError(f"agent sim serve did not print its URL: {_tail(err.encode())}")
        yield SimProcess(url, proc)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def sim_env(env: dict[str, str], sim: SimProcess) -> dict[str, str]:
    return dict(env, OPENAI_BASE_URL=sim.base_url, OPENAI_API_KEY="sim")


def spoken_wav(path: Path, text: str = QUESTION) -> Path:
    """The question spoken by espeak-ng (16-bit mono WAV)."""
    if not path.exists():
        subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    return path


# --- the machine -----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        from importlib.metadata import version

        openai_version = version("openai")
    except Exception:  # noqa: BLE001 - the line is informative only
        openai_version = "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "openai": openai_version,
            "os": f"{platform.system()} {platform.release()}", "date": time.strftime("%Y-%m-%d %H:%M %Z")}


def peer_version() -> str | None:
    if not peer_python().exists():
        return None
    proc = subprocess.run([str(peer_python()), "-c", "from importlib.metadata import version as v;"
                           "print(v('openai-agents'), v('openai'))"], capture_output=True, text=True)  # fmt: skip
    return proc.stdout.strip() or None
