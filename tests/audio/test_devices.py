"""Device listing and resolution, the missing-PortAudio message, and `agent devices`."""

from __future__ import annotations

import builtins
import json
import os
from pathlib import Path
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
    monkeypatch.setattr(devices_mod, "server_devices", lambda: None)  # no sound server in these


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
    monkeypatch.setattr(devices_mod, "server_devices", lambda: None)
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
    monkeypatch.setattr(devices_mod, "server_devices", lambda: None)
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


# -- the sound server's own sources and sinks (PulseAudio here; PipeWire speaks the same protocol) --------


@pytest.mark.e2e
def test_agent_devices_lists_the_sound_servers_sources_and_sinks_with_defaults(agent: Any, pulse_rig: Any) -> None:
    r = agent("devices")
    assert r.returncode == 0, r.stderr
    import re

    row = re.compile(r"^(\S+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(in out|in|out)?\s*(\S+) \(")
    rows = {m[6]: [m[1], m[2], m[3], m[4], m[5] or ""]
            for m in map(row.match, r.stdout.splitlines()[1:]) if m}
    assert rows["vmic.monitor"] == ["-", "2", "0", "48000", "in"]  # the rig's default source
    assert rows["vspk"] == ["-", "0", "2", "48000", "out"]  # and default sink
    assert rows["vmic"][4] == "" and rows["vspk.monitor"][4] == ""  # listed, not default
    assert not any(r[4] for name, r in rows.items() if r[0] != "-")  # PortAudio's bridge is not marked
    data = json.loads(agent("devices", "--json").stdout)
    by_name = {d["name"]: d for d in data}
    assert by_name["vmic.monitor"]["default_input"] is True and by_name["vmic.monitor"]["index"] is None
    assert by_name["vspk"]["default_output"] is True and by_name["vspk"]["hostapi"] in ("PulseAudio", "PipeWire")
    assert sum(d["default_input"] for d in data) == 1 and sum(d["default_output"] for d in data) == 1


@pytest.mark.e2e
def test_an_unreachable_sound_server_is_said_as_such(agent: Any, pulse_rig: Any, tmp_path: Path) -> None:
    env = dict(os.environ, PULSE_SERVER=f"unix:{tmp_path}/no-such-socket")
    r = agent("devices", env=env)
    assert r.returncode == 1
    assert r.stderr.startswith("agent: error: the sound server (PulseAudio/PipeWire) is not reachable")
    assert r.stderr.count("\n") == 1 and "ALSA lib" not in r.stderr and "Traceback" not in r.stderr
    r = agent("voice", "--sim", "--output-device", "vspk", env=env, input="")
    assert r.returncode == 1
    assert "not reachable" in r.stderr and "no audio output device found" not in r.stderr


@pytest.mark.audio
def test_a_sound_server_source_is_picked_by_name(pulse_rig: Any, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The rig's default source is vmic.monitor; naming vspk.monitor must record what plays into vspk."""
    import asyncio
    import subprocess

    import numpy as np

    from agentcli.audio.mic import Recorder
    from agentcli.audio.resample import rms
    from agentcli.audio.wavfile import write_wav

    # resolve_device sets PULSE_SOURCE for this process: recorded here so that teardown removes it again
    # (the rest of the session, and the commands it starts, must record from the rig's default source)
    monkeypatch.setenv("PULSE_SOURCE", "")
    monkeypatch.delenv("PULSE_SOURCE")
    t = np.arange(44100) / 44100
    wav = tmp_path / "tone.wav"
    write_wav(wav, (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 44100)
    with pytest.raises(AudioError, match="no input device matches 'nothing-like-this'.*vspk.monitor"):
        resolve_device("nothing-like-this", "input")

    async def loudest() -> float:
        async with Recorder("vspk.monitor", rate=16000, block_ms=20) as rec:
            assert os.environ["PULSE_SOURCE"] == "vspk.monitor" and rec.device is not None
            play = subprocess.Popen(["paplay", "--device=vspk", str(wav)])
            levels = []
            for _ in range(60):  # 1.2 s
                block = await asyncio.wait_for(rec.read(), timeout=2)
                assert block is not None
                levels.append(rms(block))
            play.wait(timeout=5)
        return max(levels)

    assert asyncio.run(loudest()) > 0.1


def test_the_routing_variable_does_not_outlive_the_test_above() -> None:
    assert "PULSE_SOURCE" not in os.environ and "PULSE_SINK" not in os.environ


_OPEN_BAD_PCM = """
import ctypes, sys
{setup}
lib = ctypes.CDLL("libasound.so.2")
pcm = ctypes.c_void_p()
assert lib.snd_pcm_open(ctypes.byref(pcm), b"nonexistent_agentcli_pcm", 0, 0) < 0
print("ours", file=sys.stderr)
"""


@pytest.mark.parametrize("quieted", [False, True])
def test_alsa_messages_go_to_the_audio_log_not_the_terminal(tmp_path: Path, quieted: bool) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    setup = "from agentcli.audio.devices import portaudio; portaudio()" if quieted else ""
    r = subprocess.run([sys.executable, "-c", _OPEN_BAD_PCM.format(setup=setup)], capture_output=True, text=True,
                       cwd=str(ROOT), env=dict(os.environ, AGENT_HOME=str(tmp_path)), timeout=60)
    assert r.returncode == 0, r.stderr
    log = tmp_path / "audio.log"
    if not quieted:  # what the user saw before: the C library writes straight into the terminal
        assert "ALSA lib pcm.c" in r.stderr and "Unknown PCM nonexistent_agentcli_pcm" in r.stderr
        return
    assert r.stderr == "ours\n"  # our own messages still show
    assert "Unknown PCM" in log.read_text()
