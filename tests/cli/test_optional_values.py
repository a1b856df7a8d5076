"""`--record` with its value left out means `--record recordings` (typer options cannot do this alone)."""

from __future__ import annotations

import pytest

from agentcli.cli.main import fill_optional_values


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["voice", "--record"], ["voice", "--record", "recordings"]),
        (["voice", "--record", "-q"], ["voice", "--record", "recordings", "-q"]),
        (["voice", "--record", "--vad", "s.yaml"], ["voice", "--record", "recordings", "--vad", "s.yaml"]),
        (["voice", "--record", "out", "--vad"], ["voice", "--record", "out", "--vad"]),
        (["voice", "--record=out"], ["voice", "--record=out"]),
        (["voice", "--record", "-"], ["voice", "--record", "-"]),
        (["voice", "--", "--record"], ["voice", "--", "--record"]),
        (["chat", "-m", "--record"], ["chat", "-m", "--record"]),  # only voice has the option
    ],
)
def test_record_value_is_filled_in_only_when_left_out(argv: list[str], expected: list[str]) -> None:
    assert fill_optional_values(argv) == expected
