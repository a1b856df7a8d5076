"""agentcli side by side with openai-agents: every scenario of issue 6, one command, ratios.

    python bench/run.py                  # the full run (~10 min): bench/results/performance.md + .json
    python bench/run.py --quick          # fewer repetitions (a smoke run)
    python bench/run.py --no-peers       # agentcli only (no bench/.venv-peers needed)
    python bench/run.py --update-readme  # also paste performance.md between README's perf markers

Both sides talk to the same `agent sim serve` over loopback with the same fixed latencies. Each scenario
runs in rounds (agentcli, then the peer, back to back) after warm-ups; a row reports medians with their
min-max spread and the median of the per-round ratios, because this machine is shared and noisy:
absolute times drift, ratios hold. agentcli-only measures come from the other bench scripts (startup,
tracing, realtime), called as subprocesses. The peer lives in bench/.venv-peers, created on first use.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common as c  # noqa: E402
from bench import report, scenarios_room  # noqa: E402
from bench.report import Row, Target  # noqa: E402


@dataclass
class Plan:
    """How much to repeat: rounds of (agentcli, peer), repetitions inside a driver, warm-up turns."""

    rounds: int = 5
    slow_rounds: int = 3  # rounds at realistic latencies: each turn takes ~1 s
    reps: int = 8
    slow_reps: int = 3
    warmup: int = 2
    startup_runs: int = 10
    device_runs: int = 5  # realtime turns on the PulseAudio rig, in real time

    @classmethod
    def quick(cls) -> Plan:
        return cls(rounds=1, slow_rounds=1, reps=3, slow_reps=1, warmup=1, startup_runs=2, device_runs=2)


@dataclass
class Ctx:
    plan: Plan
    peers: bool
    tmp: Path
    out: Path
    log: Callable[[str], None]
    profile: bool = True
    notes: list[str] = field(default_factory=list)

    def env(self, name: str) -> dict[str, str]:
        home = self.tmp / f"home-{name}"
        home.mkdir(exist_ok=True)
        return c.base_env(home)

    def script(self, name: str, latency: dict[str, int]) -> Path:
        return c.write_script(self.tmp / f"{name}.yaml", latency)


# --- 1. CLI start ----------------------------------------------------------------------------------


def cli_start(ctx: Ctx) -> list[Row]:
    env = ctx.env("start")
    ours_cmd = [*c.agent_cmd(), "--help"]
    peer_cmd = [str(c.peer_python()), str(c.PEERS / "peer_start.py")]
    c.time_process(ours_cmd, env)  # warm-up: bytecode and page caches
    if ctx.peers:
        c.time_process(peer_cmd, env)
    ours, peer = [], []
    for _ in range(ctx.plan.startup_runs):
        ours.append(c.time_process(ours_cmd, env))
        if ctx.peers:
            peer.append(c.time_process(peer_cmd, env))
    return [Row("1", "CLI start: `agent --help` vs a script importing the peer", "s", c.Stats.of(ours),
                _stats(peer), _ratio(ours, peer), Target(abs=0.15, ratio=0.2))]  # fmt: skip


# --- 2. chat turn with one tool call ---------------------------------------------------------------


def chat_turn(ctx: Ctx) -> list[Row]:
    rows = []
    for name, latency in (("zero", c.ZERO), ("realistic", c.REALISTIC)):
        configured = 2 * latency["first_token_ms"]  # two model calls: the tool call, then the answer
        r = _rounds(ctx, f"chat-{name}", latency,
                    {"ours": _ours("agentcli_chat_turn.py"), "peer": _peer(ctx, "chat_turn.py")})  # fmt: skip
        ours, peer = [x - configured for x in r["ours"]], [x - configured for x in r["peer"]]
        if name == "zero":
            rows.append(Row("2", "Chat turn, one tool call: in-process overhead (zero latency)", "ms",
                            c.Stats.of(ours), _stats(peer), _ratio(ours, peer), Target(ratio=0.5)))  # fmt: skip
            rows.append(Row("2", "  the same: CPU time of the client process per turn", "ms",
                            c.Stats.of(r["ours_cpu"]), _stats(r["peer_cpu"]), _ratio(r["ours_cpu"], r["peer_cpu"])))
        else:
            rows.append(Row("2", f"  the same at realistic latencies: total minus the {configured} ms configured",
                            "ms", c.Stats.of(ours), _stats(peer), _ratio(ours, peer)))  # fmt: skip
    if ctx.peers:
        r = _rounds(ctx, "chat-streamed", c.ZERO,
                    {"ours": _ours("agentcli_chat_turn.py"), "peer": _peer(ctx, "chat_turn.py", "--streamed")})
        rows.append(Row("2", "  the same against the peer's Runner.run_streamed (agentcli always streams)", "ms",
                        c.Stats.of(r["ours"]), _stats(r["peer"]), _ratio(r["ours"], r["peer"])))  # fmt: skip
    if ctx.profile and not report.met(rows[0]):
        _profile_driver(ctx, "chat_turn_agentcli.txt", c.ZERO, ["agentcli_chat_turn.py", "--reps", "50"])
    return rows


# --- 3. process start to first answer byte ---------------------------------------------------------

OPENAI_RESPONSES = "import openai; openai.AsyncOpenAI(api_key='x', base_url='http://127.0.0.1:9/v1').responses"


def first_answer_byte(ctx: Ctx) -> list[Row]:
    """bench/startup_bench.py's own measurement, interleaved with what importing openai costs, so that the
    shares compare numbers from the same minutes of this noisy machine."""
    from bench.startup_bench import time_first_byte

    env = ctx.env("first-byte")
    spec = str(c.ROOT / "agent_specs" / "assistant.yaml")
    commands = {"python": [sys.executable, "-c", "pass"], "openai": [sys.executable, "-c", "import openai"],
                "responses": [sys.executable, "-c", OPENAI_RESPONSES]}  # fmt: skip
    times: dict[str, list[float]] = {"first": [], **{k: [] for k in commands}}
    for run in range(ctx.plan.startup_runs + 1):  # run 0 warms the bytecode and page caches
        sample = {"first": time_first_byte(env, spec), **{k: c.time_process(v, env) for k, v in commands.items()}}
        if run:
            for key, value in sample.items():
                times[key].append(value)
    first = c.Stats.of(times["first"])
    openai_cost = c.Stats.of([b - a for a, b in zip(times["python"], times["openai"], strict=True)])
    responses_cost = c.Stats.of([b - a for a, b in zip(times["python"], times["responses"], strict=True)])
    python_only = times["python"]
    # issue 13's measure, per round: the first answer byte minus a process that only imports openai
    own = c.Stats.of([f - o for f, o in zip(times["first"], times["openai"], strict=True)])
    rows = [
        Row("3", "Chat: process start to first answer byte (`agent chat --sim -m hi`)", "s", first,
            target=Target(abs=0.7)),
        Row("3", "  agentcli's own share: that minus `python -c 'import openai'`, paired per round", "s", own,
            target=Target(abs=0.1)),
        Row("3", "  of which `import openai` alone (its import minus a bare interpreter start)", "s", openai_cost,
            note=f"{openai_cost.median / first.median:.0%} of the median first answer byte"),
        Row("3", "  `import openai` + a client's typed Responses resource (agentcli skips it), the same way",
            "s", responses_cost, note=f"{responses_cost.median / first.median:.0%}"),
        Row("3", "  a bare interpreter start (`python -c pass`), the floor under every row", "s",
            c.Stats.of(python_only)),
    ]  # fmt: skip
    if ctx.profile and not report.met(rows[0]):
        _profile(ctx, "chat_first_answer_byte.txt", ["-m", "agentcli", "chat", "--sim", "-m", "hi", "--no-trace"])
    return rows


# --- 4. push-to-talk voice turn --------------------------------------------------------------------

SPEECH_PACE = "AGENT_SIM_SPEECH_PACE"  # x real time for /v1/audio/speech, once the simulator has it
PEER_TTS_BUFFER_S = 120 * 1024 / (24000 * 2)  # openai-agents: TTSModelSettings.buffer_size chunks of 1024 bytes


def voice_turn(ctx: Ctx) -> list[Row]:
    wav = c.spoken_wav(ctx.tmp / "question.wav")
    rows = []
    for name, latency in (("realistic", c.REALISTIC), ("zero", c.ZERO)):
        configured = latency["stt_ms"] + latency["first_token_ms"] + latency["tts_first_byte_ms"]
        results = _rounds(ctx, f"voice-{name}", latency, {
            "ours": _ours("agentcli_voice_turn.py", "--input", str(wav)),
            "peer": _peer(ctx, "voice_turn.py", "--input", str(wav))}, {SPEECH_PACE: "1"})  # fmt: skip
        if name == "realistic":
            title = f"Push-to-talk voice turn from a WAV: end of input to first reply audio byte ({configured} ms" \
                " configured)"
            rows.append(Row("4", title, "ms", c.Stats.of(results["ours"]), _stats(results["peer"]),
                            _ratio(results["ours"], results["peer"]), Target(ratio=0.3)))  # fmt: skip
        else:
            rows.append(Row("4", "  the same at zero latency (pure overhead)", "ms", c.Stats.of(results["ours"]),
                            _stats(results["peer"]), _ratio(results["ours"], results["peer"])))  # fmt: skip
    if ctx.profile and not report.met(rows[0]):
        _profile_driver(ctx, "voice_turn_agentcli.txt", c.REALISTIC,
                        ["agentcli_voice_turn.py", "--reps", "5", "--input", str(wav)])  # fmt: skip
    if SPEECH_PACE not in (c.ROOT / "agentcli" / "sim" / "audio_api.py").read_text():
        ctx.notes.append(
            f"Row 4: the simulator sends a sentence's speech all at once (no {SPEECH_PACE} yet), so the peer's "
            f"buffering (it emits audio only after {PEER_TTS_BUFFER_S:.2f} s of it, or the sentence's end) costs "
            "it nothing here; with speech streamed at real time it would wait for the whole first sentence."
        )
    return rows


# --- 5 and 6. realtime -----------------------------------------------------------------------------


def realtime(ctx: Ctx) -> list[Row]:
    ours: dict[str, Any] = {}
    if (c.BENCH / "realtime_bench.py").exists():
        env = ctx.env("realtime")
        # its CPU group (a 60 s session) is issue 5's measure, not one of these rows
        runs = str(ctx.plan.device_runs)
        ours = c.bench_json(["realtime_bench.py", "--only", "barge", "--runs", runs, "--json"], env)
        ours.update(c.bench_json(["realtime_bench.py", "--only", "rss", "--json"], env))
        if ours.get("device_measures_error"):
            ctx.notes.append(f"Row 5, agentcli: not measured: {ours['device_measures_error']}")
    else:
        ctx.notes.append("bench/realtime_bench.py is not in the tree yet: rows 5 and 6 have no agentcli figures.")
    peer: dict[str, list[float]] = {}
    if ctx.peers:
        env = dict(ctx.env("realtime-peer"), AGENT_SIM_REALTIME_PACE="1")  # answers play in real time
        with c.sim_server(ctx.script("realtime", c.ZERO), env) as sim:
            speech = c.spoken_wav(ctx.tmp / "question.wav")
            peer = c.run_driver([str(c.peer_python()), str(c.PEERS / "realtime_turn.py"), "--url", sim.ws_url,
                                 "--speech", str(speech), "--reps", str(ctx.plan.reps),
                                 "--warmup", str(ctx.plan.warmup)], c.sim_env(env, sim))  # fmt: skip
    first = report.pick(ours, "first", "audio", unit="ms")
    barge = report.pick(ours, "barge", unit="ms")
    rss = report.pick(ours, "rss_growth", unit="MB")
    return [
        Row("5", "Realtime: first audio delta received to first sample handed to the output", "ms", first,
            _stats(peer.get("first_audio_ms", [])), target=Target(abs=60),
            note="peer: to the `audio` event its app plays from (it has no output of its own)"),
        Row("5", "Realtime barge-in: speech_started received to silent output", "ms", barge,
            _stats(peer.get("barge_in_ms", [])), target=Target(abs=30),
            note="peer: to the `audio_interrupted` event (stopping playback is the app's job)"),
        Row("6", "Long session: RSS after a 30-minute fast-forwarded realtime session minus after 1 minute", "MB",
            rss, target=Target(abs=10)),
    ]  # fmt: skip


# --- 7. tracing ------------------------------------------------------------------------------------


def tracing(ctx: Ctx) -> list[Row]:
    data = report.read_bench_output(c.bench_output(["trace_bench.py", "--json"], ctx.env("trace")))
    traced, untraced = _tracing_pairs(ctx)
    diff = c.Stats.of([a - b for a, b in zip(traced, untraced, strict=True)])
    return [
        Row("7", "Tracing: recorder overhead per chat turn (12 events, in process)", "ms",
            report.pick(data, "recorder overhead", unit="ms"), target=Target(abs=5)),
        Row("7", "  the whole chat turn of row 2, tracing on minus off (turns alternating in one process)", "ms",
            diff, note="below this machine's noise" if diff.low < 0 else ""),
        Row("7", "Tracing: `agent trace show` of 10,000 spans", "s",
            report.pick(data, "trace show", "10000", unit="s", exclude=("json",)),
            target=Target(abs=0.5)),
    ]  # fmt: skip


def _tracing_pairs(ctx: Ctx) -> tuple[list[float], list[float]]:
    """Per round, the median turn with tracing on and off, the two kinds alternating in one process."""
    traced, untraced = [], []
    env = ctx.env("chat-tracing")
    with c.sim_server(ctx.script("chat-tracing", c.ZERO), env) as sim:
        for _ in range(ctx.plan.rounds):
            result = c.run_driver([sys.executable, str(c.PEERS / "agentcli_chat_turn.py"), "--compare-tracing",
                                   "--reps", str(ctx.plan.reps), "--warmup", str(ctx.plan.warmup)],
                                  c.sim_env(env, sim))  # fmt: skip
            traced.append(c.Stats.of(result["samples_ms"]).median)
            untraced.append(c.Stats.of(result["untraced_ms"]).median)
    return traced, untraced


SCENARIOS: dict[str, Callable[[Ctx], list[Row]]] = {
    "1": cli_start, "2": chat_turn, "3": first_answer_byte, "4": voice_turn, "5": realtime, "7": tracing,
    "8": scenarios_room.room, "9": scenarios_room.mcp, "10": scenarios_room.gemini,
}  # fmt: skip


# --- helpers ---------------------------------------------------------------------------------------


Side = tuple[list[str], dict[str, str]]  # a driver command, and what it adds to the environment


def _ours(script: str, *args: str) -> Side:
    return [sys.executable, str(c.PEERS / script), *args], {}


def _peer(ctx: Ctx, script: str, *args: str) -> Side | None:
    return ([str(c.peer_python()), str(c.PEERS / script), *args], {}) if ctx.peers else None


def _rounds(ctx: Ctx, name: str, latency: dict[str, int], sides: dict[str, Side | None],
            sim_extra: dict[str, str] | None = None) -> dict[str, list[float]]:  # fmt: skip
    """Round after round, each side's driver back to back on one simulator: per side and round, the median
    of the driver's turns (and of its CPU per turn when it reports that). Fewer, shorter rounds when the
    simulator has latencies (each turn then takes about a second)."""
    slow = any(latency.values())
    reps, rounds = (ctx.plan.slow_reps, ctx.plan.slow_rounds) if slow else (ctx.plan.reps, ctx.plan.rounds)
    out: dict[str, list[float]] = {}
    for label in sides:
        out[label], out[f"{label}_cpu"] = [], []
    env = ctx.env(name)
    reps_args = ["--reps", str(reps), "--warmup", str(ctx.plan.warmup)]
    with c.sim_server(ctx.script(name, latency), dict(env, **(sim_extra or {}))) as sim:
        senv = c.sim_env(env, sim)
        for _ in range(rounds):
            for label, side in sides.items():
                if side is not None:
                    cmd, extra = side
                    _collect(out, label, c.run_driver([*cmd, *reps_args], dict(senv, **extra)))
    return out


def _collect(out: dict[str, list[float]], side: str, result: dict[str, Any]) -> None:
    out[side].append(c.Stats.of(result["samples_ms"]).median)
    if result.get("cpu_ms"):
        out[f"{side}_cpu"].append(c.Stats.of(result["cpu_ms"]).median)


def _stats(samples: list[float]) -> c.Stats | None:
    return c.Stats.of(samples) if samples else None


def _ratio(ours: list[float], peer: list[float]) -> c.Stats | None:
    return _stats(c.ratios(ours, peer)) if ours and peer else None


def _profile_driver(ctx: Ctx, name: str, latency: dict[str, int], driver: list[str]) -> None:
    """pyinstrument over an agentcli driver's measured turns only (it starts the profiler after warm-up)."""
    if not c.have_peers():
        ctx.notes.append(f"no profile {name}: pyinstrument comes with bench/.venv-peers")
        return
    out = ctx.out / "profiles" / name
    env = ctx.env("profile")
    with c.sim_server(ctx.script(f"profile-{name}", latency), env) as sim:
        c.run_driver([sys.executable, str(c.PEERS / driver[0]), *driver[1:], "--profile", str(out)],
                     c.sim_env(env, sim))  # fmt: skip
    ctx.log(f"  profile: {out}")


