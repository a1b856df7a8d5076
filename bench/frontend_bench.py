"""Acoustic front end benchmark (issue 10), on the PulseAudio rig's echo path (tests/pulse.py):

1. Echo reduction on a recorded echo path: our Player speaks ~9 s of generated speech on the virtual
   speaker while the rig's loopback (vspk.monitor -> vmic, 30 ms, at each --gains dB) leaks it into the
   virtual mic, which our Recorder captures. Recorded are the mic blocks and the player's far-end tap,
   each with its callback time; the front end then processes them offline exactly as it would live, so
   every configuration sees the same recording. Echo reduction = mic vs output level over the echo-only
   part after 2 s (target >= 30 dB).
2. Near-end preservation: near-end speech (another voice) is mixed into the recorded mic, starting 2 s
   before the echo stops; its level in the output where it speaks alone vs alone (target within 1 dB), and
   during double talk (AEC3's suppressor ducks it there; reported, no target).
3. CPU per second of audio, as % of one core: the front end (AEC3 + noise suppression + high-pass, and
   without noise suppression), the Silero VAD on speech and on a quiet room, webrtcvad.
4. CPU of the whole live path, process time / wall time: Recorder + front end + Silero VAD listening
   (nothing playing; target <= 5 %), and the same while the Player speaks through the echo path at full
   volume (target <= 10 %).

It holds the rig lock while recording. Run: python bench/frontend_bench.py [--gains 0 -18 -30] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from agentcli.audio.frontend import FarEndTap, FrontEnd, webrtc_available  # noqa: E402
from agentcli.audio.mic import Recorder  # noqa: E402
from agentcli.audio.player import Player  # noqa: E402
from agentcli.audio.resample import dbfs  # noqa: E402
from agentcli.audio.vad import TurnDetector  # noqa: E402
from agentcli.audio.wavfile import read_wav  # noqa: E402
from agentcli.spec.model import VadSettings  # noqa: E402
from tests.pulse import get_rig, rig_lock  # noqa: E402

RATE = 16000
PLAY_RATE = 24000
BLOCK_S = 0.02
ERLE_TARGET_DB = 30.0
NEAR_TARGET_DB = 1.0
FAR_TEXT = (
    "Here is the weather for today. It will be sunny with a light breeze from the west, "
    "temperatures around twenty degrees, and a small chance of rain late in the evening."
)
NEAR_TEXT = "Wait, stop, I have another question for you."


def _speech(text: str, rate: int, tmp: Path, voice: str = "en") -> np.ndarray:
    if shutil.which("espeak-ng") is None:
        raise SystemExit("frontend_bench: espeak-ng is not installed (apt-get install espeak-ng)")
    path = tmp / f"{abs(hash((text, voice)))}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
    return read_wav(path, rate)


class _RecordingTap(FarEndTap):
    """The player's tap, also keeping every block it was given (for the offline replay)."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[np.ndarray, int, float, bool]] = []

    def push(self, block: np.ndarray, rate: int, handed_at: float, restart: bool = False) -> None:
        super().push(block, rate, handed_at, restart)
        self.log.append((block, rate, handed_at, restart))


class _RecordingFrontEnd(FrontEnd):
    """Passes audio through, keeping each mic block with the recorder's time for it."""

    def __init__(self) -> None:
        super().__init__(RATE, far_end=None, echo=False, noise_suppression=False, high_pass=False)
        self.log: list[tuple[np.ndarray, float]] = []

    def process(self, block: np.ndarray, captured_at: float | None = None) -> np.ndarray:
        self.log.append((np.array(block, np.float32), captured_at or 0.0))
        return block


