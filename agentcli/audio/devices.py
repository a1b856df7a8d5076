"""Audio devices through PortAudio (sounddevice) and the sound server (PulseAudio/PipeWire, via pactl),
with errors a user can act on.

PortAudio reaches PulseAudio/PipeWire through ALSA's `pulse` device, which opens the server's default
source or sink unless PULSE_SOURCE / PULSE_SINK name another. So a sound-server name given to
--input-device/--output-device (`vmic.monitor`, `alsa_output.usb-...`) resolves to PortAudio's `pulse` (or
`pipewire`, `default`) device with that variable set for the streams this process opens.

`sounddevice` is imported lazily: it loads the PortAudio shared library at import time, which costs startup
time and fails with an OSError on machines without it; `portaudio()` turns that into an AudioError.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any, Literal

from agentcli.errors import AudioError

Kind = Literal["input", "output"]

_INSTALL_HINT = "PortAudio is not installed: apt-get install libportaudio2 (Debian/Ubuntu)"
_sd: ModuleType | None = None


def portaudio() -> ModuleType:
    """The `sounddevice` module, imported on first use; a missing PortAudio library -> AudioError.
    The C libraries' own messages (ALSA's `ALSA lib pcm.c:… underrun occurred`, JACK's probing) go to
    the audio log, not into the user's terminal and the live view: only agentcli's messages show there."""
    global _sd
    if _sd is None:
        _route_alsa_errors()
        try:
            with _c_stderr_to_log():  # PortAudio's initialisation probes every host API and device
                import sounddevice
        except OSError as e:  # sounddevice raises OSError("PortAudio library not found")
            raise AudioError(_INSTALL_HINT) from e
        _sd = sounddevice
    return _sd


def audio_log_path() -> str:
    from agentcli.paths import agent_home

    return str(agent_home() / "audio.log")


_alsa_handler: Any = None  # kept alive: ALSA holds a pointer to it


def _route_alsa_errors() -> None:
    """Every ALSA library message goes through snd_lib_error; its default prints to fd 2, also later,
    from PortAudio's audio thread (an underrun at start). Send them to the audio log instead."""
    global _alsa_handler
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("asound")
    if _alsa_handler is not None or name is None:
        return
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return
    handler_type = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                    ctypes.c_char_p)  # the variadic arguments after fmt are not read

    def log(file: bytes | None, line: int, function: bytes | None, err: int, fmt: bytes | None) -> None:
        try:
            with open(audio_log_path(), "a", encoding="utf-8") as out:
                text = (fmt or b"").decode(errors="replace")
                out.write(f"ALSA lib {(file or b'').decode()}:{line}:({(function or b'').decode()}) {text}\n")
        except Exception:  # noqa: BLE001, S110 - a log that cannot be written must not break audio
            pass

    with contextlib.suppress(OSError):  # a log, not an archive: start over past 1 MB
        if os.path.getsize(audio_log_path()) > 1_000_000:
            os.truncate(audio_log_path(), 0)
    _alsa_handler = handler_type(log)
    lib.snd_lib_error_set_handler(_alsa_handler)


