"""Voice benchmarks (issue 4), against the zero-latency simulator on the PulseAudio virtual devices:

- end of question -> first reply sample heard (issue 10; target median <= 300 ms): a complete spoken
  question into the virtual mic, the reply on the virtual speaker, both *recorded* (vmic.monitor and
  vspk.monitor), the real `agent voice --vad` at default settings against the zero-latency simulator;
- time to first audio: the program's own mark from the user's last voiced frame to the first reply sample
  handed to the output device (answers are prepared during the pause and committed at the end of the turn);
- file mode: end of input -> first reply audio byte (target <= 100 ms), plus the process start time;
- barge-in: the first voiced frame of the user's interruption -> the output block that fades out to silence
  (playback pauses on suspected speech; the interruption is confirmed later, the output already silent)
  (target <= 60 ms), both read from the `interrupted` event of the real command's --jsonl;
- CPU while listening hands-free (target <= 5 % of one core).

Run: python bench/voice_bench.py [--runs N] [--only ttfa|file|barge|cpu]. Needs PulseAudio + PortAudio (the
test rig) and espeak-ng; the measures on the virtual devices hold the rig lock (tests/pulse.py: rig_lock).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pulse import RigUnavailable, get_rig, rig_lock  # noqa: E402
from tests.voice.e2e import espeak_wav, write_script  # noqa: E402

QUESTION = "what is the weather in Paris"
REPLY = "It is sunny. The temperature in Paris is twenty degrees and it stays dry all day."
LONG = " ".join(f"This is sentence number {n} of a long answer that goes on." for n in range(1, 15))
TARGETS_MS = {"end of question -> first reply sample heard": 300.0, "time to first audio": 300.0,
              "file: end of input -> first byte": 100.0, "barge-in": 60.0,
              "barge-in (vad 10 ms frames, 30 ms start)": 60.0, "cpu listening (%)": 5.0}


FAST_VAD = "voice:\n  vad:\n    frame_ms: 10\n    start_ms: 30\n"


def bench_spec(tmp: Path, extra: str = "") -> Path:
    """The agent under test: default voice settings (VAD: 20 ms frames, 60 ms to start, 500 ms silence),
    or `extra` YAML (FAST_VAD: 10 ms frames, speech starts after 30 ms)."""
    path = tmp / f"bench_agent{abs(hash(extra))}.yaml"
    path.write_text("name: bench\ninstructions: Answer briefly.\n" + extra)
    return path


def _env(home: str) -> dict[str, str]:
    return dict(os.environ, AGENT_HOME=home, NO_COLOR="1", AGENT_TRACE="0")


def _voice(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "agentcli", "voice", *args, "--jsonl", "--no-trace"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)


def _events(proc: subprocess.Popen[str], out: list[dict[str, Any]]) -> threading.Thread:
    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass

    t = threading.Thread(target=read, daemon=True)
    t.start()
    return t


def _wait(events: list[dict[str, Any]], kind: str, n: int = 1, timeout: float = 30.0, **match: Any) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in events if e["type"] == kind and all(e.get(k) == v for k, v in match.items())]
        if len(found) >= n:
            return
        time.sleep(0.005)
    raise SystemExit(f"no {kind} event within {timeout}s")


def time_to_first_audio(rig: Any, tmp: Path, runs: int) -> list[float]:
    """Hands-free turns through the real command; the marks are measured inside it."""
    speech = espeak_wav(tmp / "q.wav", QUESTION)
    script = write_script(tmp / "s.yaml", [QUESTION + "?"] * runs, [REPLY] * runs)
    env = _env(str(tmp / "home_ttfa"))
    proc = _voice([str(bench_spec(tmp)), "--sim-script", str(script), "--vad"], env)
    events: list[dict[str, Any]] = []
    _events(proc, events)
    results = []
    try:
        _wait(events, "state", state="listening")
        for i in range(runs):
            rig.speak_into_mic(speech).wait(timeout=30)
            _wait(events, "turn_latency", n=i + 1)
            marks = [e for e in events if e["type"] == "turn_latency"][i]["marks"]
            results.append(marks["first_sample_played"])
            time.sleep(0.3)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=20)
    return results


def _monitor_recording(sink: str, path: Path) -> tuple[subprocess.Popen[bytes], float]:
    """parecord of `sink`.monitor; returns it and the perf_counter it was started at."""
    started = time.perf_counter()
    proc = subprocess.Popen(["parecord", f"--device={sink}.monitor", "--file-format=wav", "--rate=16000",
                             "--channels=1", "--format=s16le", "--latency-msec=20", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, started


def _stop_recording(proc: subprocess.Popen[bytes]) -> None:
    import signal

    proc.send_signal(signal.SIGINT)  # parecord fixes the WAV header on SIGINT
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _sound_runs(path: Path, gap_s: float, threshold: float = 0.01) -> list[tuple[float, float]]:
    """(start, end) seconds of each stretch of sound in a WAV, stretches closer than `gap_s` joined."""
    import numpy as np

    from agentcli.audio.resample import to_mono
    from agentcli.audio.wavfile import load_wav

    samples, fmt = load_wav(path)
    loud = np.flatnonzero(np.abs(to_mono(samples)) > threshold) / fmt.rate
    runs: list[tuple[float, float]] = []
    for t in loud:
        if runs and t - runs[-1][1] <= gap_s:
            runs[-1] = (runs[-1][0], float(t))
        else:
            runs.append((float(t), float(t)))
    return runs


def question_to_reply_heard(rig: Any, tmp: Path, runs: int) -> list[float]:
    """End of a complete spoken question -> first reply sample, both read from recordings of the virtual
    devices (not from the program's marks): the question's last sound on vmic, the reply's first on vspk."""
    speech = espeak_wav(tmp / "q2.wav", QUESTION)
    script = write_script(tmp / "s2.yaml", [QUESTION + "?"] * runs, [REPLY] * runs)
    env = _env(str(tmp / "home_heard"))
    proc = _voice(["--sim-script", str(script), "--vad", "--headphones"], env)
    events: list[dict[str, Any]] = []
    _events(proc, events)
    mic_wav, spk_wav = tmp / "mic.wav", tmp / "spk.wav"
    try:
        _wait(events, "state", state="listening")
        mic, mic_t0 = _monitor_recording(rig.mic_sink, mic_wav)
        spk, spk_t0 = _monitor_recording(rig.speaker_sink, spk_wav)
        time.sleep(1.0)
        for i in range(runs):
            rig.speak_into_mic(speech).wait(timeout=30)
            _wait(events, "turn_latency", n=i + 1)
            time.sleep(0.5)
        _stop_recording(mic)
        _stop_recording(spk)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=20)
    results, questions, replies = heard_waits(mic_wav, mic_t0, spk_wav, spk_t0)
    if len(results) != runs:
        raise SystemExit(f"voice bench: {questions} questions and {replies} replies in the recordings")
    return results


