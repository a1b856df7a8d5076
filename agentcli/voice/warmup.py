"""Pay the openai SDK's first-call costs before the user's first turn, not during it.

The SDK loads a resource module on first attribute access (`client.responses`: ~170 ms), builds the
pydantic validators of its stream event unions on first parse (~200 ms), and the HTTP stack loads modules
and opens a connection on the first request (~80 ms). All are one-off per process; doing them while the
session starts keeps them out of the first turn's latency.
"""

from __future__ import annotations

from typing import Any

_TEXT_DELTA = {"type": "response.output_text.delta", "delta": "", "item_id": "i", "output_index": 0,
               "content_index": 0, "sequence_number": 0, "logprobs": []}
_CHAT_CHUNK = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
               "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": None}]}
_TRANSCRIPT_DELTA = {"type": "transcript.text.delta", "delta": ""}


async def warm_up(client: Any, api: str = "responses") -> None:
    """Best effort: any failure here only means the first turn pays the cost."""
    warm_types(client, api)
    try:
        # One cheap request opens the pooled connection and loads the HTTP stack's lazy modules (~80 ms).
        # Its answer does not matter (the simulator has no /models); no retries, a short timeout.
        await client.with_options(max_retries=0, timeout=2.0).models.list()
    except Exception:  # noqa: BLE001 - unreachable or refused: the turn itself will say so
        pass


def warm_types(client: Any, api: str = "responses") -> None:
    """Load the SDK resources and build its stream event validators."""
    try:
        from openai._models import construct_type

        _ = client.audio.transcriptions, client.audio.speech
        from openai.types.audio import TranscriptionStreamEvent

        construct_type(type_=TranscriptionStreamEvent, value=_TRANSCRIPT_DELTA)
        if api == "chat":
            _ = client.chat.completions
            from openai.types.chat import ChatCompletionChunk

            construct_type(type_=ChatCompletionChunk, value=_CHAT_CHUNK)
        else:
            _ = client.responses
            from openai.types.responses import ResponseStreamEvent

            construct_type(type_=ResponseStreamEvent, value=_TEXT_DELTA)
    except Exception:  # noqa: BLE001 - an SDK without these internals just skips the warm-up
        pass
