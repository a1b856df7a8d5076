"""`async with` for the audio streams: entering starts one, leaving stops it."""

from __future__ import annotations

from types import TracebackType
from typing import Self


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
