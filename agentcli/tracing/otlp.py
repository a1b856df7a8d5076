"""Spans as OpenTelemetry: attribute mapping (GenAI semantic conventions where they exist) and OTLP/JSON.

The same mapping feeds `agent trace export --format otlp` and the live exporter (live.py), so a trace looks
the same in a collector whichever way it got there. The trace itself becomes a root span whose id is the
first 16 hex digits of the trace id; spans recorded at the trace root hang under it.
"""

from __future__ import annotations

import json
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


def root_span_id(trace_id: str) -> str:
    return trace_id[:16]


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
    root_id = root_span_id(trace_id)
    end = trace.get("end") or max([s["end"] for s in spans] or [trace["start"]])
    status = trace.get("status")
    root = {
        "traceId": trace_id, "spanId": root_id, "parentSpanId": "", "name": trace["workflow"],
        "kind": SPAN_KIND_INTERNAL,
        "startTimeUnixNano": _nanos(trace["start"]), "endTimeUnixNano": _nanos(end),
        "attributes": _attributes(trace_attributes(trace)),
        "status": _status("error" if status in ("error", "unfinished") else "ok",
                          trace.get("error") or ("unfinished" if status == "unfinished" else None)),
    }
    out = [root]
    for span in spans:
        out.append({
            "traceId": trace_id, "spanId": span["span_id"], "parentSpanId": span["parent_id"] or root_id,
            "name": span_name(span), "kind": span_kind(span),
            "startTimeUnixNano": _nanos(span["start"]), "endTimeUnixNano": _nanos(span["end"]),
            "attributes": _attributes(span_attributes(span)),
            "events": [{"timeUnixNano": _nanos(ts), "name": name, "attributes": _attributes(attrs)}
                       for name, ts, attrs in span_events(span)],
            "status": _status(span["status"], span.get("error")),
        })
    from agentcli import __version__

    return {"resourceSpans": [{
        "resource": {"attributes": _attributes({"service.name": "agentcli", "service.version": __version__})},
        "scopeSpans": [{"scope": {"name": SCOPE, "version": __version__}, "spans": out}],
    }]}


def _status(status: str, error: str | None) -> dict[str, Any]:
    if status == "error":
        return {"code": STATUS_ERROR, "message": error or "error"}
    return {"code": STATUS_OK}
