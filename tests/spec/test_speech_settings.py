"""The speech settings' derived answers (spec/speech_settings.py)."""

from __future__ import annotations

from agentcli.spec.model import RealtimeSettings


def test_client_turns_follows_turn_detection_and_gemini_activity_detection() -> None:
    assert RealtimeSettings().client_turns is False
    assert RealtimeSettings.model_validate({"turn_detection": {"type": "none"}}).client_turns is True
    gemini = {"provider": "gemini", "gemini": {"activity_detection": {"disabled": True}}}
    assert RealtimeSettings.model_validate(gemini).client_turns is True
    assert RealtimeSettings.model_validate({"provider": "gemini", "gemini": {}}).client_turns is False
