"""`async with` for the audio streams: entering starts one, leaving stops it; and the audio thread's way
back into the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Self


def call_in_loop(loop: asyncio.AbstractEventLoop | None, fn: Callable[[], object]) -> None:
    """From a PortAudio callback thread: run `fn` on the loop's thread. A loop that is gone or closed has
    nobody left to tell, so the call is dropped."""
    if loop is None:
        return
    try:
        loop.call_soon_threadsafe(fn)
    except RuntimeError:  # the loop closed under us
        pass


class StartStop:
    """Base for a stream with start() and stop(): the recorder, the player, file sources and sinks."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
