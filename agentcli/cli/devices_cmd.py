"""`agent devices [--json]`: the sound server's sources and sinks (PulseAudio/PipeWire, picked by name) and
the devices PortAudio sees (picked by id or name), to pick --input-device/--output-device.

Heavy imports (sounddevice, rich) happen inside the function: `agent --help` must stay fast.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

from agentcli.cli.common import fail
from agentcli.cli.term import color_allowed


def _rows(devices: list[Any]) -> list[tuple[str, str, str, str, str, str]]:
    rows = []
    for d in devices:
        info = d.to_dict()
        marks = " ".join(m for m, on in (("in", info["default_input"]), ("out", info["default_output"])) if on)
        about = info.get("description")
        detail = f"{info['hostapi']}: {about}" if about and about != d.name else info["hostapi"]
        rows.append(
            (
                "-" if info["index"] is None else str(info["index"]),
                str(info["max_input_channels"]),
                str(info["max_output_channels"]),
                f"{info['default_samplerate']:g}",
                marks,
                f"{d.name} ({detail})",
            )
        )
    return rows


_HEADER = ("ID", "IN", "OUT", "RATE", "DEFAULT", "NAME")


def _plain(rows: list[tuple[str, ...]]) -> str:
    table = [_HEADER, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(_HEADER) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1] for r in table]
    return "\n".join(line.rstrip() for line in lines)


def devices(json_out: bool) -> None:
    """Print the sound server's sources and sinks (ID `-`: give the name), then PortAudio's devices: channel
    counts, sample rates, defaults. No device at all, or an audio problem, is one error line and exit 1;
    an unreachable sound server is said as such."""
    from agentcli.audio.devices import SoundServerUnreachable, list_devices, server_devices
    from agentcli.errors import AudioError

    down: SoundServerUnreachable | None = None
    try:
        server = server_devices() or []
    except SoundServerUnreachable as e:
        server, down = [], e
    try:
        local = list_devices()
    except AudioError as e:
        if down is None and not server:
            fail(str(e), e.exit_code)
        local = []
    # with a sound server, PortAudio's default is its bridge; the server's own defaults are the ones to mark
    if any(d.default for d in server):
        local = [dataclasses.replace(d, default_input=False, default_output=False) for d in local]
    found: list[Any] = [*server, *local]
    if not any(d.to_dict()["max_input_channels"] or d.to_dict()["max_output_channels"] for d in found):
        fail(str(down) if down is not None else "no audio devices found", 1)
    if down is not None:
        print(f"agent: warning: {down}", file=sys.stderr)
    if json_out:
        print(json.dumps([d.to_dict() for d in found], indent=2))
        return
    rows = _rows(found)
    if not color_allowed():
        print(_plain(rows))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for col in _HEADER:
        table.add_column(col, justify="right" if col in ("ID", "IN", "OUT", "RATE") else "left")
    for r in rows:
        table.add_row(*r)
    Console().print(table)
