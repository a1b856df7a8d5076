"""The `session` object of `session.update`, from the spec's `realtime:` section and the current agent."""

from __future__ import annotations

from typing import Any

from agentcli.models.base import ToolSchema
from agentcli.spec.model import AgentSpec, RealtimeSettings, TurnDetection

RATE = 24000  # the Realtime API speaks pcm16 mono at 24 kHz both ways
PCM = {"type": "audio/pcm", "rate": RATE}


def turn_detection(td: TurnDetection, *, ptt: bool = False) -> dict[str, Any] | None:
    """The wire form of the spec's turn detection; None (manual turns) for `type: none` or push-to-talk."""
    if ptt or td.type == "none":
        return None
    out: dict[str, Any] = {"type": td.type}
    if td.type == "server_vad":
        for key in ("threshold", "prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms"):
            value = getattr(td, key)
            if value is not None:
                out[key] = value
    elif td.eagerness is not None:
        out["eagerness"] = td.eagerness
    out["create_response"] = td.create_response
    # the client decides what is an interruption (agentcli/realtime/interrupting.py): the server's VAD
    # would cancel the answer on a cough or on the answer's own echo
    out["interrupt_response"] = False
    return out


def tool_choice(choice: str | None) -> Any:
    if choice in (None, "auto", "none", "required"):
        return choice or "auto"
    return {"type": "function", "name": choice}


def tools_wire(schemas: list[ToolSchema]) -> list[dict[str, Any]]:
    return [
        {"type": "function", "name": s.name, "description": s.description, "parameters": s.parameters} for s in schemas
    ]


def agent_part(agent: AgentSpec, schemas: list[ToolSchema]) -> dict[str, Any]:
    """What changes on a handoff: the agent's instructions, tools and tool choice (never the voice)."""
    rt = agent.realtime
    return {
        "type": "realtime",
        "instructions": rt.instructions or agent.instructions,
        "tools": tools_wire(schemas),
        "tool_choice": tool_choice(rt.tool_choice or agent.model_settings.tool_choice),
    }


def session_config(
    agent: AgentSpec,
    schemas: list[ToolSchema],
    *,
    settings: RealtimeSettings | None = None,
    text_only: bool = False,
    ptt: bool = False,
) -> dict[str, Any]:
    """The full session for `session.update` at connect time. `settings` is the session's realtime
    section (the entry agent's), kept across handoffs; `agent` gives instructions and tools. The model is
    not in it: it is chosen by the URL (`?model=`), and the API does not change it by update."""
    rt = settings or agent.realtime
    audio_in: dict[str, Any] = {"format": PCM, "turn_detection": turn_detection(rt.turn_detection, ptt=ptt)}
    if rt.transcription is not None:
        transcription: dict[str, Any] = {"model": rt.transcription.model}
        if rt.transcription.language:
            transcription["language"] = rt.transcription.language
        if rt.transcription.prompt:
            transcription["prompt"] = rt.transcription.prompt
        audio_in["transcription"] = transcription
    else:
        audio_in["transcription"] = None
    audio_in["noise_reduction"] = {"type": rt.noise_reduction} if rt.noise_reduction else None
    session = {
        **agent_part(agent, schemas),
        "output_modalities": ["text"] if text_only else list(rt.output_modalities[:1] or ["audio"]),
        "audio": {"input": audio_in, "output": {"format": PCM, "voice": rt.voice, "speed": rt.speed}},
    }
    if rt.max_output_tokens:  # its own setting: model_settings.max_tokens counts text, this audio too
        session["max_output_tokens"] = rt.max_output_tokens
    return session


def server_cancels_on_speech(rt: RealtimeSettings, ptt: bool) -> bool:
    """Whether the server cancels a response by itself when the user starts talking: never, the client
    decides (`interrupt_response` in the spec says whether speech may interrupt an answer at all)."""
    return False
