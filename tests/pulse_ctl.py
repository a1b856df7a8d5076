"""PulseAudio queries for the test rig (tests/pulse.py): pactl in the C locale, its listings of sinks,
streams and latencies read into Python, and how long a new recording waits for its first block."""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Callable


def pactl(*args: str, timeout: float = 5) -> subprocess.CompletedProcess[str]:
    # LC_ALL=C: the rig parses pactl's listings, whose labels are translated in other locales.
    env = {**os.environ, "LC_ALL": "C"}
    return subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=timeout, env=env)


def server_up() -> bool:
    try:
        return pactl("info").returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def short_list(what: str) -> list[str]:
    out = pactl("list", "short", what)
    return [line.split("\t")[1] for line in out.stdout.splitlines() if "\t" in line]


def _streams(kind: str, header: str, device_label: str, devices: str) -> list[dict[str, str]]:
    """Streams of a kind ("sink-inputs", "source-outputs"): {"device": sink/source name, "media": media.name}."""
    names = {}
    for line in pactl("list", "short", devices).stdout.splitlines():
        cols = line.split("\t")
        if len(cols) > 1:
            names[cols[0]] = cols[1]
    streams: list[dict[str, str]] = []
    for line in pactl("list", kind).stdout.splitlines():
        line = line.strip()
        if line.startswith(header):
            streams.append({"device": "", "media": ""})
        elif streams and line.startswith(device_label):
            streams[-1]["device"] = names.get(line.split(":", 1)[1].strip(), "")
        elif streams and line.startswith("media.name ="):
            streams[-1]["media"] = line.split("=", 1)[1].strip().strip('"')
    return streams


def sink_inputs() -> list[dict[str, str]]:
    """Streams playing into sinks."""
    return _streams("sink-inputs", "Sink Input #", "Sink:", "sinks")


def source_outputs() -> list[dict[str, str]]:
    """Streams recording from sources (monitors included)."""
    return _streams("source-outputs", "Source Output #", "Source:", "sources")


def first_capture_s(source: str) -> float:
    """Seconds a new low-latency recording from `source` waits for its first 20 ms (10 if none comes)."""
    argv = ["parecord", f"--device={source}", "--raw", "--latency-msec=20", "--rate=16000", "--channels=1"]
    proc = subprocess.Popen([*argv, "--format=s16le"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 10.0)
        return time.monotonic() - t0 if ready and os.read(proc.stdout.fileno(), 640) else 10.0
    finally:
        proc.kill()
        proc.wait()


def sink_latencies_ms() -> dict[str, float]:
    """Each sink's current latency (what it has rendered ahead), from `pactl list sinks`."""
    latency: dict[str, float] = {}
    name = ""
    for line in pactl("list", "sinks").stdout.splitlines():
        line = line.strip()
        if line.startswith("Name:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("Latency:") and name:
            latency[name] = float(line.split()[1]) / 1000.0  # "Latency: 1844498 usec, configured ..."
    return latency


def loopback_sink_input(module: int) -> str | None:
    """The sink input (playback stream) that a loopback module owns, by id."""
    current = None
    for line in pactl("list", "sink-inputs").stdout.splitlines():
        line = line.strip()
        if line.startswith("Sink Input #"):
            current = line.split("#", 1)[1]
        elif line.startswith("Owner Module:") and current and line.split(":", 1)[1].strip() == str(module):
            return current
    return None


def wait_for(fn: Callable[[], str | None], timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    while (value := fn()) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return value