async def _record(far: np.ndarray) -> tuple[list[tuple[np.ndarray, int, float]], list[tuple[np.ndarray, float]]]:
    tap = _RecordingTap()
    mic = _RecordingFrontEnd()
    async with Player(rate=PLAY_RATE) as player:
        player.far_end = tap
        async with Recorder(rate=RATE, block_ms=20, frontend=mic) as rec:
            await asyncio.sleep(0.3)  # both streams running before the answer starts
            player.write(far)
            player.end_utterance()
            deadline = time.perf_counter() + far.shape[0] / PLAY_RATE + 3.5  # room for the near end's tail
            while time.perf_counter() < deadline:
                if await asyncio.wait_for(rec.read(), timeout=2) is None:
                    break
    return tap.log, mic.log


def _replay(
    front: FrontEnd, tap: FarEndTap, far_log: list[tuple[np.ndarray, int, float, bool]],
    mic: list[tuple[np.ndarray, float]],
) -> tuple[np.ndarray, float]:
    """Feed the recording through `front` in the order the callbacks delivered it; (output, CPU seconds)."""
    out = []
    k = 0
    cpu = 0.0
    for block, label in mic:
        delivered = label + block.shape[0] / RATE
        while k < len(far_log) and far_log[k][2] <= delivered:
            tap.push(*far_log[k])
            k += 1
        t = time.process_time()
        out.append(front.process(block, label))
        cpu += time.process_time() - t
    return np.concatenate(out), cpu


def _measure(gain_db: float, recording: Any, near: np.ndarray, far_s: float) -> dict[str, Any]:
    far_log, mic_log = recording
    mic = np.concatenate([b for b, _ in mic_log])
    first = mic_log[0][1]
    # where the echo lies in the mic recording: the answer starts at the first far block with sound
    t_play = next(t for b, _, t, _ in far_log if np.any(b != 0))
    echo_at = int((t_play - first) * RATE)
    echo_end = echo_at + int(far_s * RATE)
    near_at = echo_end - 2 * RATE
    near_sig = np.zeros_like(mic)
    n = min(near.shape[0], mic.shape[0] - near_at)
    near_sig[near_at : near_at + n] = near[:n] * 0.5
    row: dict[str, Any] = {"gain_db": gain_db, "echo_dbfs": dbfs(mic[echo_at + 2 * RATE : near_at])}
    for name, kwargs in (("full", {}), ("no_ns", {"noise_suppression": False})):
        mixed = mic + near_sig
        blocks = []
        pos = 0
        for b, label in mic_log:  # the same block boundaries and times, with the near end mixed in
            blocks.append((mixed[pos : pos + b.shape[0]], label))
            pos += b.shape[0]
        tap = FarEndTap()
        out, cpu = _replay(FrontEnd(RATE, far_end=tap, **kwargs), tap, far_log, blocks)
        a, b = echo_at + 2 * RATE, near_at
        alone = slice(echo_end + RATE // 10, near_at + n)
        talk = slice(near_at, echo_end)
        row[name] = {
            "echo_reduction_db": dbfs(mixed[a:b]) - dbfs(out[a:b]),
            "near_alone_change_db": dbfs(out[alone]) - dbfs(near_sig[alone]),
            "double_talk_change_db": dbfs(out[talk]) - dbfs(near_sig[talk]),
            "cpu_pct": 100.0 * cpu / (mic.shape[0] / RATE),
        }
    return row


async def _live_cpu(far: np.ndarray | None, seconds: float) -> dict[str, float]:
    """Process CPU while the live path runs for `seconds` (the player speaking `far`, or idle)."""
    async with Player(rate=PLAY_RATE) as player:
        front = FrontEnd(RATE, far_end=player.far_end)
        det = TurnDetector(VadSettings(), RATE)
        events = 0
        async with Recorder(rate=RATE, block_ms=20, frontend=front) as rec:
            await asyncio.sleep(0.3)
            if far is not None:
                player.write(far)
                player.end_utterance()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            while time.perf_counter() - wall0 < seconds:
                block = await asyncio.wait_for(rec.read(), timeout=2)
                if block is None:
                    break
                events += sum(1 for _ in det.feed(block, allow_speech=front.guard.allows(block, player.energy)))
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"cpu_pct": 100.0 * cpu / wall, "vad_events": events, "seconds": wall}


