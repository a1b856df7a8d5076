"""agentcli: one push-to-talk voice turn from a WAV, in process, the way `agent voice --input` runs it.

The same job as bench/peers/voice_turn.py: `run_voice` on bench/peers/voice.yaml with the spoken question
as input and a WAV file as the output device, against the simulator named by OPENAI_BASE_URL (tracing
on, as a user gets it). Turns run one after another in one event loop, like the turns of one session,
the first ones unmeasured. Measured per turn: the pipeline's own `first_audio_byte` mark (end of input ->
first reply audio byte handed to the output). Prints one JSON line: {"samples_ms": [...]}.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from agentcli import events as ev  # noqa: E402
from agentcli.cli.common import load_spec_arg  # noqa: E402
from agentcli.voice.options import VoiceOptions  # noqa: E402
from agentcli.voice.run import run_voice  # noqa: E402
from bench.common import driver_args, emit_result  # noqa: E402


async def main() -> None:
    parser = driver_args(__doc__)
    parser.add_argument("--input", required=True, type=Path, help="the spoken question (WAV)")
    parser.add_argument("--profile", type=Path, help="a pyinstrument text profile of the measured turns")
    args = parser.parse_args()
    profiler = None
    spec = load_spec_arg(str(Path(__file__).with_name("voice.yaml")))
    samples: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        opts = VoiceOptions(input_wav=args.input, output_wav=Path(tmp) / "answer.wav", quiet=True)
        for i in range(args.warmup + args.reps):
            if args.profile and i == args.warmup:
                from bench.peers.profiled import make_profiler

                profiler = make_profiler()
                profiler.start()
            events: list[ev.Event] = []
            code = await run_voice(spec, opts, renderer=events.append)
            latency = [e for e in events if isinstance(e, ev.TurnLatency)]
            if code != 0 or not latency or "first_audio_byte" not in latency[-1].marks:
                errors = [e.message for e in events if isinstance(e, ev.ErrorEvent)]
                raise SystemExit(f"voice turn failed (exit {code}): {errors}")
            if i >= args.warmup:
                samples.append(latency[-1].marks["first_audio_byte"])
    if profiler is not None:
        from bench.peers.profiled import save

        profiler.stop()
        save(profiler, args.profile)
    emit_result({"samples_ms": samples})


if __name__ == "__main__":
    asyncio.run(main())
