"""Audio benchmarks (issue 4), on the PulseAudio virtual devices (tests/pulse.py starts them):

1. CPU of hands-free listening: Recorder + TurnDetector running for --seconds on the virtual microphone
   while noise is played into it, as % of one core (process CPU time / wall time; target <= 5%).
   The same with no noise playing, for comparison.
2. Player flush-to-silence: time from flush() to the first all-zero audio callback (our side), over
   --flushes trials, plus the stream's reported output latency (what the device adds after that).

It holds the rig lock (tests/pulse.py: rig_lock) while it runs.
Run: python bench/audio_bench.py [--seconds 10] [--flushes 10] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from agentcli.audio.mic import Recorder  # noqa: E402
from agentcli.audio.player import Player  # noqa: E402
from agentcli.audio.vad import TurnDetector  # noqa: E402
from agentcli.audio.wavfile import write_wav  # noqa: E402
from agentcli.spec.model import VadSettings  # noqa: E402
from tests.pulse import PulseRig, get_rig, rig_lock  # noqa: E402

CPU_TARGET_PCT = 5.0


def _noise_wav(path: Path, seconds: float) -> Path:
    """Pink-ish noise at about -30 dBFS: what a fan or a room sounds like to a laptop mic."""
    rng = np.random.default_rng(0)
    white = rng.normal(0, 1, int(16000 * seconds))
    pink = np.convolve(white, np.ones(8) / 8, mode="same")
    pink *= 0.03 / np.sqrt(np.mean(pink**2))
    write_wav(path, pink.astype(np.float32), 16000)
    return path


async def _listen(seconds: float) -> dict[str, float]:
    det = TurnDetector(VadSettings(), 16000)
    events = 0
    blocks = 0
    async with Recorder(rate=16000, block_ms=20) as rec:
        await asyncio.sleep(0.2)  # let the stream settle before measuring
        cpu0, wall0 = time.process_time(), time.perf_counter()
        while time.perf_counter() - wall0 < seconds:
            block = await rec.read()
            if block is None:
                break
            blocks += 1
            events += len(det.feed(block))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        dropped = rec.dropped_blocks
    return {"cpu_pct": 100.0 * cpu / wall, "blocks": blocks, "vad_events": events, "dropped_blocks": dropped}


def bench_listening(rig: PulseRig, seconds: float, noise: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = rig.speak_into_mic(_noise_wav(Path(tmp) / "noise.wav", seconds + 1)) if noise else None
        try:
            return asyncio.run(_listen(seconds))
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=5)


async def _flushes(trials: int) -> dict[str, float]:
    t = np.arange(48000) / 24000
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    delays: list[float] = []
    async with Player(rate=24000, block_ms=20) as player:
        for i in range(trials):
            player.begin_utterance()
            player.write(tone)
            await asyncio.sleep(0.2 + 0.013 * i)  # flush at varying points within a block
            player.flush()
            await asyncio.sleep(0.1)
            if player.last_silence_time is not None and player.last_flush_time is not None:
                delays.append((player.last_silence_time - player.last_flush_time) * 1000)
        latency_ms = player.latency_s * 1000
    return {
        "flush_to_silent_callback_ms_median": statistics.median(delays),
        "flush_to_silent_callback_ms_max": max(delays),
        "output_latency_ms": latency_ms,
        "block_ms": 20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="listening time per scenario")
    parser.add_argument("--flushes", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rig = get_rig()
    with rig_lock(timeout=600):  # other tests and benches on this machine use the same virtual devices
        rig.wait_silence()
        result = {
            "listening_noise": bench_listening(rig, args.seconds, noise=True),
            "listening_silence": bench_listening(rig, args.seconds, noise=False),
            "flush": asyncio.run(_flushes(args.flushes)),
            "cpu_target_pct": CPU_TARGET_PCT,
        }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name in ("listening_noise", "listening_silence"):
        r = result[name]
        ok = "ok" if r["cpu_pct"] <= CPU_TARGET_PCT else "OVER TARGET"
        print(
            f"{name:<18} cpu {r['cpu_pct']:5.2f}% of one core (target <= {CPU_TARGET_PCT}%: {ok}), "
            f"{r['blocks']} blocks, {r['dropped_blocks']} dropped, {r['vad_events']} VAD events"
        )
    f = result["flush"]
    print(
        f"flush -> silent callback: median {f['flush_to_silent_callback_ms_median']:.1f} ms, "
        f"max {f['flush_to_silent_callback_ms_max']:.1f} ms (block {f['block_ms']} ms); "
        f"then the device's output latency {f['output_latency_ms']:.0f} ms"
    )


if __name__ == "__main__":
    main()