def _vad_cpu(x: np.ndarray, engine: str) -> float:
    det = TurnDetector(VadSettings(), RATE, engine=engine)
    t = time.process_time()
    for i in range(0, x.shape[0], 320):
        det.feed(x[i : i + 320])
    return 100.0 * (time.process_time() - t) / (x.shape[0] / RATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gains", type=float, nargs="+", default=[0.0, -18.0, -30.0], help="echo path gains, dB")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    why = webrtc_available()
    if why is not None:
        raise SystemExit(f"frontend_bench: pywebrtc-audio is not importable ({why})")
    with tempfile.TemporaryDirectory() as tmp:
        far = _speech(FAR_TEXT, PLAY_RATE, Path(tmp)) * 0.7
        near = _speech(NEAR_TEXT, RATE, Path(tmp), voice="en-us")
        speech16 = _speech(FAR_TEXT, RATE, Path(tmp))
    rig = get_rig()
    rows = []
    with rig_lock(timeout=600):
        rig.wait_silence()
        for gain in args.gains:
            with rig.echo_path(gain):
                recording = asyncio.run(_record(far))
            rows.append(_measure(gain, recording, near, far.shape[0] / PLAY_RATE))
        live = {"listening": asyncio.run(_live_cpu(None, 8.0))}
        with rig.echo_path(0.0):
            live["speaking"] = asyncio.run(_live_cpu(far, min(8.0, far.shape[0] / PLAY_RATE)))
    quiet = (np.random.default_rng(0).standard_normal(10 * RATE) * 10 ** (-65 / 20)).astype(np.float32)
    cpu = {
        "silero_speech_pct": _vad_cpu(speech16, "silero"),
        "silero_quiet_room_pct": _vad_cpu(quiet, "silero"),
        "webrtcvad_speech_pct": _vad_cpu(speech16, "webrtc"),
    }
    result = {
        "echo_path": rows,
        "vad_cpu": cpu,
        "live": live,
        "erle_target_db": ERLE_TARGET_DB,
        "near_target_db": NEAR_TARGET_DB,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print("echo path  echo     | front end (AEC3 + noise suppression + HPF)  | without noise suppression")
    print("gain dB    dBFS     | reduction  near alone  double talk  CPU    | reduction  near alone  double talk  CPU")
    for r in rows:
        cells = []
        for name in ("full", "no_ns"):
            m = r[name]
            ok = "ok" if m["echo_reduction_db"] >= ERLE_TARGET_DB and abs(m["near_alone_change_db"]) <= 1 else "!!"
            cells.append(
                f"{m['echo_reduction_db']:6.1f} dB {m['near_alone_change_db']:+7.2f} dB "
                f"{m['double_talk_change_db']:+8.1f} dB {m['cpu_pct']:4.1f}% {ok}"
            )
        print(f"{r['gain_db']:7.0f}  {r['echo_dbfs']:7.1f}    | " + " | ".join(cells))
    print("(!! = short of a target; CPU = % of one core per second of audio)")
    print(
        f"VAD CPU per second of audio: Silero {cpu['silero_speech_pct']:.1f}% on speech, "
        f"{cpu['silero_quiet_room_pct']:.2f}% in a quiet room (pre-filter); "
        f"webrtcvad {cpu['webrtcvad_speech_pct']:.2f}%"
    )
    print(
        f"live path CPU (recorder + front end + Silero): listening {live['listening']['cpu_pct']:.1f}% "
        f"(target <= 5%), speaking through the echo path {live['speaking']['cpu_pct']:.1f}% (target <= 10%; "
        f"{live['speaking']['vad_events']} VAD events from our own voice)"
    )
    print(f"targets: echo reduction >= {ERLE_TARGET_DB:.0f} dB, near end alone within {NEAR_TARGET_DB:.0f} dB")


if __name__ == "__main__":
    main()
