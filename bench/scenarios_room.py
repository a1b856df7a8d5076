"""bench/run.py's scenarios for the later issues, agentcli alone except one row of 8:

8. voice in a real room (bench/frontend_bench.py, bench/voice_bench.py): echo reduction of the acoustic
   front end on a recorded echo path, end of a spoken question to the first reply sample heard (at zero
   latency, and at realistic latencies against openai-agents' VoicePipeline + StreamedAudioInput,
   bench/heard_bench.py), barge-in, CPU of the live path;
9. MCP (bench/mcp_bench.py): start to first answer byte with one stdio server, and a call's overhead;
10. Gemini Live (bench/realtime_bench.py --provider gemini): the realtime rows on the second provider, and
    the realtime CPU of the real command on both providers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench import common as c
from bench import report
from bench.report import Row, Target

if TYPE_CHECKING:
    from bench.run import Ctx


def room(ctx: Ctx) -> list[Row]:
    front = c.bench_json(["frontend_bench.py", "--json"], ctx.env("frontend"))
    full = next((p for p in front.get("echo_path", []) if p.get("gain_db") == 0.0), {}).get("full", {})
    live = front.get("live", {})
    runs = str(ctx.plan.device_runs)
    voice = c.bench_json(["voice_bench.py", "--only", "heard", "--runs", runs, "--json"], ctx.env("voice-heard"))
    voice.update(c.bench_json(["voice_bench.py", "--only", "barge", "--runs", runs, "--json"], ctx.env("voice-barge")))
    heard = c.bench_json(["heard_bench.py", "--side", "both" if ctx.peers else "ours", "--latency", "realistic",
                          "--runs", runs, "--json"], ctx.env("heard"))  # fmt: skip
    for key in ("ours error", "peer error"):
        if key in heard:
            ctx.notes.append(f"Row 8, {key.split()[0]} at realistic latencies: not measured: {heard[key]}")
    ours, peer = heard.get("ours ms") or [], heard.get("peer ms") or []
    return [
        Row("8", "Room: echo removed by the front end, speaker leaking at full volume (recorded path)", "dB",
            _one(full.get("echo_reduction_db")), note="target ≥ 30 dB"),
        Row("8", "  the user's own voice through it, alone (change)", "dB", _one(full.get("near_alone_change_db")),
            note="target within ±1 dB"),
        Row("8", "  CPU of the front end", "%", _one(full.get("cpu_pct"))),
        Row("8", "  CPU of the live path (recorder, front end, VAD) while listening", "%",
            _one(live.get("listening", {}).get("cpu_pct")), target=Target(abs=5)),
        Row("8", "  the same while the assistant speaks through a full-volume echo", "%",
            _one(live.get("speaking", {}).get("cpu_pct")), target=Target(abs=10)),
        Row("8", "Voice: end of a spoken question to the first reply sample heard (zero latency, recordings)", "ms",
            report.pick(voice, "first reply sample heard", unit="ms"), target=Target(abs=300)),
        Row("8", "  the same at realistic latencies (STT 300, first token 400, speech 200 ms; peer: VoicePipeline"
            " + StreamedAudioInput)", "ms", _stats(ours), _stats(peer),
            _stats(c.ratios(ours, peer)) if ours and peer else None),
        Row("8", "Voice barge-in: first voiced frame to output faded to silence", "ms",
            report.pick(voice, "barge-in", unit="ms", exclude=("vad 10",)), target=Target(abs=150)),
    ]  # fmt: skip


def mcp(ctx: Ctx) -> list[Row]:
    data = c.bench_json(["mcp_bench.py", "--runs", str(max(3, ctx.plan.startup_runs // 2)), "--json"], ctx.env("mcp"))
    return [
        Row("9", "MCP: `agent chat --sim -m hi` start to first answer byte, one stdio server", "s",
            report.pick(data, "first answer byte", "one stdio", unit="s")),
        Row("9", "  the same without MCP", "s", report.pick(data, "first answer byte", "without", unit="s")),
        Row("9", "MCP: one tool call through the toolset, stdio server", "ms",
            report.pick(data, "call", "MCP", unit="ms")),
        Row("9", "  the same work as a python tool", "ms", report.pick(data, "call", "python", unit="ms")),
    ]  # fmt: skip


CPU_SECONDS = 20  # the real command's session, three spoken turns in it
CPU_RUNS = 3


def realtime_cpu(ctx: Ctx) -> dict[str, c.Stats | None]:
    """CPU of the real `agent voice --realtime` on the virtual devices, per provider: the same session,
    the providers alternating so that both see the machine's load alike."""
    values: dict[str, list[float]] = {"openai": [], "gemini": []}
    for _ in range(CPU_RUNS):
        for provider, got in values.items():
            args = ["realtime_bench.py", "--provider", provider, "--only", "cpu", "--cpu-seconds", str(CPU_SECONDS)]
            data = c.bench_json([*args, "--json"], ctx.env(f"cpu-{provider}"))
            if data.get("device_measures_error"):
                ctx.notes.append(f"Row 10, realtime CPU ({provider}): not measured: {data['device_measures_error']}")
            elif isinstance(data.get("cpu_percent"), int | float):
                got.append(float(data["cpu_percent"]))
    return {p: c.Stats.of(v) if v else None for p, v in values.items()}


def gemini(ctx: Ctx) -> list[Row]:
    env = ctx.env("gemini")
    runs = str(ctx.plan.device_runs)
    ours = c.bench_json(["realtime_bench.py", "--provider", "gemini", "--only", "barge", "--runs", runs, "--json"], env)
    ours.update(c.bench_json(["realtime_bench.py", "--provider", "gemini", "--only", "rss", "--json"], env))
    cpu = realtime_cpu(ctx)
    return [
        Row("10", "Gemini Live: first audio delta received to first sample handed to the output", "ms",
            report.pick(ours, "first", "audio", unit="ms"), target=Target(abs=60)),
        Row("10", "Gemini Live barge-in: `interrupted` received to silent output", "ms",
            report.pick(ours, "barge", unit="ms"), target=Target(abs=30)),
        Row("10", "Gemini Live: RSS after a 30-minute fast-forwarded session minus after 1 minute", "MB",
            report.pick(ours, "rss_growth", unit="MB"), target=Target(abs=10)),
        Row("10", f"Realtime: CPU of the real command over a {CPU_SECONDS} s session with three spoken turns, OpenAI's "
            "protocol", "%", cpu["openai"], target=Target(abs=5)),
        Row("10", "  the same over Gemini Live (the microphone resampled 24→16 kHz)", "%", cpu["gemini"],
            target=Target(abs=5)),
    ]  # fmt: skip


def _stats(samples: list[float]) -> c.Stats | None:
    return c.Stats.of(samples) if samples else None


def _one(value: Any) -> c.Stats | None:
    return c.Stats.of([float(value)]) if isinstance(value, int | float) else None

