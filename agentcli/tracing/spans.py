"""A span as tracing keeps it (SpanRecord) and what receives spans as they end (SpanSink): the shape that
tree.py builds from events and writer.py stores, exports and shows."""

from __future__ import annotations

import os
from typing import Any, Protocol


class SpanRecord:
    __slots__ = ("span_id", "parent_id", "kind", "name", "start", "end", "status", "error", "data")

    def __init__(self, kind: str, name: str, start: float, parent_id: str | None, data: dict[str, Any]):
        self.span_id = os.urandom(8).hex()
        self.parent_id = parent_id
        self.kind = kind
        self.name = name
        self.start = start
        self.end: float | None = None
        self.status = "ok"
        self.error: str | None = None
        self.data = data

    def interrupt(self, message: str) -> None:
        """Ended by the user (Ctrl-C, a barge-in that cancelled the turn): not an error."""
        if self.status == "ok":
            self.status, self.error = "interrupted", message

    def fail(self, message: str | None) -> None:
        if self.status != "error":  # the first error says what went wrong; later ones are consequences
            self.status, self.error = "error", message or "error"


class SpanSink(Protocol):
    def span_ended(self, span: SpanRecord) -> None: ...
    def span_amended(self, span: SpanRecord) -> None: ...
    def trace_error(self, message: str) -> None: ...
    def trace_notice(self, notice: dict[str, Any]) -> None: ...
