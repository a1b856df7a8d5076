"""Spans as OpenTelemetry: the one mapping (GenAI semantic conventions where they exist) and OTLP/JSON.

`root_span` and `child_span` turn a stored trace and its spans into OtelSpan, and both `agent trace export
--format otlp` (to_otlp_json) and the live exporter (otlp_live.py) send exactly that, so a trace looks the same
in a collector whichever way it got there. The trace itself becomes a root span whose id is the first 16
hex digits of the trace id; spans recorded at the trace root hang under it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SCOPE = "agentcli.tracing"
SPAN_KIND_INTERNAL, SPAN_KIND_CLIENT = 1, 3
STATUS_OK, STATUS_ERROR = 1, 2
_CLIENT_KINDS = frozenset({"generation", "transcription", "speech", "realtime_response"})
_EVENT_LISTS = {"retries": "retrying", "notices": "notice"}
# span data keys that have a GenAI semantic-convention name, by span kind
_SEMCONV: dict[str, dict[str, str]] = {
    "generation": {"model": "gen_ai.request.model", "input_tokens": "gen_ai.usage.input_tokens",
                   "output_tokens": "gen_ai.usage.output_tokens"},
    "function": {"tool": "gen_ai.tool.name", "call_id": "gen_ai.tool.call.id",
                 "arguments": "gen_ai.tool.call.arguments", "output": "gen_ai.tool.call.result"},
    "agent": {"agent": "gen_ai.agent.name"},
    "realtime_response": {"input_tokens": "gen_ai.usage.input_tokens",
                          "output_tokens": "gen_ai.usage.output_tokens",
                          "response_id": "gen_ai.response.id"},
    "transcription": {"model": "gen_ai.request.model"},
    "speech": {"model": "gen_ai.request.model"},
}
_OPERATION = {"generation": "chat", "function": "execute_tool", "agent": "invoke_agent"}


Attributes = dict[str, str | int | float | bool]


@dataclass
class OtelSpan:
    """One span as OpenTelemetry sees it; `error` is the status message of a failed span, None when ok."""

    span_id: str
    parent_id: str | None  # None: the root
    name: str
    kind: int
    attributes: Attributes
    start: float
    end: float
    error: str | None = None
    events: list[tuple[str, float, Attributes]] = field(default_factory=list)


def root_span_id(trace_id: str) -> str:
    return trace_id[:16]


def root_span(trace: dict[str, Any]) -> OtelSpan:
    """The trace as its root span. `trace` has the keys of a stored trace (query.trace_shape); a trace that
    never recorded its end ("unfinished") counts as failed."""
    status = trace.get("status")
    failed = status in ("error", "unfinished")
    end = trace.get("end") or trace["start"]
    return OtelSpan(root_span_id(trace["trace_id"]), None, trace["workflow"], SPAN_KIND_INTERNAL,
                    trace_attributes(trace), trace["start"], end,
                    (trace.get("error") or status or "error") if failed else None)


def child_span(trace_id: str, span: dict[str, Any]) -> OtelSpan:
    """A stored span (query.load's shape: span_id, parent_id, kind, name, start, end, status, error, data)."""
    failed = span["status"] == "error"
    return OtelSpan(span["span_id"], span["parent_id"] or root_span_id(trace_id), span_name(span),
                    span_kind(span), span_attributes(span), span["start"], span["end"],
                    (span.get("error") or "error") if failed else None, span_events(span))


def span_name(span: dict[str, Any]) -> str:
    kind, name, data = span["kind"], span["name"], span.get("data") or {}
    if kind == "generation":
        return f"chat {data.get('model') or name}"
    if kind == "function":
        return f"execute_tool {name}"
    if kind == "agent":
        return f"invoke_agent {name}"
    return name if kind == "turn" else f"{kind} {name}"


def span_kind(span: dict[str, Any]) -> int:
    return SPAN_KIND_CLIENT if span["kind"] in _CLIENT_KINDS else SPAN_KIND_INTERNAL


def span_attributes(span: dict[str, Any]) -> dict[str, str | int | float | bool]:
    """Flat OTel attributes of one span: semconv keys first, the rest as agentcli.<kind>.<key>."""
    kind, data = span["kind"], span.get("data") or {}
    attrs: dict[str, str | int | float | bool] = {"agentcli.span.kind": kind}
    if kind in _OPERATION:
        attrs["gen_ai.operation.name"] = _OPERATION[kind]
    if kind == "function":
        attrs["gen_ai.tool.type"] = "function"
    semconv = _SEMCONV.get(kind, {})
    for key, value in data.items():
        if key in _EVENT_LISTS:
            continue
        _flatten(attrs, semconv.get(key) or f"agentcli.{kind}.{key}", value)
    if span.get("status") == "error":
        attrs["error.type"] = str(data.get("error_kind") or "error")
    return attrs


def span_events(span: dict[str, Any]) -> list[tuple[str, float, dict[str, str | int | float | bool]]]:
    """Retries and notices as OTel span events: (name, ts seconds, attributes)."""
    events = []
    for key, event_name in _EVENT_LISTS.items():
        for item in (span.get("data") or {}).get(key) or []:
            attrs: dict[str, str | int | float | bool] = {}
            for k, v in item.items():
                if k != "ts":
                    _flatten(attrs, f"agentcli.{k}", v)
            events.append((event_name, float(item.get("ts") or span["start"]), attrs))
    return events


def trace_attributes(trace: dict[str, Any]) -> dict[str, str | int | float | bool]:
    attrs: dict[str, str | int | float | bool] = {"agentcli.trace.kind": trace["kind"],
                                                  "agentcli.workflow": trace["workflow"]}
    if trace.get("status"):
        attrs["agentcli.status"] = trace["status"]
    if trace.get("group_id"):
        attrs["agentcli.group_id"] = trace["group_id"]
    for key in ("turns", "input_tokens", "output_tokens"):
        attrs[f"agentcli.trace.{key}"] = int(trace.get(key) or 0)
    for key, value in (trace.get("metadata") or {}).items():
        _flatten(attrs, f"agentcli.metadata.{key}", value)
    return attrs


def _flatten(out: dict[str, str | int | float | bool], key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(out, f"{key}.{k}", v)
    elif isinstance(value, bool | int | float | str):
        out[key] = value
    else:
        out[key] = json.dumps(value, ensure_ascii=False)


# --- OTLP/JSON ---------------------------------------------------------------------------------------


def _any_value(value: str | int | float | bool) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}  # int64 is a string in the protobuf JSON mapping
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def _attributes(attrs: dict[str, str | int | float | bool]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _any_value(v)} for k, v in attrs.items()]


