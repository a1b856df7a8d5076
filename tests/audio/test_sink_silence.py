"""When the output went silent for a barge-in, as a sink tells it (agentcli/audio/sink.silent_since and
silenced): the fade block of a pause or the first silent block after a flush, never one from before."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from agentcli.audio.sink import silenced, silent_since


def test_the_first_silence_at_or_after_the_speech() -> None:
    sink = SimpleNamespace(last_paused_time=5.0, last_silence_time=7.0)
    assert silent_since(sink, 4.0) == 5.0  # the pause's fade came first
    assert silent_since(sink, 6.0) == 7.0  # the pause was before this speech: the flush's silence
    assert silent_since(sink, 8.0) is None
    assert silent_since(object(), 0.0) is None  # a sink that does not tell (a FileSink)


def test_silenced_waits_for_the_silent_block_of_a_flush_that_dropped_audio() -> None:
    import time

    since = time.perf_counter()
    sink = SimpleNamespace(last_paused_time=None, last_silence_time=None, last_flush_time=since + 0.001)

    async def main() -> float | None:  # the audio thread hands the silent block a little later
        asyncio.get_running_loop().call_later(0.02, lambda: setattr(sink, "last_silence_time", since + 0.015))
        return await silenced(sink, since, limit_s=5.0)

    assert asyncio.run(main()) == since + 0.015


def test_silenced_does_not_wait_when_no_flush_dropped_audio_since() -> None:
    sink = SimpleNamespace(last_paused_time=None, last_silence_time=1.0, last_flush_time=1.0)
    assert asyncio.run(silenced(sink, 2.0, limit_s=5.0)) is None
