"""`agent devices [--json]`: the audio devices PortAudio sees, to pick --input-device/--output-device.

Heavy imports (sounddevice, rich) happen inside the function: `agent --help` must stay fast.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from agentcli.cli.common import fail
from agentcli.cli.term import color_allowed


def _rows(devices: list[Any]) -> list[tuple[str, str, str, str, str, str]]:
    rows = []
    for d in devices:
        marks = " ".join(m for m, on in (("in", d.default_input), ("out", d.default_output)) if on)
        rows.append(
            (
                str(d.index),
                str(d.max_input_channels),
                str(d.max_output_channels),
                f"{d.default_samplerate:g}",
                marks,
                f"{d.name} ({d.hostapi})",
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
    """Print input and output devices: ids, channel counts, default sample rates, system defaults.
    An audio problem (no PortAudio) is one error line and exit code 1."""
    from agentcli.audio.devices import list_devices
    from agentcli.errors import AudioError

    try:
        found = list_devices()
    except AudioError as e:
        fail(str(e), e.exit_code)
    if json_out:
        print(json.dumps([d.to_dict() for d in found], indent=2))
        return
    if not found:
        print("no audio devices found", file=sys.stderr)
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
