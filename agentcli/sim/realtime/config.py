"""The simulated session's configuration: the API's defaults, the keys `session.update` takes, and how
an update merges into what is set."""

from __future__ import annotations

from typing import Any

from agentcli.sim.realtime.vad import RATE

SESSION_KEYS = {
    "type",
    "audio",
    "include",
    "instructions",
    "max_output_tokens",
    "model",
    "output_modalities",
    "prompt",
    "tool_choice",
    "tools",
    "tracing",
    "truncation",
    "reasoning",
    "parallel_tool_calls",
}


def default_session(model: str) -> dict[str, Any]:
    pcm = {"type": "audio/pcm", "rate": RATE}
    vad = {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
        "create_response": True,
        "interrupt_response": True,
    }
    return {
        "type": "realtime",
        "model": model,
        "instructions": "",
        "output_modalities": ["audio"],
        "audio": {
            "input": {"format": pcm, "transcription": None, "noise_reduction": None, "turn_detection": vad},
            "output": {"format": pcm, "voice": "marin", "speed": 1.0},
        },
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
    }


def merge_session(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key not in ("turn_detection", "format"):
            out[key] = merge_session(out[key], value)
        else:
            out[key] = value
    return out