@contextlib.contextmanager
def _c_stderr_to_log() -> Iterator[None]:
    """Point fd 2 at the audio log while C code runs that prints there (our own stderr is silent then)."""
    try:
        sys.stderr.flush()
        log_fd = os.open(audio_log_path(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        os.dup2(log_fd, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(log_fd)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """One PortAudio device. `index` is what sounddevice streams take as `device=`."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    default_input: bool = False
    default_output: bool = False

    def channels(self, kind: Kind) -> int:
        return self.max_input_channels if kind == "input" else self.max_output_channels

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _default_indexes(sd: ModuleType) -> tuple[int, int]:
    try:
        dev = sd.default.device
        inp, out = int(dev[0]), int(dev[1])
    except Exception:  # an odd default setting must not break listing
        inp, out = -1, -1
    return inp, out


def list_devices() -> list[DeviceInfo]:
    """Every device PortAudio sees, with the system default input/output marked."""
    sd = portaudio()
    try:
        raw = sd.query_devices()
        apis = sd.query_hostapis()
    except Exception as e:  # PortAudio initialisation errors surface here
        raise AudioError(f"cannot list audio devices: {e}") from e
    default_in, default_out = _default_indexes(sd)
    devices: list[DeviceInfo] = []
    for d in raw:
        idx = int(d["index"])
        api = apis[d["hostapi"]]["name"] if 0 <= d["hostapi"] < len(apis) else str(d["hostapi"])
        devices.append(
            DeviceInfo(
                index=idx,
                name=str(d["name"]),
                hostapi=str(api),
                max_input_channels=int(d["max_input_channels"]),
                max_output_channels=int(d["max_output_channels"]),
                default_samplerate=float(d["default_samplerate"]),
                default_input=idx == default_in,
                default_output=idx == default_out,
            )
        )
    return devices


@dataclass(frozen=True, slots=True)
class ServerDevice:
    """One source (input) or sink (output) of the sound server, picked by `name`."""

    name: str
    description: str
    kind: Kind
    channels: int
    samplerate: float
    default: bool = False
    server: str = "PulseAudio"  # or "PipeWire" (PulseAudio on PipeWire)

    @property
    def monitor(self) -> bool:
        """A sink's monitor: records what is played there (not a microphone)."""
        return self.kind == "input" and self.name.endswith(".monitor")

    def to_dict(self) -> dict[str, Any]:
        """The shape of DeviceInfo.to_dict (index None: chosen by name), plus description and server."""
        return {"index": None, "name": self.name, "hostapi": self.server,
                "max_input_channels": self.channels if self.kind == "input" else 0,
                "max_output_channels": self.channels if self.kind == "output" else 0,
                "default_samplerate": self.samplerate, "default_input": self.default and self.kind == "input",
                "default_output": self.default and self.kind == "output", "description": self.description}


class SoundServerUnreachable(AudioError):
    """pactl is there but the PulseAudio/PipeWire server does not answer."""


def _pactl(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LC_ALL": "C"}  # its labels are translated in other locales
    return subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=5, env=env)


def server_devices() -> list[ServerDevice] | None:
    """The sound server's sources and sinks with its defaults marked; None when there is no pactl.
    Raises SoundServerUnreachable when pactl cannot reach the server."""
    if shutil.which("pactl") is None:
        return None
    try:
        info = _pactl("info")
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SoundServerUnreachable(f"the sound server (PulseAudio/PipeWire) is not reachable: {e}") from None
    if info.returncode != 0:
        why = (info.stderr or info.stdout).strip().splitlines()
        raise SoundServerUnreachable("the sound server (PulseAudio/PipeWire) is not reachable"
                                     + (f" ({why[-1]})" if why else "")
                                     + "; start it, or check PULSE_SERVER")
    fields = dict(line.split(": ", 1) for line in info.stdout.splitlines() if ": " in line)
    server = "PipeWire" if "PipeWire" in fields.get("Server Name", "") else "PulseAudio"
    found: list[ServerDevice] = []
    for kind, what, default in (("input", "sources", fields.get("Default Source")),
                                ("output", "sinks", fields.get("Default Sink"))):
        for name, description, spec in _pactl_list(what):
            channels, rate = _sample_spec(spec)
            found.append(ServerDevice(name, description, kind, channels, rate, name == default, server))  # type: ignore[arg-type]
    return found


def _pactl_list(what: str) -> list[tuple[str, str, str]]:
    """(name, description, sample spec) of each source or sink: JSON where pactl has it (16+), else short."""
    out = _pactl("-f", "json", "list", what)
    if out.returncode == 0:
        try:
            return [(d["name"], d.get("description") or d["name"], d.get("sample_specification", ""))
                    for d in json.loads(out.stdout)]
        except (ValueError, KeyError, TypeError):
            pass
    out = _pactl("list", "short", what)
    rows = [line.split("\t") for line in out.stdout.splitlines()]
    return [(r[1], r[1], r[3] if len(r) > 3 else "") for r in rows if len(r) > 1]


def _sample_spec(spec: str) -> tuple[int, float]:
    """"s16le 2ch 48000Hz" -> (2, 48000.0)."""
    channels, rate = 0, 0.0
    for part in spec.split():
        if part.endswith("ch") and part[:-2].isdigit():
            channels = int(part[:-2])
        elif part.endswith("Hz") and part[:-2].isdigit():
            rate = float(part[:-2])
    return channels, rate


def _server_match(spec: str, kind: Kind) -> ServerDevice | None:
    """The sound-server device `spec` names (exact name, else one name/description containing it)."""
    try:
        devices = [d for d in server_devices() or [] if d.kind == kind]
    except SoundServerUnreachable:
        return None
    wanted = spec.strip().lower()
    exact = [d for d in devices if d.name.lower() == wanted]
    if exact:
        return exact[0]
    partial = [d for d in devices if wanted in d.name.lower() or wanted in d.description.lower()]
    return partial[0] if len(partial) == 1 else None


def _route_to_server(device: ServerDevice, portaudio_devices: list[DeviceInfo], kind: Kind) -> DeviceInfo:
    """PortAudio's device into the sound server, with PULSE_SOURCE/PULSE_SINK naming `device`."""
    for bridge in ("pulse", "pipewire", "default"):
        for d in portaudio_devices:
            if d.name == bridge:
                os.environ["PULSE_SOURCE" if kind == "input" else "PULSE_SINK"] = device.name
                return d
    raise AudioError(f"{device.name} is a {device.server} {'source' if kind == 'input' else 'sink'}, but PortAudio "
                     f"has no `pulse` device to reach it (apt-get install libasound2-plugins)")


def unreachable_server() -> SoundServerUnreachable | None:
    """Why the sound server cannot be used, when pactl is there and it does not answer."""
    try:
        server_devices()
    except SoundServerUnreachable as e:
        return e
    return None


def _flag(kind: Kind) -> str:
    return "--input-device" if kind == "input" else "--output-device"


def _describe(devs: list[DeviceInfo]) -> str:
    return ", ".join(f"{d.index}: {d.name}" for d in devs) or "none"


def _server_names(kind: Kind) -> str:
    try:
        names = [d.name for d in server_devices() or [] if d.kind == kind]
    except SoundServerUnreachable:
        return ""
    what = "sources" if kind == "input" else "sinks"
    return f"; sound server {what}: {', '.join(names)}" if names else ""


def resolve_device(spec: str | int | None, kind: Kind) -> DeviceInfo:
    """Find the device meant by `spec`: None = the system default, an int (or digits) = a device id,
    else a case-insensitive substring of the name (an exact name wins over substrings).

    Raises AudioError naming `--input-device`/`--output-device` when nothing fits or several do.
    """
    devices = [d for d in list_devices() if d.channels(kind) > 0]
    flag = _flag(kind)
    if not devices:
        down = unreachable_server()
        if down is not None:
            raise down
        raise AudioError(f"no audio {kind} device found; connect one or pick one with {flag} (see `agent devices`)")
    if spec is None or (isinstance(spec, str) and spec.strip() in ("", "default")):
        for d in devices:
            if d.default_input if kind == "input" else d.default_output:
                return d
        return devices[0]  # no system default: the first usable device
    if isinstance(spec, int) or spec.strip().isdigit():
        idx = int(spec)
        for d in devices:
            if d.index == idx:
                return d
        raise AudioError(f"no {kind} device with id {idx} ({flag}); {kind} devices: {_describe(devices)}")
    wanted = spec.strip().lower()
    exact = [d for d in devices if d.name.lower() == wanted]
    if len(exact) == 1:
        return exact[0]
    matches = exact or [d for d in devices if wanted in d.name.lower()]
    if len(matches) == 1:
        return matches[0]
    server = _server_match(spec, kind) if not exact else None
    if server is not None:
        return _route_to_server(server, devices, kind)
    if not matches:
        raise AudioError(f"no {kind} device matches {spec!r} ({flag}); {kind} devices: {_describe(devices)}"
                         + _server_names(kind))
    raise AudioError(f"{spec!r} matches several {kind} devices ({flag}): {_describe(matches)}; give an id")


def supports_rate(device: DeviceInfo, kind: Kind, rate: int, channels: int = 1) -> bool:
    """Whether PortAudio would open `device` at `rate` Hz with `channels` channels."""
    sd = portaudio()
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=device.index, samplerate=rate, channels=channels, dtype="float32")
    except Exception:  # PortAudioError or ValueError: unsupported combination
        return False
    return True


def stream_format(device: DeviceInfo, kind: Kind, wanted_rate: int) -> tuple[int, int]:
    """(rate, channels) to open `device` with: the wanted rate in mono when the device takes it,
    else its native rate and the fewest channels it accepts (we mix down / duplicate ourselves)."""
    max_ch = device.channels(kind)
    for ch in (1, min(2, max_ch), max_ch):
        if ch >= 1 and supports_rate(device, kind, wanted_rate, ch):
            return wanted_rate, ch
    native = int(device.default_samplerate)
    for ch in (1, min(2, max_ch), max_ch):
        if ch >= 1 and supports_rate(device, kind, native, ch):
            return native, ch
    raise AudioError(
        f"{kind} device {device.index} ({device.name}) cannot be opened at {wanted_rate} or {native} Hz; "
        f"pick another with {_flag(kind)}"
    )
