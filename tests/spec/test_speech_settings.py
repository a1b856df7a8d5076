"""The speech settings (spec/speech_settings.py): derived answers, and voice.turn's end-of-turn model."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentcli.errors import SpecError
from agentcli.spec.loader import load_spec
from agentcli.spec.model import RealtimeSettings, TurnSettings


def test_client_turns_follows_turn_detection_and_gemini_activity_detection() -> None:
    assert RealtimeSettings().client_turns is False
    assert RealtimeSettings.model_validate({"turn_detection": {"type": "none"}}).client_turns is True
    gemini = {"provider": "gemini", "gemini": {"activity_detection": {"disabled": True}}}
    assert RealtimeSettings.model_validate(gemini).client_turns is True
    assert RealtimeSettings.model_validate({"provider": "gemini", "gemini": {}}).client_turns is False


def test_the_acoustic_end_of_turn_model_is_off_unless_the_spec_asks(tmp_path: Path) -> None:
    assert TurnSettings().model == "none" and TurnSettings().threshold == 0.5
    spec = tmp_path / "a.yaml"
    spec.write_text("name: a\nvoice:\n  turn: {model: smart-turn, threshold: 0.7}\n")
    turn = load_spec(str(spec)).entry_agent.voice.turn
    assert (turn.model, turn.threshold) == ("smart-turn", 0.7)


@pytest.mark.parametrize(("setting", "where"), [("model: smartturn", "a.yaml:4:12"),
                                                ("threshold: 1.5", "a.yaml:4:16")])
def test_a_bad_end_of_turn_setting_is_one_error_at_its_place(tmp_path: Path, setting: str, where: str) -> None:
    spec = tmp_path / "a.yaml"
    spec.write_text(f"name: a\nvoice:\n  turn:\n    {setting}\n")
    with pytest.raises(SpecError) as info:
        load_spec(str(spec))
    assert where in str(info.value) and "turn" in str(info.value), str(info.value)