def heard_waits(mic_wav: Path, mic_t0: float, spk_wav: Path, spk_t0: float) -> tuple[list[float], int, int]:
    """(ms from the end of each question on the mic to the first reply sound after it on the speaker, the
    number of questions, of replies), from the two recordings started at `mic_t0`/`spk_t0` (perf clock)."""
    questions = [end for _, end in _sound_runs(mic_wav, gap_s=0.5)]
    replies = [start for start, _ in _sound_runs(spk_wav, gap_s=0.5)]
    results = []
    for end in questions:
        heard_end = mic_t0 + end
        later = [spk_t0 + r for r in replies if spk_t0 + r > heard_end - 0.2]
        if later:
            results.append((later[0] - heard_end) * 1000.0)
    return results, len(questions), len(replies)


def file_mode(tmp: Path, runs: int) -> tuple[list[float], list[float]]:
    """(end of input -> first reply byte ms, process start -> end of input ms) per run."""
    speech = espeak_wav(tmp / "q.wav", QUESTION)
    script = write_script(tmp / "sf.yaml", [QUESTION], [REPLY])
    env = _env(str(tmp / "home_file"))
    firsts, starts = [], []
    for _ in range(runs):
        t0 = time.time()
        r = subprocess.run([sys.executable, "-m", "agentcli", "voice", "--sim-script", str(script), "--input",
                            str(speech), "--output", str(tmp / "o.wav"), "--jsonl", "--no-trace"],
                           capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
        if r.returncode != 0:
            raise SystemExit(f"file mode failed: {r.stderr}")
        events = [json.loads(line) for line in r.stdout.splitlines()]
        latency = next(e for e in events if e["type"] == "turn_latency")
        marks = latency["marks"]
        firsts.append(marks["first_audio_byte"])
        # end of input = when the turn began: the latency event's time minus its last mark
        end_of_input = latency["ts"] - max(marks.values()) / 1000.0
        starts.append((end_of_input - t0) * 1000.0)
    return firsts, starts


def barge_in(rig: Any, tmp: Path, runs: int, spec_extra: str = "") -> list[float]:
    """The real command (--jsonl): each `interrupted` event says when the interrupting speech began (its
    first voiced frame) and when the output went silent for it (the block that faded out on the pause)."""
    speech = espeak_wav(tmp / "q.wav", QUESTION)
    stop = espeak_wav(tmp / "stop.wav", "stop please")
    hear = [QUESTION, "stop please"] * runs
    script = write_script(tmp / "sb.yaml", hear, [LONG, "Okay."], ["weather", "stop"])
    env = _env(str(tmp / f"home_barge{abs(hash(spec_extra))}"))
    proc = _voice([str(bench_spec(tmp, spec_extra)), "--sim-script", str(script), "--vad", "--headphones"], env)
    events: list[dict[str, Any]] = []
    _events(proc, events)
    results: list[float] = []
    try:
        _wait(events, "state", state="listening")
        for i in range(runs):
            rig.speak_into_mic(speech).wait(timeout=30)
            _wait(events, "state", 2 * i + 1, state="speaking")  # each run: the long answer, then "Okay."
            time.sleep(1.0)
            rig.speak_into_mic(stop).wait(timeout=30)
            _wait(events, "interrupted", i + 1)
            cut = [e for e in events if e["type"] == "interrupted"][i]
            if cut["silenced"] is not None and cut["speech_started"] is not None:  # None: nothing was playing
                results.append((cut["silenced"] - cut["speech_started"]) * 1000.0)
            _wait(events, "turn_latency", 2 * (i + 1))
            time.sleep(0.5)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=20)
    if not results:
        raise SystemExit("barge-in bench: no interruption landed while audio was playing")
    return results


