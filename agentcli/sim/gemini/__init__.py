"""The simulator's Gemini Live endpoint: `/ws/google.ai.generativelanguage.{v1,v1beta,v1alpha}.
GenerativeService.BidiGenerateContent` (the paths google-genai builds), BidiGenerateContent protocol.

What it does, like the API: the first message must be `setup` -> `setupComplete`; `realtimeInput` audio
(16 kHz pcm16) goes through an energy activity detector (agentcli/sim/realtime/vad.py; the setup's
automaticActivityDetection silenceDurationMs / prefixPaddingMs) or, when that is disabled, between
`activityStart` and `activityEnd`; a finished user turn is heard as the script's next `hear:` entry (else
`audio of N.N s`), sent as `inputTranscription` when the setup asks for it, and answered from the script's
`turns` (agentcli/sim/planner.py): audio `modelTurn` parts (24 kHz, the sim's speech voice) with
`outputTranscription`, or text parts (responseModalities TEXT), or a `toolCall` answered by the client's
`toolResponse`; then `generationComplete`, `turnComplete` with `usageMetadata`, and (when the setup asks
for session resumption) a `sessionResumptionUpdate` whose handle restores the conversation on a later
setup. Speech, an `activityStart` or new content before a `toolCall`'s response takes its calls back:
`toolCallCancellation` with their ids (they leave the conversation), as the API does on a barge-in.
Speech or an `activityStart` during an answer interrupts it (`interrupted`); so does new `clientContent`.
Keys are read in camelCase or in the snake_case google-genai sends (`client_content`).

Faults (agentcli/sim/script.py): `disconnect_after_events: N` drops the socket after N server messages
(`setupComplete` is the first); `go_away_after_events: N` sends `goAway` after N, and closes a second later.
"""

from __future__ import annotations

from typing import Any

__all__ = ["handle_gemini"]


async def handle_gemini(conn: Any, request: Any) -> None:
    """The websocket route (registered in agentcli.sim.server.DEFAULT_WEBSOCKET_ROUTES)."""
    from agentcli.sim.gemini.session import GeminiSimSession

    await GeminiSimSession(conn, request.sim, go_away_after=request.extra.get("go_away_after_events")).run()
