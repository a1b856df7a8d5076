"""The idle watchdog of a model stream (openai_model._idle_bounded): a read waiting longer than the timeout
fails the stream; steady events, however long the stream, do not; the consumer's own time between reads
never counts; a cancellation from elsewhere stays a cancellation; no timer outlives the stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentcli.models.openai_model import StreamDropped, _idle_bounded


class Wire:
    """Events with a pause before each (seconds), like a server's stream."""

    def __init__(self, pauses: list[float]) -> None:
        self.pauses = pauses

    async def _events(self) -> AsyncIterator[int]:
        for i, pause in enumerate(self.pauses):
            await asyncio.sleep(pause)
            yield i

    def __aiter__(self) -> AsyncIterator[int]:
        return self._events()


def timers(loop: asyncio.AbstractEventLoop) -> int:
    return sum(1 for handle in loop._scheduled if not handle.cancelled())  # type: ignore[attr-defined]


async def consume(pauses: list[float], timeout: float | None, consumer_pause: float = 0.0) -> list[Any]:
    seen = []
    async for event in _idle_bounded(Wire(pauses), "http://x/v1", timeout):
        seen.append(event)
        if consumer_pause:
            await asyncio.sleep(consumer_pause)
    return seen


def test_a_read_waiting_longer_than_the_timeout_fails_the_stream() -> None:
    seen: list[Any] = []

    async def main() -> None:
        async for event in _idle_bounded(Wire([0, 0, 30]), "http://x/v1", 0.2):
            seen.append(event)

    with pytest.raises(StreamDropped, match=r"^http://x/v1 sent nothing for 0.2 s mid-answer \(provider.timeout\)$"):
        asyncio.run(main())
    assert seen == [0, 1]


def test_steady_events_outlast_the_timeout_as_a_whole() -> None:
    # 30 events 20 ms apart: the stream lasts well past the 0.3 s timeout, no read waits for it
    assert asyncio.run(consume([0.02] * 30, 0.3)) == list(range(30))


def test_the_consumers_time_between_reads_does_not_count() -> None:
    assert asyncio.run(consume([0, 0, 0], 0.1, consumer_pause=0.3)) == [0, 1, 2]


def test_no_timeout_reads_everything() -> None:
    assert asyncio.run(consume([0, 0.01, 0], None)) == [0, 1, 2]


def test_a_cancellation_from_elsewhere_stays_a_cancellation_and_leaves_no_timer() -> None:
    async def main() -> int:
        loop = asyncio.get_running_loop()
        before = timers(loop)
        task = asyncio.create_task(consume([0, 30], 5.0))
        await asyncio.sleep(0.1)  # it waits for the second event
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return timers(loop) - before

    assert asyncio.run(main()) == 0


def test_a_finished_or_abandoned_stream_leaves_no_timer() -> None:
    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        before = timers(loop)
        await consume([0, 0], 5.0)
        finished = timers(loop) - before
        stream = _idle_bounded(Wire([0, 0, 0]), "http://x/v1", 0.05)
        await stream.__anext__()  # then left between reads, never closed
        await asyncio.sleep(0.3)  # its timer came due meanwhile, and did not re-arm
        abandoned = timers(loop) - before
        await stream.aclose()
        return finished, abandoned

    assert asyncio.run(main()) == (0, 0)


def test_the_timeout_fires_within_an_ongoing_stream_after_quiet_reads() -> None:
    # a timer armed by an early read is re-armed for the late read's own deadline, not fired early
    seen: list[Any] = []

    async def main() -> None:
        async for event in _idle_bounded(Wire([0.1, 0.1, 0.1, 30]), "http://x/v1", 0.25):
            seen.append(event)

    with pytest.raises(StreamDropped):
        asyncio.run(main())
    assert seen == [0, 1, 2]
