"""End of a spoken question -> first reply sample heard, hands-free, agentcli against openai-agents, both on
the PulseAudio rig and measured the same way: recordings of the virtual mic (vmic.monitor) and speaker
(vspk.monitor), the question's last sound to the reply's first (bench/voice_bench.py's method).

- agentcli: `agent voice bench/peers/voice.yaml --vad --headphones` (default turn taking);
- peer: openai-agents' VoicePipeline with StreamedAudioInput (bench/peers/voice_streamed.py: its default
  semantic_vad transcription session, PulseAudio's parec/pacat as the app's audio I/O).

Each side talks to its own `agent sim serve` with the same latencies (`--latency zero|realistic`: STT
300 ms, first token 400 ms, speech first byte 200 ms; bench/common.py). Run: python bench/heard_bench.py
[--side ours|peer|both] [--latency realistic] [--runs 5] [--json]. Holds the rig lock while it plays.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common as c  # noqa: E402
from bench.voice_bench import QUESTION, REPLY, _monitor_recording, _stop_recording, heard_waits  # noqa: E402
from tests.pulse import RigUnavailable, get_rig, rig_lock  # noqa: E402
from tests.voice.e2e import espeak_wav  # noqa: E402

LATENCIES = {"zero": c.ZERO, "realistic": c.REALISTIC}


def _script(path: Path, runs: int, latency: dict[str, int]) -> Path:
    """The simulator hears the question (with its `?`) each turn and answers REPLY, at `latency`."""
    lines = ["hear:"] + [f"  - {json.dumps(QUESTION + '?')}"] * (runs + 2)
    lines += ["turns:", '  - match: ".*"', "    reply:", f"      - text: {json.dumps(REPLY)}", "latency:"]
    lines += [f"  {k}: {v}" for k, v in latency.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


class _Lines:
    """A process's stdout lines, parsed as JSON where they are, read in a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.items: list[dict[str, Any]] = []
        self.proc = proc
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict):
                self.items.append(item)

    def wait(self, test: Callable[[dict[str, Any]], bool], n: int = 1, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(1 for i in self.items if test(i)) >= n:
                return
            if self.proc.poll() is not None:
                raise c.BenchError(f"the measured process ended (exit {self.proc.returncode})")
            time.sleep(0.01)
        raise c.BenchError(f"heard bench: timed out after {timeout:.0f} s")


def _ours(env: dict[str, str]) -> tuple[subprocess.Popen[str], Callable[[dict[str, Any]], bool]]:
    spec = str(c.PEERS / "voice.yaml")
    proc = subprocess.Popen([sys.executable, "-m", "agentcli", "voice", spec, "--vad", "--headphones", "--jsonl",
                             "--no-trace"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)  # fmt: skip
    lines = _Lines(proc)
    lines.wait(lambda e: e.get("type") == "state" and e.get("state") == "listening")
    proc.lines = lines  # type: ignore[attr-defined]
    return proc, lambda e: e.get("type") == "turn_latency"


def _peer(env: dict[str, str], rig: Any) -> tuple[subprocess.Popen[str], Callable[[dict[str, Any]], bool]]:
    proc = subprocess.Popen([str(c.peer_python()), str(c.PEERS / "voice_streamed.py"), f"{rig.mic_sink}.monitor",
                             rig.speaker_sink], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)  # fmt: skip
    lines = _Lines(proc)
    lines.wait(lambda e: e.get("ready") is True)
    proc.lines = lines  # type: ignore[attr-defined]
    return proc, lambda e: "turn" in e


def measure(side: str, rig: Any, tmp: Path, runs: int, latency: dict[str, int]) -> list[float]:
    """ms from the end of each spoken question on vmic to the first reply sample on vspk."""
    speech = espeak_wav(tmp / "q.wav", QUESTION)
    env = c.base_env(tmp / f"home-{side}")
    (tmp / f"home-{side}").mkdir(exist_ok=True)
    mic_wav, spk_wav = tmp / f"{side}-mic.wav", tmp / f"{side}-spk.wav"
    with c.sim_server(_script(tmp / f"{side}.yaml", runs, latency), env) as sim:
        senv = c.sim_env(env, sim)
        proc, replied = _ours(senv) if side == "ours" else _peer(senv, rig)
        lines: _Lines = proc.lines  # type: ignore[attr-defined]
        try:
            mic, mic_t0 = _monitor_recording(rig.mic_sink, mic_wav)
            spk, spk_t0 = _monitor_recording(rig.speaker_sink, spk_wav)
            time.sleep(1.0)
            for i in range(runs):
                rig.speak_into_mic(speech).wait(timeout=30)
                lines.wait(replied, n=i + 1)
                # agentcli reports a turn once it has played; the peer once its speech is made, up to a
                # pipe's worth (~1.3 s) ahead of pacat: the next question comes after the reply either way
                time.sleep(0.5 if side == "ours" else 2.0)
            _stop_recording(mic)
            _stop_recording(spk)
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    results, questions, replies = heard_waits(mic_wav, mic_t0, spk_wav, spk_t0)
    if len(results) != runs:
        raise c.BenchError(f"heard bench ({side}): {questions} questions, {replies} replies recorded")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", choices=["ours", "peer", "both"], default="both")
    parser.add_argument("--latency", choices=list(LATENCIES), default="realistic")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="one JSON object: the samples of each side")
    args = parser.parse_args()
    try:
        rig = get_rig()
    except RigUnavailable as e:
        raise SystemExit(f"needs the PulseAudio rig: {e}") from None
    sides = ["ours", "peer"] if args.side == "both" else [args.side]
    if "peer" in sides and not c.have_peers():
        raise SystemExit("the peer needs bench/.venv-peers (python bench/run.py creates it)")
    out: dict[str, list[float]] = {}
    with rig_lock(timeout=900), tempfile.TemporaryDirectory() as d:
        rig.wait_silence()
        for side in sides:
            try:
                out[f"{side} ms"] = measure(side, rig, Path(d), args.runs, LATENCIES[args.latency])
            except c.BenchError as e:
                out[f"{side} error"] = str(e)  # type: ignore[assignment]
    if args.json:
        print(json.dumps(out))
        return
    for name, values in out.items():
        if isinstance(values, list):
            print(f"{name:10} median {statistics.median(values):7.1f}  ({min(values):.1f}-{max(values):.1f})")
        else:
            print(f"{name:10} {values}")


if __name__ == "__main__":
    main()
