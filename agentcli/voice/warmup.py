"""Pay the openai SDK's first-call costs before the user's first turn, not during it.

The SDK loads the audio resource modules on first attribute access, builds the pydantic validators of
the transcription event union on first parse, and the HTTP stack loads modules and opens a connection on
the first request (~80 ms). All are one-off per process; doing them while the session starts keeps them
out of the first turn's latency. (The agent's own model calls stream plain dicts: nothing to warm there.)
"""

from __future__ import annotations

from typing import Any

_TRANSCRIPT_DELTA = {"type": "transcript.text.delta", "delta": ""}


async def warm_up(client: Any) -> None:
    """Best effort: any failure here only means the first turn pays the cost."""
    warm_types(client)
    try:
        # One cheap request opens the pooled connection and loads the HTTP stack's lazy modules (~80 ms).
        # Its answer does not matter (the simulator has no /models); no retries, a short timeout.
        await client.with_options(max_retries=0, timeout=2.0).models.list()
    except Exception:  # noqa: BLE001 - unreachable or refused: the turn itself will say so
        pass


def warm_types(client: Any) -> None:
    """Load the SDK's audio resources and build its transcription event validators."""
    try:
        from openai._models import construct_type

        _ = client.audio.transcriptions, client.audio.speech
        from openai.types.audio import TranscriptionStreamEvent

        construct_type(type_=TranscriptionStreamEvent, value=_TRANSCRIPT_DELTA)
    except Exception:  # noqa: BLE001 - an SDK without these internals just skips the warm-up
        pass