def _profile(ctx: Ctx, name: str, target: list[str]) -> None:
    """pyinstrument text profile of a slow command into <out>/profiles/ (pyinstrument from the peer venv)."""
    if not c.have_peers():
        ctx.notes.append(f"no profile {name}: pyinstrument comes with bench/.venv-peers")
        return
    out = ctx.out / "profiles" / name
    try:
        c.time_process([sys.executable, str(c.PEERS / "profiled.py"), str(out), *target], ctx.env("profile"),
                       timeout=300)  # fmt: skip
        ctx.log(f"  profile: {out.relative_to(c.ROOT) if out.is_relative_to(c.ROOT) else out}")
    except c.BenchError as e:
        ctx.notes.append(f"no profile {name}: {e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--no-peers", action="store_true", help="agentcli only: no peer venv, no peer columns")
    parser.add_argument("--only", default="", help="scenarios to run, e.g. 1,2,3 (default: all)")
    parser.add_argument("--out", type=Path, default=c.BENCH / "results", help="where the .md/.json go")
    parser.add_argument("--no-profile", action="store_true", help="no profiles of missed targets")
    parser.add_argument("--update-readme", action="store_true", help="paste the table into README.md")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()] or list(SCENARIOS)
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {unknown[0]} (choose from {', '.join(SCENARIOS)})")

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    peers = not args.no_peers
    if peers:
        c.ensure_peer_venv(log)
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python bench/run.py" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    started = time.monotonic()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="agent-bench-") as tmp:
        ctx = Ctx(Plan.quick() if args.quick else Plan(), peers, Path(tmp), args.out, log, not args.no_profile)
        for key in chosen:
            log(f"scenario {key}: {SCENARIOS[key].__name__} ...")
            t0 = time.monotonic()
            try:
                rows += SCENARIOS[key](ctx)
            except (c.BenchError, OSError, ValueError, KeyError) as e:
                ctx.notes.append(f"scenario {key} not measured: {e}")
                log(f"  failed: {e}")
            log(f"  {time.monotonic() - t0:.0f} s")
    if not peers:
        ctx.notes.insert(0, "run with --no-peers: the peer columns are empty.")
    meta = {"command": command, "machine": c.machine(), "peer": c.peer_version() if peers else None,
            "seconds": round(time.monotonic() - started, 1), "plan": vars(ctx.plan)}  # fmt: skip
    markdown = report.markdown(rows, meta, ctx.notes)
    (args.out / "performance.md").write_text(markdown)
    (args.out / "performance.json").write_text(json.dumps(report.to_json(rows, meta, ctx.notes), indent=2) + "\n")
    print(markdown)
    if args.update_readme:
        report.update_readme(c.ROOT / "README.md", markdown)
        log("README.md: Performance section updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
