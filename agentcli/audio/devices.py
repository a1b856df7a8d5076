"""Audio devices through PortAudio (sounddevice), with errors a user can act on.

`sounddevice` is imported lazily: it loads the PortAudio shared library at import time, which costs startup
time and fails with an OSError on machines without it; `portaudio()` turns that into an AudioError.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any, Literal

from agentcli.errors import AudioError

Kind = Literal["input", "output"]

_INSTALL_HINT = "PortAudio is not installed: apt-get install libportaudio2 (Debian/Ubuntu)"
_sd: ModuleType | None = None


def portaudio() -> ModuleType:
    """The `sounddevice` module, imported on first use; a missing PortAudio library -> AudioError."""
    global _sd
    if _sd is None:
        try:
            import sounddevice
        except OSError as e:  # sounddevice raises OSError("PortAudio library not found")
            raise AudioError(_INSTALL_HINT) from e
        _sd = sounddevice
    return _sd


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


def _flag(kind: Kind) -> str:
    return "--input-device" if kind == "input" else "--output-device"


def _describe(devs: list[DeviceInfo]) -> str:
    return ", ".join(f"{d.index}: {d.name}" for d in devs) or "none"


def resolve_device(spec: str | int | None, kind: Kind) -> DeviceInfo:
    """Find the device meant by `spec`: None = the system default, an int (or digits) = a device id,
    else a case-insensitive substring of the name (an exact name wins over substrings).

    Raises AudioError naming `--input-device`/`--output-device` when nothing fits or several do.
    """
    devices = [d for d in list_devices() if d.channels(kind) > 0]
    flag = _flag(kind)
    if not devices:
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
    if not matches:
        raise AudioError(f"no {kind} device matches {spec!r} ({flag}); {kind} devices: {_describe(devices)}")
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
