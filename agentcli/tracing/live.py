"""Send spans live over OTLP/HTTP (OpenTelemetry SDK) when OTEL_EXPORTER_OTLP_ENDPOINT is set.

The SDK is the optional extra `agentcli[otel]`; without it a one-line notice goes to stderr once and the
run goes on (the local store still records). Spans keep the ids they have in the local store: a small
IdGenerator hands the SDK our ids, so `agent trace show` and the collector agree.
"""

from __future__ import annotations

import os
from typing import Any

from agentcli.tracing.otlp import (
    SPAN_KIND_CLIENT,
    root_span_id,
    span_attributes,
    span_events,
    span_kind,
    span_name,
)
from agentcli.tracing.recorder import notice_once

MISSING_EXTRA = (
    "OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed; "
    "`pip install 'agentcli[otel]'` to send traces there (local tracing goes on)"
)
_DEFAULT_TIMEOUT_S = 5.0  # a dead collector must not hold the CLI's exit for long


class LiveExporter:
    def __init__(self, sdk: Any, trace_id: str, workflow: str, kind: str, start: float) -> None:
        self._sdk = sdk
        self.trace_id, self.workflow, self.kind, self.start = trace_id, workflow, kind, start
        self._ids = sdk["ids"]
        self._tracer = sdk["provider"].get_tracer("agentcli.tracing")

    @classmethod
    def create(cls, trace_id: str, workflow: str, kind: str, start: float) -> LiveExporter | None:
        try:
            sdk = _load_sdk()
        except ImportError:
            notice_once(MISSING_EXTRA)
            return None
        return cls(sdk, trace_id, workflow, kind, start)

    def export(self, span: Any, data: dict[str, Any], error: str | None) -> None:
        """Send one ended span (a tree.SpanRecord with its stored, already shaped and redacted data)."""
        record = {"span_id": span.span_id, "parent_id": span.parent_id, "kind": span.kind, "name": span.name,
                  "start": span.start, "end": span.end, "status": span.status, "error": error, "data": data}
        self._emit(record["span_id"], record["parent_id"] or root_span_id(self.trace_id), span_name(record),
                   span_kind(record), span_attributes(record), span_events(record), record["start"],
                   record["end"], error if span.status == "error" else None)

    def finish(self, end: float, status: str, error: str | None) -> None:
        attrs = {"agentcli.trace.kind": self.kind, "agentcli.workflow": self.workflow,
                 "agentcli.status": status}
        self._emit(root_span_id(self.trace_id), None, self.workflow, 1, attrs, [], self.start, end,
                   (error or status) if status == "error" else None)

    def shutdown(self) -> None:
        self._sdk["provider"].shutdown()  # flushes what is queued, bounded by the exporter timeout

    def _emit(
        self, span_id: str, parent_id: str | None, name: str, kind: int, attrs: dict[str, Any],
        events: list[tuple[str, float, dict[str, Any]]], start: float, end: float, error: str | None,
    ) -> None:
        otel = self._sdk["trace"]
        context = None
        if parent_id is not None:
            parent = otel.SpanContext(trace_id=int(self.trace_id, 16), span_id=int(parent_id, 16),
                                      is_remote=False, trace_flags=otel.TraceFlags(otel.TraceFlags.SAMPLED))
            context = otel.set_span_in_context(otel.NonRecordingSpan(parent))
        self._ids.next_span_id = int(span_id, 16)
        self._ids.trace_id = int(self.trace_id, 16)
        span_kind_enum = otel.SpanKind.CLIENT if kind == SPAN_KIND_CLIENT else otel.SpanKind.INTERNAL
        span = self._tracer.start_span(name, context=context, kind=span_kind_enum, attributes=attrs,
                                       start_time=int(start * 1e9))
        for event_name, ts, event_attrs in events:
            span.add_event(event_name, event_attrs, timestamp=int(ts * 1e9))
        status = otel.Status(otel.StatusCode.ERROR, error) if error else otel.Status(otel.StatusCode.OK)
        span.set_status(status)
        span.end(end_time=int(end * 1e9))


def _load_sdk() -> dict[str, Any]:
    from opentelemetry import trace as otel
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.id_generator import IdGenerator

    from agentcli import __version__

    class StoredIds(IdGenerator):
        """Gives the SDK the ids the local store already uses."""

        next_span_id = 0
        trace_id = 0

        def generate_span_id(self) -> int:
            return self.next_span_id or int.from_bytes(os.urandom(8), "big")

        def generate_trace_id(self) -> int:
            return self.trace_id or int.from_bytes(os.urandom(16), "big")

    ids = StoredIds()
    timeout_envs = ("OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
    # None lets the SDK read the standard env vars
    timeout = None if any(k in os.environ for k in timeout_envs) else _DEFAULT_TIMEOUT_S
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "agentcli"),
                                "service.version": __version__})
    provider = TracerProvider(resource=resource, id_generator=ids)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(timeout=timeout)))
    return {"trace": otel, "provider": provider, "ids": ids}
