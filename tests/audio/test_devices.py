"""Device listing and resolution, the missing-PortAudio message, and `agent devices`."""

from __future__ import annotations

import builtins
import json
from typing import Any

import pytest

from agentcli.audio import devices as devices_mod
from agentcli.audio.devices import DeviceInfo, list_devices, resolve_device
from agentcli.cli import devices_cmd
from agentcli.errors import AudioError

FAKE = [
    DeviceInfo(0, "HDA Intel PCH: ALC892 Analog", "ALSA", 2, 2, 44100.0),
    DeviceInfo(1, "USB Headset Mic", "ALSA", 1, 0, 48000.0, default_input=True),
    DeviceInfo(2, "USB Headset", "ALSA", 0, 2, 48000.0, default_output=True),
    DeviceInfo(3, "pulse", "ALSA", 32, 32, 44100.0),
]


@pytest.fixture
def fake_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices_mod, "list_devices", lambda: FAKE)


def test_resolve_by_default_id_name_and_substring(fake_devices: None) -> None:
    assert resolve_device(None, "input").index == 1
    assert resolve_device(None, "output").index == 2
    assert resolve_device(3, "output").name == "pulse"
    assert resolve_device("0", "input").index == 0
    assert resolve_device("alc892", "output").index == 0
    assert resolve_device("USB Headset", "output").index == 2  # an exact name wins over substrings
    assert resolve_device("headset", "input").index == 1  # only input devices are candidates


@pytest.mark.parametrize(
    ("spec", "kind", "expected"),
    [
        ("nonexistent-device-xyz", "input", ["--input-device", "no input device matches", "1: USB Headset Mic"]),
        ("usb", "output", None),  # one output device matches: no error
        ("a", "output", ["matches several output devices", "--output-device", "give an id"]),
        (7, "output", ["no output device with id 7", "--output-device"]),
        (2, "input", ["no input device with id 2"]),  # an output-only device is not an input
    ],
)
def test_resolution_errors_are_one_line_naming_the_flag(
    fake_devices: None, spec: str | int, kind: Any, expected: list[str] | None
) -> None:
    if expected is None:
        assert resolve_device(spec, kind).index == 2
        return
    with pytest.raises(AudioError) as err:
        resolve_device(spec, kind)
    msg = str(err.value)
    assert "\n" not in msg
    for part in expected:
        assert part in msg


def test_no_device_at_all_names_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices_mod, "list_devices", lambda: [FAKE[2]])  # an output only
    with pytest.raises(AudioError, match="no audio input device found.*--input-device"):
        resolve_device(None, "input")


def test_missing_portaudio_is_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(devices_mod, "_sd", None)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(AudioError, match=r"PortAudio is not installed: apt-get install libportaudio2"):
        devices_mod.portaudio()


@pytest.mark.e2e
def test_real_listing_marks_defaults_and_rates(pulse_rig: Any) -> None:
    found = list_devices()
    assert any(d.name in ("pulse", "default") for d in found), [d.name for d in found]
    assert all(d.default_samplerate > 0 for d in found)
    assert sum(d.default_input for d in found) <= 1 and sum(d.default_output for d in found) <= 1


def test_devices_command_table_and_json(fake_devices: None, capsys: pytest.CaptureFixture[str]) -> None:
    devices_cmd.devices(json_out=False)
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["ID", "IN", "OUT", "RATE", "DEFAULT", "NAME"]
    assert out[2].split()[:5] == ["1", "1", "0", "48000", "in"] and "USB Headset Mic" in out[2]
    assert out[3].split()[:5] == ["2", "0", "2", "48000", "out"]
    devices_cmd.devices(json_out=True)
    data = json.loads(capsys.readouterr().out)
    assert [d["index"] for d in data] == [0, 1, 2, 3] and data[1]["default_input"] is True


def test_devices_command_audio_error_is_one_line_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> list[DeviceInfo]:
        raise AudioError("PortAudio is not installed: apt-get install libportaudio2 (Debian/Ubuntu)")

    monkeypatch.setattr(devices_mod, "list_devices", broken)
    with pytest.raises(BaseException) as exc:
        devices_cmd.devices(json_out=False)
    assert getattr(exc.value, "exit_code", None) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "libportaudio2" in err


@pytest.mark.e2e
def test_agent_devices_command_runs(agent: Any, pulse_rig: Any) -> None:
    plain = agent("devices")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.splitlines()[0].split()[:2] == ["ID", "IN"]
    as_json = agent("devices", "--json")
    assert as_json.returncode == 0 and isinstance(json.loads(as_json.stdout), list)
