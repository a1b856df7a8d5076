"""TraceRecorder: one run's events in, spans written to the store as each ends (see tree.py for nesting).

Writes are synchronous and small (one short transaction per ended span), so a crash or Ctrl-C loses at
most the spans still open. Any failure of tracing itself is reported once on stderr and recording stops:
tracing never breaks the run it records.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentcli.events import Event, now
from agentcli.redact import Redactor, jsonable, text_size
from agentcli.tracing import statements as st

if TYPE_CHECKING:
    from agentcli.tracing.spans import SpanRecord
    from agentcli.tracing.store import TraceStore
    from agentcli.tracing.tree import SpanTree

# conversation text: with content=False only its length is kept, as `<field>_chars`
TEXT_FIELDS = ("input", "output", "arguments", "text", "transcript", "heard_text", "message")
NO_CONTENT = "[content not recorded]"
_TOKEN_KINDS = ("generation", "realtime_response")
# per run: one run's trace cannot fill a small disk; past it the run goes on and its trace says "truncated"
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
MAX_BYTES_ENV = "AGENT_TRACE_MAX_BYTES"
_noticed: set[str] = set()


def notice_once(message: str) -> None:
    """One line on stderr, once per process for each message."""
    if message not in _noticed:
        _noticed.add(message)
        print(f"agent: {message}", file=sys.stderr)


def _max_bytes() -> int:
    try:
        return max(1, int(os.environ.get(MAX_BYTES_ENV, "")))
    except ValueError:
        return DEFAULT_MAX_BYTES


def _notice_shape(notice: dict[str, Any]) -> dict[str, Any]:
    return {"level": notice.get("level"), "chars": len(notice.get("message") or ""), "ts": notice.get("ts")}


class TraceRecorder:
    """Feed it every event of a run (SessionStarted first, SessionEnded last), then close()."""

    def __init__(
        self,
        *,
        path: Path | None,
        kind: str,
        workflow: str,
        group_id: str | None,
        content: bool,
        metadata: dict[str, Any] | None,
        redactor: Redactor,
    ) -> None:
        self.trace_id = os.urandom(16).hex()
        self.path = path  # None: agent_home()/traces.db, resolved with the first event
        self.kind, self.workflow, self.group_id = kind, workflow, group_id
        self.content = content
        self.metadata: dict[str, Any] = dict(metadata or {})
        self._redact = redactor
        self._lock = threading.Lock()  # voice/realtime may emit from more than one thread
        self._tree: SpanTree | None = None
        self._store: TraceStore | None = None
        self._live: Any = None
        self._begun = self._ended = self._closed = self._broken = self._capped = False
        self._bytes = 0
        self._start = 0.0
        self._totals = {"turns": 0, "input_tokens": 0, "output_tokens": 0}  # as the store counts them
        self._max_bytes = _max_bytes()

    # --- public API ---------------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        if self._ended or self._broken:
            return
        with self._lock:
            try:
                if not self._begun:
                    self._begin(event)
                if event.type == "session_ended":
                    self._finish(event.ts, getattr(event, "status", "ok"), getattr(event, "error", None))
                elif self._tree is not None:
                    self._tree.feed(event)
            except Exception as e:  # tracing must never break the run it records
                self._fail(e)

    def close(self, status: str = "ok", error: str | None = None) -> None:
        """Record the trace's end (unless SessionEnded did) and release the store. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if not self._ended and not self._broken:
                    if not self._begun:
                        self._begin(Event(type="session_started"))
                    self._finish(now(), status, error)
            except Exception as e:
                self._fail(e)
            finally:
                self._to_live("shutdown")
                if self._store is not None:
                    self._store.close()
                    self._store = None

    # --- SpanSink: called by the tree ----------------------------------------------------------------

    def span_ended(self, span: SpanRecord) -> None:
        data = self._shape(span.data)
        error = self._error_text(span.error)
        if not self._within_cap(len(json.dumps(data, ensure_ascii=False)) + len(error or "") + len(span.name)):
            return
        tokens = span.kind in _TOKEN_KINDS
        counts_as_turn = span.kind == "turn" or (span.kind == "realtime_response" and span.parent_id is None)
        name = self._redact(span.name)
        in_tokens = int(data.get("input_tokens") or 0) if tokens else 0
        out_tokens = int(data.get("output_tokens") or 0) if tokens else 0
        self._write([
            (st.INSERT_SPAN, (
                self.trace_id, span.span_id, span.parent_id, span.kind, name,
                span.start, span.end, span.status, error, json.dumps(data, ensure_ascii=False),
            )),
            (st.COUNT_SPAN, (int(counts_as_turn), in_tokens, out_tokens, int(span.status == "error"), self.trace_id)),
        ])
        self._totals["turns"] += int(counts_as_turn)
        self._totals["input_tokens"] += in_tokens
        self._totals["output_tokens"] += out_tokens
        self._to_live("export", {"span_id": span.span_id, "parent_id": span.parent_id, "kind": span.kind,
                                 "name": name, "start": span.start, "end": span.end, "status": span.status,
                                 "error": error, "data": data})

    def span_amended(self, span: SpanRecord) -> None:
        data = json.dumps(self._shape(span.data), ensure_ascii=False)
        if not self._within_cap(len(data)):
            return
        self._write([(st.UPDATE_SPAN_DATA, (data, self.trace_id, span.span_id))])

    def trace_error(self, message: str) -> None:
        self._write([(st.TRACE_ERROR, (self._error_text(message), self.trace_id))])

    def trace_notice(self, notice: dict[str, Any]) -> None:
        if not self.content:
            notice = _notice_shape(notice)
        if not self._within_cap(len(json.dumps(jsonable(notice), ensure_ascii=False))):
            return
        self.metadata.setdefault("notices", []).append(notice)
        self._write([(st.UPDATE_TRACE_META, (self._meta_json(), self.trace_id))])

    # --- plumbing -----------------------------------------------------------------------------------

    def _begin(self, event: Event) -> None:
        # sqlite3 and the tree builder load with the first event, keeping open_recorder() cheap
        import platform

        from agentcli.tracing.store import TraceStore
        from agentcli.tracing.tree import SpanTree

        self._begun = True
        self._start = event.ts
        self._tree = SpanTree(self)
        if event.type == "session_started":
            self.kind = self.kind or getattr(event, "kind", "") or "chat"
            self.workflow = self.workflow or getattr(event, "agent", "")
            self.group_id = self.group_id or getattr(event, "session", None)
            self.metadata = {**getattr(event, "metadata", {}), **self.metadata}
        self._store = TraceStore.open(self.path)
        r = self._redact
        self._write([(st.INSERT_TRACE, (
            self.trace_id, r(self.workflow or "agent"), self.kind or "chat",
            r(self.group_id) if self.group_id else None, self._meta_json(), int(self.content),
            event.ts, os.getpid(), platform.node(),
        ))])
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            from agentcli.tracing.otlp_live import LiveExporter

            self._live = LiveExporter.create(self.trace_id)

    def _finish(self, ts: float, status: str, error: str | None) -> None:
        self._ended = True
        if self._tree is not None:
            self._tree.finish(ts, status)
        error_text = self._error_text(error)
        self._write([(st.END_TRACE, (ts, status, error_text, self.trace_id))])
        r = self._redact
        self._to_live("finish", {
            "trace_id": self.trace_id, "workflow": r(self.workflow or "agent"), "kind": self.kind or "chat",
            "group_id": r(self.group_id) if self.group_id else None,
            "metadata": json.loads(self._meta_json()), "start": self._start, "end": ts, "status": status,
            "error": error_text, **self._totals,
        })

    def _within_cap(self, size: int) -> bool:
        """Count `size` bytes against this run's cap; at the first refusal say so once and mark the trace."""
        if self._capped:
            return False
        if self._bytes + size <= self._max_bytes:
            self._bytes += size
            return True
        self._capped = True
        self.metadata["truncated"] = f"spans past {self._max_bytes} bytes were not recorded ({MAX_BYTES_ENV})"
        self._write([(st.UPDATE_TRACE_META, (self._meta_json(), self.trace_id))])
        notice_once(f"this run's trace reached its size cap ({self._max_bytes} bytes, {MAX_BYTES_ENV}):"
                    " later spans are not recorded")
        return False

    def _write(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        if self._store is None:
            raise RuntimeError("trace store is not open")
        self._store.write(statements)

    def _to_live(self, method: str, *args: Any) -> None:
        """Hand a call to the live OTLP exporter; if it breaks, live export stops, local tracing goes on."""
        if self._live is None:
            return
        try:
            getattr(self._live, method)(*args)
        except Exception as e:
            self._live = None
            notice_once(f"live OTLP export stopped: {self._redact(str(e)) or type(e).__name__}")

    def _fail(self, e: BaseException) -> None:
        self._broken = True
        notice_once(f"tracing stopped for this run: {self._redact(str(e)) or type(e).__name__}")

    def _meta_json(self) -> str:
        return json.dumps(self._redact.value(jsonable(self.metadata)), ensure_ascii=False)

    def _error_text(self, error: str | None) -> str | None:
        if error is None:
            return None
        return self._redact(error) if self.content else NO_CONTENT

    def _shape(self, data: dict[str, Any]) -> dict[str, Any]:
        shaped = {k: jsonable(v) for k, v in data.items() if v is not None}
        if not self.content:
            for key in TEXT_FIELDS:
                if key in shaped:
                    shaped[f"{key}_chars"] = text_size(shaped.pop(key))
            if "notices" in shaped:
                shaped["notices"] = [_notice_shape(n) for n in shaped["notices"]]
        return self._redact.value(shaped)
