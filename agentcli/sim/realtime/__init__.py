"""The simulator's Realtime endpoint: `GET /v1/realtime?model=...` upgraded to a websocket, GA protocol.

What it does, like the API: `session.created` on connect, `session.update` -> `session.updated`; server VAD
on the appended audio (an energy gate; `turn_detection` threshold / prefix_padding_ms / silence_duration_ms,
semantic_vad's eagerness as a silence length, or none = manual commit) -> `input_audio_buffer.speech_started`
/ `speech_stopped` / `committed` + `conversation.item.added`; input transcription events when
`audio.input.transcription` is set (the text is the script's next `hear:` entry, else `audio of N.N s`);
responses planned from the script's `turns` (agentcli/sim/planner.py) as audio (the sim's speech voice) or
text, or function calls; `conversation.item.truncate` / `delete` / `retrieve`; `response.cancel`;
`interrupt_response` (speech while responding cancels the response), `create_response`, server_vad's
`idle_timeout_ms` (`input_audio_buffer.timeout_triggered`, then a response); errors shaped like the API's.

Faults: a script fault `disconnect_after_events: N` taken by the websocket upgrade closes the socket
abruptly after N server events (the server passes it in `request.extra["disconnect_after_events"]`, or
tests pass `disconnect_after=`); `latency_ms` delays the upgrade. Script latency knobs: `first_token_ms`
before each response's output, `stt_ms` before transcription events, `tts_first_byte_ms` before audio.
Audio is sent as fast as it is made unless `$AGENT_SIM_REALTIME_PACE` (x real time, e.g. 1) paces it.
"""

from __future__ import annotations

from typing import Any

from agentcli.sim.realtime.session import RealtimeSimSession

__all__ = ["RealtimeSimSession", "handle_realtime"]


async def handle_realtime(conn: Any, request: Any, *, disconnect_after: int | None = None) -> None:
    """The websocket route for /v1/realtime (registered in agentcli.sim.server)."""
    model = request.query.get("model") or "gpt-realtime"
    if disconnect_after is None:
        disconnect_after = request.extra.get("disconnect_after_events")
    session = RealtimeSimSession(conn, request.sim, model, disconnect_after)
    await session.run()