def cpu_listening(tmp: Path, seconds: float = 5.0) -> float:
    script = write_script(tmp / "sc.yaml", [], ["ok"])
    env = _env(str(tmp / "home_cpu"))
    proc = _voice(["--sim-script", str(script), "--vad"], env)
    events: list[dict[str, Any]] = []
    _events(proc, events)
    try:
        _wait(events, "state", state="listening")
        time.sleep(1.0)  # settle
        tick = os.sysconf("SC_CLK_TCK")

        def cpu() -> float:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick

        c0, t0 = cpu(), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu(), time.monotonic()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=20)
    return (c1 - c0) / (t1 - t0) * 100.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=["heard", "ttfa", "file", "barge", "cpu"], help="Run one measure.")
    parser.add_argument("--json", action="store_true", help="One JSON object: the samples of each measure.")
    args = parser.parse_args()
    try:
        rig = get_rig()
    except RigUnavailable as e:
        raise SystemExit(f"needs the PulseAudio rig: {e}") from None
    rows: list[tuple[str, list[float], str]] = []
    want = {args.only} if args.only else {"heard", "ttfa", "file", "barge", "cpu"}
    # ttfa, barge and cpu play into / record from the virtual devices: other tests and benches on this
    # machine use them too, so hold the cross-process rig lock meanwhile (file mode needs no devices)
    with contextlib.ExitStack() as held:
        if want & {"heard", "ttfa", "barge", "cpu"}:
            try:
                held.enter_context(rig_lock(timeout=600))
            except TimeoutError as e:
                raise SystemExit(f"voice bench: {e}") from None
            rig.wait_silence()  # whatever the last holder played has drained
        tmp = Path(held.enter_context(tempfile.TemporaryDirectory()))
        if "heard" in want:
            rows.append(("end of question -> first reply sample heard", question_to_reply_heard(rig, tmp, args.runs),
                         "ms"))
        if "ttfa" in want:
            rows.append(("time to first audio", time_to_first_audio(rig, tmp, args.runs), "ms"))
        if "file" in want:
            firsts, starts = file_mode(tmp, args.runs)
            rows.append(("file: end of input -> first byte", firsts, "ms"))
            rows.append(("file: process start -> end of input", starts, "ms"))
        if "barge" in want:
            rows.append(("barge-in", barge_in(rig, tmp, args.runs), "ms"))
            fast = barge_in(rig, tmp, args.runs, FAST_VAD)
            rows.append(("barge-in (vad 10 ms frames, 30 ms start)", fast, "ms"))
        if "cpu" in want:
            rows.append(("cpu listening (%)", [cpu_listening(tmp)], "%"))
    if args.json:
        import json

        print(json.dumps({f"{name} {'pct' if unit == '%' else unit}": values for name, values, unit in rows}))
        return
    print(f"{'measure':40} {'median':>8} {'max':>8} {'target':>8}  ok")
    for name, values, _unit in rows:
        target = TARGETS_MS.get(name)
        med, worst = statistics.median(values), max(values)
        ok = "" if target is None else ("yes" if med <= target else "NO")
        print(f"{name:40} {med:8.1f} {worst:8.1f} {target if target is not None else '-':>8}  {ok}")


if __name__ == "__main__":
    main()