def _nanos(ts: float) -> str:
    return str(round(ts * 1e9))


def to_otlp_json(trace: dict[str, Any], spans: list[dict[str, Any]]) -> dict[str, Any]:
    """An ExportTraceServiceRequest in OTLP/JSON: resourceSpans > scopeSpans > spans."""
    trace_id = trace["trace_id"]
    if not trace.get("end"):  # unfinished: the root ends with its last span
        trace = {**trace, "end": max([s["end"] for s in spans] or [trace["start"]])}
    out = [_otlp_span(trace_id, root_span(trace))] + [_otlp_span(trace_id, child_span(trace_id, s)) for s in spans]
    from agentcli import __version__

    return {"resourceSpans": [{
        "resource": {"attributes": _attributes({"service.name": "agentcli", "service.version": __version__})},
        "scopeSpans": [{"scope": {"name": SCOPE, "version": __version__}, "spans": out}],
    }]}


def _otlp_span(trace_id: str, span: OtelSpan) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": trace_id, "spanId": span.span_id, "parentSpanId": span.parent_id or "", "name": span.name,
        "kind": span.kind, "startTimeUnixNano": _nanos(span.start), "endTimeUnixNano": _nanos(span.end),
        "attributes": _attributes(span.attributes),
    }
    if span.parent_id is not None:
        out["events"] = [{"timeUnixNano": _nanos(ts), "name": name, "attributes": _attributes(attrs)}
                         for name, ts, attrs in span.events]
    out["status"] = {"code": STATUS_ERROR, "message": span.error} if span.error else {"code": STATUS_OK}
    return out
