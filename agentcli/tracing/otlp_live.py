"""Send spans live over OTLP/HTTP (OpenTelemetry SDK) when OTEL_EXPORTER_OTLP_ENDPOINT is set.

The SDK is the optional extra `agentcli[otel]`; without it a one-line notice goes to stderr once and the
run goes on (the local store still records). Spans keep the ids they have in the local store: a small
IdGenerator hands the SDK our ids, so `agent trace show` and the collector agree. What is sent is the one
mapping of otlp.py (root_span, child_span), the same as `agent trace export --format otlp`.
"""

from __future__ import annotations

import os
from typing import Any

from agentcli.tracing.otlp import SPAN_KIND_CLIENT, OtelSpan, child_span, root_span
from agentcli.tracing.writer import notice_once

MISSING_EXTRA = (
    "OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed; "
    "`pip install 'agentcli[otel]'` to send traces there (local tracing goes on)"
)
_DEFAULT_TIMEOUT_S = 5.0  # a dead collector must not hold the CLI's exit for long


class LiveExporter:
    def __init__(self, sdk: Any, trace_id: str) -> None:
        self._sdk = sdk
        self.trace_id = trace_id
        self._ids = sdk["ids"]
        self._tracer = sdk["provider"].get_tracer("agentcli.tracing")

    @classmethod
    def create(cls, trace_id: str) -> LiveExporter | None:
        try:
            sdk = _load_sdk()
        except ImportError:
            notice_once(MISSING_EXTRA)
            return None
        return cls(sdk, trace_id)

    def export(self, span: dict[str, Any]) -> None:
        """Send one ended span, in its stored shape (already shaped and redacted)."""
        self._emit(child_span(self.trace_id, span))

    def finish(self, trace: dict[str, Any]) -> None:
        """Send the root span: the trace in its stored shape, with its end, status and totals."""
        self._emit(root_span(trace))

    def shutdown(self) -> None:
        self._sdk["provider"].shutdown()  # flushes what is queued, bounded by the exporter timeout

    def _emit(self, span: OtelSpan) -> None:
        otel = self._sdk["trace"]
        context = None
        if span.parent_id is not None:
            parent = otel.SpanContext(trace_id=int(self.trace_id, 16), span_id=int(span.parent_id, 16),
                                      is_remote=False, trace_flags=otel.TraceFlags(otel.TraceFlags.SAMPLED))
            context = otel.set_span_in_context(otel.NonRecordingSpan(parent))
        self._ids.next_span_id = int(span.span_id, 16)
        self._ids.trace_id = int(self.trace_id, 16)
        kind = otel.SpanKind.CLIENT if span.kind == SPAN_KIND_CLIENT else otel.SpanKind.INTERNAL
        sent = self._tracer.start_span(span.name, context=context, kind=kind, attributes=span.attributes,
                                       start_time=int(span.start * 1e9))
        for event_name, ts, event_attrs in span.events:
            sent.add_event(event_name, event_attrs, timestamp=int(ts * 1e9))
        error = span.error
        sent.set_status(otel.Status(otel.StatusCode.ERROR, error) if error else otel.Status(otel.StatusCode.OK))
        sent.end(end_time=int(span.end * 1e9))


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
