"""A PulseAudio test rig: a virtual microphone and speaker on machines with no sound card.

PortAudio reaches PulseAudio through ALSA's pulse plugin (libasound2-plugins): its "default" and "pulse"
devices are PulseAudio's default source and sink. The rig makes those two null sinks:

- `vmic`: anything played into it (paplay --device=vmic) is what the microphone hears, because the
  default source is its monitor, `vmic.monitor`;
- `vspk`: the default sink, where our Player's audio goes; `vspk.monitor` records what was played.

A null sink that no client asks for low latency renders ahead in 2-second blocks, so a new stream (our
PortAudio player, paplay) waits up to 2 s before it starts, and PortAudio callbacks stall; a new recording
from a monitor can wait as long for its first block. The rig keeps one silent low-latency `pacat` playing
into each sink and one recording from each monitor ("keepalives"), and waits until both directions answer
promptly before any test runs; they cost PulseAudio a few % of a core.

Starting the daemon as root works with a warning: `pulseaudio -D -n --load=module-native-protocol-unix
--exit-idle-time=-1` (no --system: a per-user daemon under /tmp/pulse-*, reachable through ~/.config/pulse).
Everything is idempotent: an already running daemon (from an earlier session) and already loaded sinks and
keepalives are reused.

Other test folders use it by importing the fixture in their conftest.py:

    from tests.pulse import pulse_rig  # noqa: F401

A laptop whose speaker leaks into its microphone: `rig.echo_path(gain_db=-18)` (a context manager, or the
`echo_path` fixture at full volume) loads `module-loopback` from vspk.monitor into vmic, so what the
player plays the mic hears ~30 ms later; it is unloaded on exit. Noise to play into the mic is made by
tests/noise.py (steady noise, a cough-like burst, typing clicks).

Tests that take `pulse_rig` skip with the reason when PulseAudio or PortAudio is missing, and fail instead
when AGENT_TEST_REQUIRE_AUDIO=1 (tests/run.sh sets it, so CI never passes with the audio tests skipped).
A file lock serialises rig users across concurrent pytest processes on one machine (the sinks are global).
The pactl queries it makes are in tests/pulse_ctl.py.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.pulse_ctl import (
    first_capture_s,
    loopback_sink_input,
    pactl,
    server_up,
    short_list,
    sink_inputs,
    sink_latencies_ms,
    source_outputs,
    wait_for,
)

MIC_SINK = "vmic"
SPEAKER_SINK = "vspk"
_TOOLS = ("pulseaudio", "pactl", "paplay", "parecord")
_LOCK_PATH = "/tmp/agentcli-pulse-rig.lock"
_KEEPALIVE = "agentcli-rig-keepalive"
_KEEPALIVES: list[subprocess.Popen[bytes]] = []
# tests/run.sh (and so CI) sets this: there the rig must work, and a missing rig fails the tests that need it.
REQUIRE_ENV = "AGENT_TEST_REQUIRE_AUDIO"


class RigUnavailable(Exception):
    """PulseAudio or PortAudio cannot be used here (the reason is the message)."""


class SpeakerRecording:
    """A parecord of vspk.monitor running in the background; stop() finishes the WAV."""

    def __init__(self, out_wav: str | os.PathLike[str], rate: int = 24000):
        self.path = Path(out_wav)
        self.rate = rate
        self.started = time.perf_counter()
        self._proc = subprocess.Popen(
            [
                "parecord",
                f"--device={SPEAKER_SINK}.monitor",
                "--file-format=wav",
                f"--rate={rate}",
                "--channels=1",
                "--format=s16le",
                "--latency-msec=20",
                str(self.path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def stop(self) -> Path:
        """Stop recording (SIGINT lets parecord fix the WAV header) and return the file."""
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        return self.path


class PulseRig:
    """The virtual devices. `ensure()` starts PulseAudio and loads the sinks if needed (idempotent)."""

    mic_sink = MIC_SINK
    speaker_sink = SPEAKER_SINK

    def __init__(self) -> None:
        self.ready = False

    def ensure(self) -> None:
        """Make the daemon, vmic and vspk exist and be the defaults; RigUnavailable if impossible."""
        missing = [t for t in _TOOLS if shutil.which(t) is None]
        if missing:
            raise RigUnavailable(f"PulseAudio tools missing ({', '.join(missing)}): apt-get install pulseaudio")
        if not server_up():
            # A per-user daemon that never exits on idle; as root PulseAudio only warns.
            subprocess.run(
                [
                    "pulseaudio",
                    "-D",
                    "-n",  # no default.pa: no hardware probing, no restore databases; only what the rig loads
                    "--load=module-native-protocol-unix",
                    "--exit-idle-time=-1",
                    "--disallow-exit",
                    "--log-target=stderr",
                ],
                capture_output=True,
                timeout=15,
            )
            deadline = time.monotonic() + 10
            while not server_up():
                if time.monotonic() > deadline:
                    raise RigUnavailable("PulseAudio did not start (pulseaudio -D failed)")
                time.sleep(0.1)
        sinks = short_list("sinks")
        for name in (MIC_SINK, SPEAKER_SINK):
            if name not in sinks:
                r = pactl(
                    "load-module",
                    "module-null-sink",
                    f"sink_name={name}",
                    f"sink_properties=device.description={name}",
                )
                if r.returncode != 0:
                    raise RigUnavailable(f"cannot load null sink {name}: {r.stderr.strip()}")
        # Defaults first: PulseAudio moves streams that sit on the old default sink when it changes.
        pactl("set-default-source", f"{MIC_SINK}.monitor")
        pactl("set-default-sink", SPEAKER_SINK)
        for name in (MIC_SINK, SPEAKER_SINK):
            self._ensure_keepalive(name, "playback")
            self._ensure_keepalive(f"{name}.monitor", "record")
        self._wait_settled()
        self._wait_monitors_deliver()
        self._check_portaudio()
        self.ready = True

    @staticmethod
    def _ensure_keepalive(device: str, direction: str) -> None:
        """A silent, low-latency stream playing into a sink or recording from a monitor ("playback" or
        "record"), left running (like the daemon) for later sessions."""
        listing = sink_inputs if direction == "playback" else source_outputs
        stream = f"{_KEEPALIVE}-{direction}-{device}"
        if any(i["media"] == stream and i["device"] == device for i in listing()):
            return
        argv = ["pacat", f"--{direction}", f"--device={device}", "--latency-msec=40", "--rate=48000"]
        argv += ["--channels=1", "--format=s16le", f"--client-name={_KEEPALIVE}", f"--stream-name={stream}"]
        if direction == "playback":
            argv.append("/dev/zero")
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # not tied to this pytest run; the next run reuses it
        )
        _KEEPALIVES.append(proc)  # referenced, so no "still running" warning when it is collected
        deadline = time.monotonic() + 5
        while not any(i["media"] == stream and i["device"] == device for i in listing()):
            if time.monotonic() > deadline:
                raise RigUnavailable(f"the keepalive stream {stream} did not start (pacat)")
            time.sleep(0.05)

    @staticmethod
    def _wait_monitors_deliver(timeout: float = 8.0) -> None:
        """Wait until a new recording from each monitor gets its first audio at once. Until a monitor has
        run for a while at low latency, a new capture stream (our Recorder, parecord) can wait ~2 s for
        its first block; the record keepalives keep that from coming back once it has passed."""
        deadline = time.monotonic() + timeout
        for sink in (MIC_SINK, SPEAKER_SINK):
            while first_capture_s(f"{sink}.monitor") > 0.3:
                if time.monotonic() > deadline:
                    raise RigUnavailable(f"{sink}.monitor is slow to deliver audio to new recordings")

    @staticmethod
    def _wait_settled(timeout: float = 5.0) -> None:
        """Wait until both sinks play with low latency. A freshly loaded null sink has already rendered a
        2-second block before the keepalive's request took effect; a stream opened before that block is
        used up stalls for its remainder (a first test's player would hear nothing for ~2 s)."""
        deadline = time.monotonic() + timeout
        while True:
            latency = sink_latencies_ms()
            if all(latency.get(name, 1e9) < 100 for name in (MIC_SINK, SPEAKER_SINK)):
                return
            if time.monotonic() > deadline:
                raise RigUnavailable(f"the null sinks did not settle to low latency: {latency} ms")
            time.sleep(0.05)

    @staticmethod
    def _check_portaudio() -> None:
        try:
            import sounddevice as sd
        except OSError as e:
            raise RigUnavailable(f"PortAudio missing ({e}): apt-get install libportaudio2") from e
        # PortAudio lists devices once, when it initialises: if this process touched it before the daemon
        # was up (an earlier test), it saw nothing. Re-initialising makes it look again.
        sd._terminate()
        sd._initialize()
        names = [d["name"] for d in sd.query_devices()]
        if not any(n in ("pulse", "default") for n in names):
            raise RigUnavailable(f"PortAudio sees no pulse/default device (has {names}): install libasound2-plugins")

    # --- helpers for tests ---------------------------------------------------------------------------

    def speak_into_mic(self, wav_path: str | os.PathLike[str]) -> subprocess.Popen[bytes]:
        """Play a WAV into the virtual microphone in the background (wait() on the result to finish)."""
        return subprocess.Popen(
            ["paplay", f"--device={MIC_SINK}", "--latency-msec=20", os.fspath(wav_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start_speaker_recording(self, out_wav: str | os.PathLike[str], rate: int = 24000) -> SpeakerRecording:
        """Record what is played on the virtual speaker until .stop()."""
        before = self._count("source-outputs")
        rec = SpeakerRecording(out_wav, rate)
        deadline = time.monotonic() + 3  # parecord takes a moment to attach; audio before that is lost
        while self._count("source-outputs") <= before and time.monotonic() < deadline:
            time.sleep(0.02)
        return rec

    def record_speaker(self, out_wav: str | os.PathLike[str], seconds: float, rate: int = 24000) -> Path:
        """Record the virtual speaker for `seconds` (blocking)."""
        rec = self.start_speaker_recording(out_wav, rate)
        time.sleep(seconds)
        return rec.stop()

    def wait_silence(self, sink: str = MIC_SINK, timeout: float = 5.0) -> bool:
        """Wait until nothing plays into `sink` any more (no sink inputs on it); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not [i for i in sink_inputs() if i["device"] == sink and not i["media"].startswith(_KEEPALIVE)]:
                return True
            time.sleep(0.05)
        return False

    @staticmethod
    def _count(kind: str) -> int:
        return len(pactl("list", "short", kind).stdout.strip().splitlines())

    def play_on_speaker(self, wav_path: str | os.PathLike[str]) -> subprocess.Popen[bytes]:
        """Play a WAV on the virtual speaker (as the assistant's voice would be) in the background."""
        return subprocess.Popen(
            ["paplay", f"--device={SPEAKER_SINK}", "--latency-msec=20", os.fspath(wav_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    @contextmanager
    def echo_path(self, gain_db: float = 0.0, latency_ms: int = 30) -> Iterator[int]:
        """The speaker heard in the microphone: a loopback from vspk.monitor into vmic, `latency_ms` late
        and `gain_db` (0: full volume) loud, for the duration of the `with`. Yields the module index."""
        unload_echo_paths()  # one left by a test that was killed
        r = pactl(
            "load-module",
            "module-loopback",
            f"source={SPEAKER_SINK}.monitor",
            f"sink={MIC_SINK}",
            f"latency_msec={latency_ms}",
            "source_dont_move=true",
            "sink_dont_move=true",
            "remix=true",
        )
        if r.returncode != 0:
            raise RigUnavailable(f"cannot load the echo path (module-loopback): {r.stderr.strip()}")
        module = int(r.stdout.strip())
        try:
            stream = wait_for(lambda: loopback_sink_input(module), 5.0)
            if stream is None:
                raise RigUnavailable("the echo path's loopback stream did not appear")
            # a linear factor: pactl reads "-18dB" as an option
            pactl("set-sink-input-volume", stream, f"{10 ** (gain_db / 20):.6f}")
            yield module
        finally:
            pactl("unload-module", str(module))


def unload_echo_paths() -> int:
    """Unload every loopback from vspk.monitor into vmic; returns how many there were."""
    n = 0
    for line in pactl("list", "short", "modules").stdout.splitlines():
        cols = line.split("\t")
        if len(cols) > 2 and cols[1] == "module-loopback" and f"source={SPEAKER_SINK}.monitor" in cols[2]:
            pactl("unload-module", cols[0])
            n += 1
    return n


_RIG = PulseRig()
_UNAVAILABLE: str | None = None


def get_rig() -> PulseRig:
    """The process-wide rig, set up on first use; raises RigUnavailable with the reason."""
    global _UNAVAILABLE
    if _UNAVAILABLE is not None:
        raise RigUnavailable(_UNAVAILABLE)
    if not _RIG.ready:
        try:
            _RIG.ensure()
        except RigUnavailable as e:
            _UNAVAILABLE = str(e)
            raise
    return _RIG


@contextmanager
def rig_lock(timeout: float | None = None) -> Iterator[None]:
    """Hold the virtual devices exclusively (across processes): tests, benches and demos that play or
    record on vmic/vspk take it so their audio does not mix. TimeoutError if held longer than `timeout`
    (default 120 s, or $AGENT_RIG_LOCK_TIMEOUT where several suites share one machine)."""
    if timeout is None:
        timeout = float(os.environ.get("AGENT_RIG_LOCK_TIMEOUT", "120"))
    with open(_LOCK_PATH, "a+") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"another process held the PulseAudio rig lock for {timeout:.0f} s") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture
def pulse_rig() -> Iterator[PulseRig]:
    """The virtual mic/speaker, held exclusively by this test (across pytest processes, too)."""
    try:
        rig = get_rig()
    except RigUnavailable as e:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"PulseAudio rig unavailable ({REQUIRE_ENV}=1): {e}")
        pytest.skip(f"PulseAudio rig unavailable: {e}")
    try:
        with rig_lock():
            rig.wait_silence(MIC_SINK, timeout=2)
            yield rig
    except TimeoutError as e:
        pytest.fail(str(e))


@pytest.fixture
def echo_path(pulse_rig: PulseRig) -> Iterator[PulseRig]:
    """The rig with the speaker leaking into the mic at full volume (30 ms late); removed after the test."""
    try:
        with pulse_rig.echo_path(0.0):
            yield pulse_rig
    except RigUnavailable as e:
        pytest.fail(str(e))
